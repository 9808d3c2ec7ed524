"""The model input a project's images get: channels and size, decided from the images themselves.

A team imports its photos as they are: JPEGs of many sizes, some grayscale
scans, a PNG with transparency. The first import looks at what arrived
(each item's recorded mode and size) and decides the input geometry once;
the decision is stored in the project's settings, where the team sees it and
can change it (``labelloop config PROJECT --set image_size=[224,224]``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "COLOUR_MODES",
    "DEFAULT_SIDE",
    "DETECTION_MAX_SIDE",
    "NATIVE_MAX_SIDE",
    "decide_channels",
    "decide_detection_size",
    "decide_image_size",
]

COLOUR_MODES = frozenset({"RGB", "RGBA", "RGBX", "RGBa", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA"})
"""Pillow modes that may carry colour (a palette may; it is read as RGB to be safe)."""

NATIVE_MAX_SIDE = 128
"""Images that all share one size no larger than this a side are fed at that size."""

DEFAULT_SIDE = 64
"""Otherwise the model input is DEFAULT_SIDE x DEFAULT_SIDE: what a small CNN trains on
quickly on a CPU. Pretrained backbones and GPUs want more; set ``image_size``."""


DETECTION_MAX_SIDE = 512
"""Detection input is at most this many pixels a side unless ``image_size`` says otherwise."""


def decide_channels(modes: Iterable[str]) -> int:
    """3 (RGB) when any image is in a colour mode, else 1 (grayscale)."""
    return 3 if any(mode in COLOUR_MODES for mode in modes) else 1


def decide_image_size(sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The model input ``(height, width)`` for images of these ``(height, width)`` sizes.

    Their common size when all share one of at most :data:`NATIVE_MAX_SIDE`
    pixels a side (such as 8x8 or 28x28 digits), else
    :data:`DEFAULT_SIDE` x :data:`DEFAULT_SIDE`.
    """
    distinct = set(sizes)
    if len(distinct) == 1:
        only = next(iter(distinct))
        if max(only) <= NATIVE_MAX_SIDE:
            return only
    return (DEFAULT_SIDE, DEFAULT_SIDE)


def decide_detection_size(sizes: Iterable[tuple[int, int]]) -> tuple[int, int]:
    """The detector's input ``(height, width)`` for images of these ``(height, width)`` sizes.

    Objects can be small, so a detector sees images near their own size: the
    common size when all share one of at most :data:`DETECTION_MAX_SIDE`
    pixels a side; otherwise a square of the median longer side of the
    distinct sizes, rounded up
    to a multiple of 32 and at most :data:`DETECTION_MAX_SIDE`, which each
    image is letterboxed into (boxes are mapped back to the image's own
    pixels, see :func:`labelloop.data.arrays.placement`).
    """
    distinct = list(sizes)
    if not distinct:
        raise ValueError("no image sizes to decide from")
    if len(set(distinct)) == 1 and max(distinct[0]) <= DETECTION_MAX_SIDE:
        return distinct[0]
    longer = sorted(max(size) for size in distinct)[len(distinct) // 2]
    side = min(DETECTION_MAX_SIDE, max(32, -(-longer // 32) * 32))
    return (side, side)
