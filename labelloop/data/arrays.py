"""Loading image files into one float array for a model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from labelloop.data.images import _decode
from labelloop.errors import LabelloopError

__all__ = ["ImageSizeMismatchError", "load_images"]

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


def _resized(image: Image.Image, size: tuple[int, int] | None) -> Image.Image:
    if size is None or image.size == (size[1], size[0]):
        return image
    return image.resize((size[1], size[0]), Image.Resampling.BILINEAR)


def _load_one(path: Path, size: tuple[int, int] | None, channels: int) -> NDArray[np.float32]:
    """Decodes, converts and resizes one image file.

    Args:
        path: The image file.
        size: ``(height, width)`` to resize to, or ``None`` to keep its size.
        channels: 1 for grayscale, 3 for RGB.

    Returns:
        pixels: (channels, height, width), in [0, 1].
    """
    with path.open("rb") as handle, _decode(handle, path)[0] as image:
        if image.mode in _SIXTEEN_BIT_MODES:
            plane = np.asarray(_resized(image.convert("F"), size), dtype=np.float32)
            plane = np.clip(plane / np.float32(65535), 0.0, 1.0)
            return np.repeat(plane[np.newaxis], channels, axis=0)
        # Palette images go via RGBA so their transparency converts without a warning.
        decoded = image.convert("RGBA") if image.mode == "P" else image
        converted = _resized(decoded.convert("L" if channels == 1 else "RGB"), size)
        array = np.asarray(converted, dtype=np.float32) / np.float32(255)
    return array[np.newaxis] if channels == 1 else array.transpose(2, 0, 1)


def load_images(
    paths: Sequence[Path],
    *,
    size: tuple[int, int] | None = None,
    channels: Literal[1, 3] = 1,
) -> NDArray[np.float32]:
    """Decodes image files into one array.

    Images are converted to grayscale (``channels=1``) or RGB (``channels=3``);
    an alpha channel is dropped, 16-bit grayscale is scaled from 65535.

    Args:
        paths: Image files, in the order of the output rows.
        size: ``(height, width)`` to resize every image to (bilinear), or ``None``
            when all images already share one size.
        channels: 1 for grayscale, 3 for RGB.

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
    first = _load_one(Path(paths[0]), size, channels)
    out = np.empty((len(paths), *first.shape), dtype=np.float32)
    out[0] = first
    for row in range(1, len(paths)):
        pixels = _load_one(Path(paths[row]), size, channels)
        if pixels.shape != first.shape:
            raise ImageSizeMismatchError(
                f"{paths[row]} is {pixels.shape[1]}x{pixels.shape[2]} (height x width) but "
                f"{paths[0]} is {first.shape[1]}x{first.shape[2]}; pass size=(height, width) "
                "to resize every image to one size."
            )
        out[row] = pixels
    return out
