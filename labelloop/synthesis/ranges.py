"""The transforms' names and parameter ranges: settings, readable without torch.

:mod:`labelloop.synthesis.transforms` applies them; project settings validate
against them here, so reading a project's settings does not load torch.
"""

from __future__ import annotations

import math
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, model_validator

__all__ = ["MIN_IMAGE_SIDE", "TRANSFORM_NAMES", "Params", "TransformName", "TransformRanges"]

TransformName = Literal["blur", "brightness", "contrast", "crop_zoom", "haze", "noise", "rotation"]
"""Names :func:`sample_params` and :func:`apply_transform` accept."""

TRANSFORM_NAMES: tuple[TransformName, ...] = (
    "blur",
    "brightness",
    "contrast",
    "crop_zoom",
    "haze",
    "noise",
    "rotation",
)
"""The values of :data:`TransformName`, sorted."""

MIN_IMAGE_SIDE = 8
"""Smallest image height and width the transforms accept."""

Params = dict[str, float | int]
"""One transform's recorded parameters: JSON-able ``int`` and ``float`` values."""

# (low, high, low is allowed) for each range of TransformRanges.
_RANGE_BOUNDS: dict[str, tuple[float, float, bool]] = {
    "brightness": (0.0, 10.0, False),
    "contrast": (0.0, 10.0, True),
    "crop_scale": (0.0, 1.0, False),
    "rotation": (-180.0, 180.0, True),
    "blur_sigma": (0.0, 10.0, False),
    "noise_sigma": (0.0, 1.0, True),
    "haze_density": (0.0, 1.0, True),
    "haze_veil": (0.0, 1.0, True),
}


class TransformRanges(BaseModel):
    """Where each transform draws its parameters from: ``(low, high)``, both included.

    Attributes:
        brightness: pixel multiplier; above 1 brightens ("sunny"), below 1 darkens.
        contrast: contrast factor; 0 gives a flat grey image, 1 the original.
        crop_scale: side of the crop as a share of the image side; the crop is
            resized back to the full image, so smaller means a closer close-up.
        rotation: angle in degrees, counter-clockwise.
        blur_sigma: standard deviation of the Gaussian blur, in pixels.
        noise_sigma: standard deviation of additive Gaussian noise, in pixel values.
        haze_density: share of each pixel replaced by the veil; 0 is clear air.
        haze_veil: brightness of the flat veil the image fades toward.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    brightness: tuple[float, float] = (0.6, 1.6)
    contrast: tuple[float, float] = (0.5, 1.5)
    crop_scale: tuple[float, float] = (0.6, 0.9)
    rotation: tuple[float, float] = (-25.0, 25.0)
    blur_sigma: tuple[float, float] = (0.4, 1.2)
    noise_sigma: tuple[float, float] = (0.02, 0.1)
    haze_density: tuple[float, float] = (0.2, 0.6)
    haze_veil: tuple[float, float] = (0.75, 1.0)

    @model_validator(mode="after")
    def _check_ranges(self) -> Self:
        for name, (lowest, highest, low_allowed) in _RANGE_BOUNDS.items():
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high)) or low > high:
                raise ValueError(
                    f"{name} must be (low, high) with finite low <= high, got ({low}, {high})"
                )
            above = low >= lowest if low_allowed else low > lowest
            if not above or high > highest:
                bracket = "[" if low_allowed else "("
                raise ValueError(
                    f"{name} must lie within {bracket}{lowest}, {highest}], got ({low}, {high})"
                )
        return self
