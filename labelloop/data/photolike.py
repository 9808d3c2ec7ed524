"""Photo-like images for tests and benchmarks: digits drawn large on textured colour backgrounds.

Real photos cannot be downloaded here, and 8x8 digits hide what breaks on
photos: colour, size, mixed aspect ratios, file formats, EXIF rotation. These
images have all of that and a known class: scikit-learn's digits (1,797
distinct handwritten shapes, so no two images share a glyph by accident)
drawn as a coloured glyph at a random place, scale and colour over a smooth
colour gradient with low-frequency texture and pixel noise.

:func:`photo_like_arrays` gives model-ready arrays at one size for learning
benchmarks; :func:`write_photo_like` writes a class-per-subfolder tree of
files as a team's camera would: JPEG and PNG, RGB and grayscale, 200-400 px
of mixed sizes, some stored rotated with an EXIF orientation tag.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from labelloop.data.demo import DIGITS_CLASSES

__all__ = ["photo_like_arrays", "photo_like_image", "write_photo_like"]

_EXIF_ORIENTATION = 0x0112
# Orientation tag -> the transpose that stores an upright image so a viewer
# applying the tag shows it upright again.
_STORED_AS = {
    3: Image.Transpose.ROTATE_180,
    6: Image.Transpose.ROTATE_90,  # viewer rotates 90 clockwise
    8: Image.Transpose.ROTATE_270,
}


def _digits() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.asarray(bunch.images, np.float64) / 16.0, np.asarray(bunch.target, np.int64)


def _background(rng: np.random.Generator, height: int, width: int) -> NDArray[np.float32]:
    """A smooth two-colour gradient with low-frequency texture, (H, W, 3) in [0, 1]."""
    a, b = rng.random(3), rng.random(3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    t = (np.cos(angle) * xx / width + np.sin(angle) * yy / height + 1) / 2
    image = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    coarse = rng.random((6, 6, 3)).astype(np.float32)
    texture = np.asarray(
        Image.fromarray((coarse * 255).astype(np.uint8)).resize(
            (width, height), Image.Resampling.BICUBIC
        ),
        dtype=np.float32,
    )
    image = 0.75 * image + 0.25 * texture / 255.0
    out: NDArray[np.float32] = np.clip(image, 0, 1).astype(np.float32)
    return out


def photo_like_image(
    glyph: NDArray[np.float64], rng: np.random.Generator, height: int, width: int
) -> NDArray[np.uint8]:
    """One image: ``glyph`` (8x8 in [0, 1]) drawn large over a textured background.

    Args:
        glyph: the digit's ink, (8, 8) in [0, 1].
        rng: source of colours, placement and noise.
        height: image height in pixels.
        width: image width in pixels.

    Returns:
        (height, width, 3) uint8 RGB.
    """
    image = _background(rng, height, width)
    side = int(min(height, width) * rng.uniform(0.45, 0.8))
    ink = (
        np.asarray(
            Image.fromarray((glyph * 255).astype(np.uint8)).resize(
                (side, side), Image.Resampling.BILINEAR
            ),
            dtype=np.float32,
        )[..., None]
        / 255.0
    )
    top = int(rng.integers(0, height - side + 1))
    left = int(rng.integers(0, width - side + 1))
    patch = image[top : top + side, left : left + side]
    # A colour far from the patch's mean, so the glyph is visible on any background.
    colour = 1.0 - patch.mean(axis=(0, 1)) + rng.normal(0, 0.1, 3)
    image[top : top + side, left : left + side] = patch * (1 - ink) + np.clip(colour, 0, 1) * ink
    image += rng.normal(0, 0.03, image.shape).astype(np.float32)
    return (np.clip(image, 0, 1) * 255).astype(np.uint8)


def photo_like_arrays(
    n: int, *, size: int = 64, seed: int = 0, grayscale: bool = False
) -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """``n`` photo-like images at one size, as model-ready arrays.

    Args:
        n: number of images (at most 1,797: each uses a distinct digit).
        size: height and width in pixels.
        seed: seeds the choice of digits and every drawing decision.
        grayscale: one channel (the mean of RGB) instead of three.

    Returns:
        X: ``(n, 3 or 1, size, size)`` float32 in [0, 1].
        y: ``(n,)`` int64 classes 0..9 (names :data:`~labelloop.data.demo.DIGITS_CLASSES`).
    """
    glyphs, labels = _digits()
    if not 0 < n <= len(labels):
        raise ValueError(f"n must be between 1 and {len(labels)}, got {n}")
    rng = np.random.default_rng(seed)
    chosen = rng.permutation(len(labels))[:n]
    pixels = np.stack([photo_like_image(glyphs[i], rng, size, size) for i in chosen])
    X = pixels.astype(np.float32).transpose(0, 3, 1, 2) / np.float32(255)
    if grayscale:
        X = X.mean(axis=1, keepdims=True)
    return np.ascontiguousarray(X, dtype=np.float32), labels[chosen]


def write_photo_like(
    folder: Path,
    n: int,
    *,
    seed: int = 0,
    min_side: int = 200,
    max_side: int = 400,
    class_folders: bool = True,
) -> list[Path]:
    """Write ``n`` photo-like image files as a camera or a phone would.

    Sizes vary independently in height and width between ``min_side`` and
    ``max_side``. Four in five are RGB JPEGs; every fifth is a grayscale
    PNG; every seventh JPEG is stored rotated with an EXIF orientation tag
    (3, 6 or 8) that turns it upright again.

    Args:
        folder: where to write; created if missing.
        n: number of files (past 1,797 the digits repeat on new backgrounds).
        seed: seeds every choice.
        min_side: smallest height or width.
        max_side: largest height or width.
        class_folders: one subfolder per digit (``folder/3/img_00012.jpg``);
            otherwise all files flat in ``folder``.

    Returns:
        The written paths, in order.
    """
    glyphs, labels = _digits()
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    rng = np.random.default_rng(seed)
    # Past 1,797 images the digits repeat, each on a background of its own.
    chosen = np.concatenate([rng.permutation(len(labels)) for _ in range(-(-n // len(labels)))])[:n]
    paths = []
    for k, i in enumerate(chosen):
        height, width = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
        image = Image.fromarray(photo_like_image(glyphs[i], rng, height, width))
        target = folder / DIGITS_CLASSES[labels[i]] if class_folders else folder
        target.mkdir(parents=True, exist_ok=True)
        if k % 5 == 4:
            path = target / f"img_{k:06d}.png"
            image.convert("L").save(path)
        else:
            path = target / f"img_{k:06d}.jpg"
            if k % 7 == 6:
                orientation = (3, 6, 8)[k % 3]
                exif = Image.Exif()
                exif[_EXIF_ORIENTATION] = orientation
                image.transpose(_STORED_AS[orientation]).save(path, quality=90, exif=exif)
            else:
                image.save(path, quality=90)
        paths.append(path)
    return paths
