"""Scoring a pool of any size: the :class:`PoolScorer` seam and its implementations.

``local`` (:class:`LocalScorer`, the default) streams images in chunks on this
machine with bounded memory; outputs larger than per-item scores are
memory-mapped files in the project's cache, one folder per model version.
"""

from labelloop.scale.base import (
    Need,
    PoolScorer,
    PoolScores,
    SamplesUnavailableError,
    ScoreRequest,
)
from labelloop.scale.local import DEFAULT_CHUNK, ImageFiles, LocalScorer

__all__ = [
    "DEFAULT_CHUNK",
    "ImageFiles",
    "LocalScorer",
    "Need",
    "PoolScorer",
    "PoolScores",
    "SamplesUnavailableError",
    "ScoreRequest",
    "make_scorer",
]


def make_scorer(name: str = "local") -> PoolScorer:
    """The pool scorer called ``name`` (only ``local`` so far)."""
    if name != "local":
        raise ValueError(f"unknown pool scorer {name!r}; choose 'local'")
    return LocalScorer()
