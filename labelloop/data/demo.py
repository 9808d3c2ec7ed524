"""scikit-learn's bundled 8x8 handwritten digits, as arrays and as PNG files.

They let the demo and the tests run a whole labeling loop with no download.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

__all__ = ["DIGITS_CLASSES", "digits_arrays", "write_digits"]

DIGITS_CLASSES: tuple[str, ...] = ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
"""Class names of the digits, in label order: ``DIGITS_CLASSES[y]`` names label ``y``."""

# scikit-learn's digits count ink from 0 to 16.
_DIGITS_MAX = 16.0


def _digits_images() -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """The raw digits: images (1797, 8, 8) in 0..16, and their labels (1797,)."""
    # Imported here: scikit-learn takes about a second to import, and most users
    # of labelloop.data never touch the demo digits.
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.asarray(bunch.images, dtype=np.float64), np.asarray(bunch.target, dtype=np.int64)


def digits_arrays() -> tuple[NDArray[np.float32], NDArray[np.int64]]:
    """The digits as model-ready arrays.

    Returns:
        X: (1797, 1, 8, 8), float32 in [0, 1] (scikit-learn's values / 16).
        y: (1797,), int64 labels 0..9, indices into :data:`DIGITS_CLASSES`.
    """
    images, y = _digits_images()
    X = (images / _DIGITS_MAX).astype(np.float32)[:, np.newaxis]
    return X, y


def _png_bytes(pixels: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def write_digits(dest: Path, *, upscale: int = 1) -> Path:
    """Writes the digits as grayscale PNG files, one folder per class.

    The files are ``dest/<digit>/digit_<index:04d>.png``, where ``index`` is
    the digit's row in :func:`digits_arrays`; pixel values are
    ``round(v / 16 * 255)``. Running it again rewrites only files whose bytes
    differ, so it is idempotent and repairs damaged files; other files in
    ``dest`` are left alone.

    Args:
        dest: The folder to write into; created if missing.
        upscale: Integer factor to enlarge each digit by (nearest neighbour),
            e.g. 8 for 64x64 images a person can see; 1 keeps 8x8.

    Returns:
        ``dest``.

    Raises:
        ValueError: ``upscale`` is not a positive integer.
    """
    if isinstance(upscale, bool) or not isinstance(upscale, int) or upscale < 1:
        raise ValueError(f"upscale must be a positive integer, got {upscale!r}.")
    dest = Path(dest)
    images, y = _digits_images()
    quantised = np.rint(images / _DIGITS_MAX * 255).astype(np.uint8)
    if upscale > 1:
        quantised = quantised.repeat(upscale, axis=1).repeat(upscale, axis=2)
    for name in DIGITS_CLASSES:
        (dest / name).mkdir(parents=True, exist_ok=True)
    for index, (pixels, label) in enumerate(zip(quantised, y, strict=True)):
        path = dest / DIGITS_CLASSES[label] / f"digit_{index:04d}.png"
        data = _png_bytes(pixels)
        if not path.is_file() or path.read_bytes() != data:
            path.write_bytes(data)
    return dest
