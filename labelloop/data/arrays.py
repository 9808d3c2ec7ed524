"""Loading image files into one float array for a model."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, get_args

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

from labelloop.data.images import _decode
from labelloop.errors import LabelloopError

__all__ = [
    "RESIZE_POLICIES",
    "ImageSizeMismatchError",
    "Placement",
    "ResizePolicy",
    "fit_to",
    "is_url",
    "load_images",
    "placement",
    "thumbnail_jpeg",
]

ResizePolicy = Literal["center_crop", "letterbox", "stretch"]
RESIZE_POLICIES: tuple[str, ...] = get_args(ResizePolicy)

# Pillow's 16-bit grayscale modes (and "I", which older Pillow gave 16-bit PNGs);
# converting them straight to "L" clips at 255 instead of scaling.
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N"})


class ImageSizeMismatchError(LabelloopError, ValueError):
    """Images of different sizes were loaded without asking to resize them."""


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool) and bool(value > 0)


def _check_arguments(size: tuple[int, int] | None, channels: int) -> None:
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {channels!r}.")
    if size is not None and (len(size) != 2 or not all(_is_positive_int(n) for n in size)):
        raise ValueError(f"size must be (height, width) in positive pixels, got {size!r}.")


@dataclass(frozen=True)
class Placement:
    """Where an image lands in the model input: ``model = original * scale + offset``.

    Attributes:
        sx: horizontal scale from original to model-input pixels.
        sy: vertical scale.
        ox: horizontal offset in model-input pixels (negative where a crop
            cut the left side; positive where letterbox padding was added).
        oy: vertical offset.
    """

    sx: float = 1.0
    sy: float = 1.0
    ox: float = 0.0
    oy: float = 0.0

    def to_model(self, x: float, y: float) -> tuple[float, float]:
        """A point in original pixels, in model-input pixels."""
        return x * self.sx + self.ox, y * self.sy + self.oy

    def to_original(self, x: float, y: float) -> tuple[float, float]:
        """A point in model-input pixels, in original pixels."""
        return (x - self.ox) / self.sx, (y - self.oy) / self.sy


def _layout(
    w: int, h: int, size: tuple[int, int], policy: ResizePolicy
) -> tuple[tuple[int, int], tuple[int, int]]:
    """``((new_w, new_h), (left, top))``: the resized image and where its corner lands.

    A negative corner is a crop (the overhang cut off), a positive one letterbox padding.
    """
    height, width = size
    if policy == "stretch":
        return (width, height), (0, 0)
    if policy == "center_crop":
        scale = max(width / w, height / h)
        new = (max(width, round(w * scale)), max(height, round(h * scale)))
        return new, (-((new[0] - width) // 2), -((new[1] - height) // 2))
    scale = min(width / w, height / h)
    new = (max(1, min(width, round(w * scale))), max(1, min(height, round(h * scale))))
    return new, ((width - new[0]) // 2, (height - new[1]) // 2)


def placement(
    image_size: tuple[int, int], size: tuple[int, int] | None, policy: ResizePolicy
) -> Placement:
    """How :func:`fit_to` moves an image of ``image_size`` ``(height, width)`` pixels.

    Detection uses it to carry boxes between the image's own pixels (where
    labels are stored) and the model's input, whatever the resize policy.
    """
    h, w = image_size
    if size is None or (h, w) == tuple(size):
        return Placement()
    (new_w, new_h), (left, top) = _layout(w, h, size, policy)
    return Placement(new_w / w, new_h / h, float(left), float(top))


def fit_to(
    image: Image.Image, size: tuple[int, int] | None, policy: ResizePolicy = "center_crop"
) -> Image.Image:
    """Bring an image to ``(height, width)`` by the project's resize policy.

    * ``center_crop`` (default): scale so the image covers the target (its
      shorter side, relative to the target's, fits exactly), then cut the
      overhang equally from both ends. Nothing is distorted; the borders of
      a very elongated image are lost.
    * ``letterbox``: scale so the whole image fits inside the target, then pad
      the rest with black, equally on both sides. Nothing is lost or distorted.
    * ``stretch``: resize to the target, changing the aspect ratio.

    :func:`placement` gives the same geometry as numbers.

    Args:
        image: the decoded image (any mode Pillow resizes).
        size: ``(height, width)``, or ``None`` to leave the image as it is.
        policy: one of :data:`RESIZE_POLICIES`.

    Returns:
        The image at ``size`` (the same object when it already is).
    """
    if size is None or image.size == (size[1], size[0]):
        return image
    height, width = size
    new, (left, top) = _layout(image.size[0], image.size[1], size, policy)
    scaled = image.resize(new, Image.Resampling.BILINEAR)
    if policy == "stretch":
        return scaled
    if policy == "center_crop":
        return scaled.crop((-left, -top, -left + width, -top + height))
    canvas = Image.new(image.mode, (width, height))
    canvas.paste(scaled, (left, top))
    return canvas


def is_url(source: str | Path) -> bool:
    """Whether ``source`` names an fsspec URL (``s3://``, ``gs://``, ``memory://``...)."""
    return isinstance(source, str) and "://" in source


def _open(source: str | Path) -> BinaryIO:
    """A binary stream of a local file or an fsspec URL (read whole: images are small)."""
    if is_url(source):
        import fsspec  # Imported here: only URL sources need it.

        with fsspec.open(str(source), "rb") as remote:
            return io.BytesIO(remote.read())
    return Path(source).open("rb")


def _load_one(
    path: str | Path,
    size: tuple[int, int] | None,
    channels: int,
    policy: ResizePolicy = "center_crop",
) -> NDArray[np.float32]:
    """Decodes, turns upright, converts and resizes one image file or URL.

    Args:
        path: The image file, or an fsspec URL.
        size: ``(height, width)`` to resize to, or ``None`` to keep its size.
        channels: 1 for grayscale, 3 for RGB.
        policy: how the image is brought to ``size`` (:func:`fit_to`).

    Returns:
        pixels: (channels, height, width), in [0, 1].
    """
    with _open(path) as handle, _decode(handle, Path(str(path)))[0] as decoded:
        # A camera stores a portrait photo sideways with an EXIF orientation tag.
        image = ImageOps.exif_transpose(decoded)
        if image.mode in _SIXTEEN_BIT_MODES:
            plane = np.asarray(fit_to(image.convert("F"), size, policy), dtype=np.float32)
            plane = np.clip(plane / np.float32(65535), 0.0, 1.0)
            return np.repeat(plane[np.newaxis], channels, axis=0)
        # Palette images go via RGBA so their transparency converts without a warning.
        if image.mode == "P":
            image = image.convert("RGBA")
        converted = fit_to(image.convert("L" if channels == 1 else "RGB"), size, policy)
        array = np.asarray(converted, dtype=np.float32) / np.float32(255)
    return array[np.newaxis] if channels == 1 else array.transpose(2, 0, 1)


def thumbnail_jpeg(path: str | Path, longest: int, quality: int = 85) -> bytes:
    """A JPEG of the image, upright, its longer side at most ``longest`` pixels.

    Colour images stay colour; 16-bit grayscale is scaled, not clipped;
    transparency is flattened onto white. Small images are not enlarged.

    Raises:
        CorruptImageError: The file does not decode.
        UnsupportedImageFormatError: Not an image of a supported format.
    """
    with _open(path) as handle, _decode(handle, Path(str(path)))[0] as decoded:
        image = ImageOps.exif_transpose(decoded)
        if image.mode in _SIXTEEN_BIT_MODES:
            plane = np.asarray(image.convert("F"), dtype=np.float32) / np.float32(257)
            image = Image.fromarray(np.clip(plane, 0, 255).astype(np.uint8))
        if image.mode in ("P", "PA", "LA", "RGBA"):
            rgba = image.convert("RGBA")
            flat = Image.new("RGB", rgba.size, (255, 255, 255))
            flat.paste(rgba, mask=rgba.getchannel("A"))
            image = flat
        elif image.mode not in ("L", "RGB"):
            image = image.convert("RGB")
        image.thumbnail((longest, longest), Image.Resampling.BILINEAR)
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _source(path: str | Path) -> str | Path:
    return path if is_url(path) else Path(path)


def load_images(
    paths: Sequence[str | Path],
    *,
    size: tuple[int, int] | None = None,
    channels: Literal[1, 3] = 1,
    policy: ResizePolicy = "center_crop",
) -> NDArray[np.float32]:
    """Decodes image files into one array.

    Images are turned upright by their EXIF orientation, converted to
    grayscale (``channels=1``) or RGB (``channels=3``; CMYK and palette
    images included); an alpha channel is dropped, 16-bit grayscale is
    scaled from 65535.

    Args:
        paths: Image files or fsspec URLs (``s3://bucket/a.jpg``), in the
            order of the output rows.
        size: ``(height, width)`` to bring every image to, or ``None``
            when all images already share one size.
        channels: 1 for grayscale, 3 for RGB.
        policy: how an image of another shape is brought to ``size`` (:func:`fit_to`).

    Returns:
        images: (n_images, channels, height, width), float32 in [0, 1].

    Raises:
        ValueError: ``channels`` or ``size`` is invalid, or ``paths`` is empty
            and ``size`` is ``None`` (the shape would be unknown).
        ImageSizeMismatchError: ``size`` is ``None`` and an image differs in size
            from the first one.
        CorruptImageError: A file does not decode.
        UnsupportedImageFormatError: A file is not a supported image.
        OSError: A file cannot be read.
    """
    _check_arguments(size, channels)
    if not paths:
        if size is None:
            raise ValueError(
                "No image paths given; pass size=(height, width) to get an empty array."
            )
        return np.zeros((0, channels, *size), dtype=np.float32)
    first = _load_one(_source(paths[0]), size, channels, policy)
    out = np.empty((len(paths), *first.shape), dtype=np.float32)
    out[0] = first
    for row in range(1, len(paths)):
        pixels = _load_one(_source(paths[row]), size, channels, policy)
        if pixels.shape != first.shape:
            raise ImageSizeMismatchError(
                f"{paths[row]} is {pixels.shape[1]}x{pixels.shape[2]} (height x width) but "
                f"{paths[0]} is {first.shape[1]}x{first.shape[2]}; pass size=(height, width) "
                "to resize every image to one size."
            )
        out[row] = pixels
    return out
