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


def make_scorer(
    executor: str = "local", *, address: str | None = None, workers: int = 0, chunk_size: int = 256
) -> PoolScorer:
    """The pool scorer a project's ``scale`` settings name.

    Args:
        executor: ``local`` or ``ray``.
        address: the Ray cluster (``ray`` only; None starts a local one).
        workers: decoding processes (``local``) or concurrent decoding tasks
            (``ray``, at least 1).
        chunk_size: images per batch.
    """
    if executor == "local":
        return LocalScorer(chunk_size=chunk_size, workers=workers)
    if executor == "ray":
        try:
            from labelloop.scale.ray import RayScorer
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ValueError(
                "scale.executor is ray but Ray is not installed: pip install labelloop[ray]"
            ) from exc
        return RayScorer(address, decoders=max(1, workers), chunk_size=chunk_size)
    raise ValueError(f"unknown scale.executor {executor!r}; choose local or ray")
