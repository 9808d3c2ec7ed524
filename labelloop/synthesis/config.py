"""Settings of membership-query synthesis for one project, validated with pydantic."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from labelloop.synthesis.ranges import TRANSFORM_NAMES, TransformName, TransformRanges
from labelloop.synthesis.selection import QueryMode, UncertaintyName

__all__ = ["SynthesisConfig"]


class SynthesisConfig(BaseModel):
    """How a round synthesizes queries from known images.

    Attributes:
        enabled: whether rounds synthesize queries at all.
        per_image: variants generated per source image.
        transforms: the transforms drawn from; at least one, none repeated.
        k: synthesized queries queued per round; they count against the same
            labeling budget as pool items.
        max_sources: most source images (labeled and unlabeled) used per round,
            which bounds the variants scored to ``max_sources * per_image``.
        mode: which variants qualify, see
            :data:`~labelloop.synthesis.selection.QueryMode`.
        strategy: the uncertainty that ranks them.
        max_per_source: most queries from one source image per round.
        ranges: where each transform draws its parameters from.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    per_image: int = Field(default=4, ge=1, le=100)
    transforms: tuple[TransformName, ...] = TRANSFORM_NAMES
    k: int = Field(default=3, ge=1, le=10_000)
    max_sources: int = Field(default=500, ge=1)
    mode: QueryMode = "both"
    strategy: UncertaintyName = "margin"
    max_per_source: int = Field(default=1, ge=1)
    ranges: TransformRanges = TransformRanges()

    @field_validator("transforms")
    @classmethod
    def _distinct_transforms(cls, value: tuple[TransformName, ...]) -> tuple[TransformName, ...]:
        if not value:
            raise ValueError(f"transforms is empty; name at least one of {list(TRANSFORM_NAMES)}")
        if len(set(value)) != len(value):
            raise ValueError(f"transforms repeats a name: {list(value)}")
        return value

    @model_validator(mode="after")
    def _enough_candidates(self) -> Self:
        if self.k > self.max_sources * self.per_image:
            raise ValueError(
                f"k ({self.k}) exceeds the variants generated per round "
                f"(max_sources * per_image = {self.max_sources * self.per_image}); "
                "lower k or raise max_sources or per_image"
            )
        return self
