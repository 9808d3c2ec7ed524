"""Training-time augmentation of image batches: small shifts and zooms, optional mirroring.

A handful of labels is a handful of images; shifting each by a few pixels
and zooming slightly shows the network many versions of each, which is what
lets a convolutional network beat a linear model on pixels from the first
labels. Mirroring suits photos (a cat mirrored is a cat) but not digits or
text, so it is a separate choice.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.nn.functional import affine_grid, grid_sample

__all__ = ["AUGMENT_NAMES", "AugmentName", "augment_batch"]

AugmentName = Literal["none", "shift", "shift_flip"]
AUGMENT_NAMES: tuple[str, ...] = ("none", "shift", "shift_flip")

MAX_SHIFT = 0.1
"""Largest translation, as a fraction of the image's width or height."""

MAX_ZOOM = 0.1
"""Largest relative change of scale, up or down."""


def augment_batch(images: Tensor, kind: AugmentName, generator: torch.Generator) -> Tensor:
    """A randomly shifted, zoomed (and, for ``shift_flip``, mirrored) copy of a batch.

    Each image gets its own translation of up to :data:`MAX_SHIFT` of its
    size, a zoom of up to :data:`MAX_ZOOM`, and with ``shift_flip`` a
    left-right mirror with probability 1/2. Pixels shifted in from outside
    are zero (the background of digits and most scans). Random numbers come
    from ``generator`` on the CPU, so a seeded fit is reproducible on any device.

    Args:
        images: ``(n, C, H, W)`` float images.
        kind: ``"none"`` returns ``images`` itself.
        generator: source of the random draws.

    Returns:
        ``(n, C, H, W)`` augmented images on the device of ``images``.
    """
    if kind == "none" or images.shape[0] == 0:
        return images
    n = images.shape[0]
    shift = (torch.rand(n, 2, generator=generator) * 2 - 1) * (2 * MAX_SHIFT)
    zoom = 1 + (torch.rand(n, generator=generator) * 2 - 1) * MAX_ZOOM
    mirror = torch.ones(n)
    if kind == "shift_flip":
        mirror = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = zoom * mirror
    theta[:, 1, 1] = zoom
    theta[:, :, 2] = shift
    theta = theta.to(device=images.device, dtype=images.dtype)
    grid = affine_grid(theta, list(images.shape), align_corners=False)
    return grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
