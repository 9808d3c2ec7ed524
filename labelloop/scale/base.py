"""What a pool scorer is asked for and what it gives back, whatever runs it.

A :class:`ScoreRequest` names the pool's image files, the geometry they are
read at and which outputs the round needs (probabilities, Monte Carlo or
ensemble samples, embeddings, small pixel thumbnails for cold start). A
scorer (:class:`~labelloop.scale.local.LocalScorer` on this machine,
:class:`~labelloop.scale.ray.RayScorer` on a Ray cluster) streams the images
through the model and fills a :class:`PoolScores`. Large outputs live in
memory-mapped ``.npy`` files under the request's cache folder, one folder per
model version, so strategies read the embeddings of a million images without
holding them in memory.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
import torch
from numpy.typing import NDArray

from labelloop.data.arrays import ResizePolicy
from labelloop.errors import LabelloopError
from labelloop.learners import InvalidParameterError, Learner

__all__ = [
    "SAMPLING_LEARNERS",
    "THUMBNAIL_SIDE",
    "Need",
    "PoolScorer",
    "PoolScores",
    "Progress",
    "SamplesUnavailableError",
    "ScoreRequest",
]

Need = Literal["probs", "samples", "embeddings", "pixels"]

Progress = Callable[[int, int], None]
"""Called with ``(images scored, images in the pool)`` as scoring goes on."""

THUMBNAIL_SIDE = 16
"""Cold-start pixels are average-pooled to at most this many pixels a side."""


@dataclass(frozen=True)
class ScoreRequest:
    """A pool to score.

    Attributes:
        paths: the image files (or fsspec URLs), in pool order.
        channels: 1 or 3.
        size: ``(height, width)`` the images are brought to.
        policy: the resize policy.
        needs: the outputs to compute.
        n_samples: Monte Carlo passes or ensemble members for ``samples``.
        cache_dir: folder for memory-mapped outputs (created; replaced if it
            exists); None keeps them in memory.
    """

    paths: Sequence[str | Path]
    channels: int
    size: tuple[int, int]
    policy: ResizePolicy
    needs: frozenset[Need]
    n_samples: int = 20
    cache_dir: Path | None = None


def _thumbnails(images: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(b, C, H, W)`` images average-pooled to at most THUMBNAIL_SIDE a side, flattened."""
    height, width = images.shape[-2:]
    side = (min(height, THUMBNAIL_SIDE), min(width, THUMBNAIL_SIDE))
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(images), side)
    out: NDArray[np.float32] = pooled.reshape(len(images), -1).numpy()
    return out


@dataclass
class PoolScores:
    """What a scorer computed for each pool image, aligned with the request's paths.

    Attributes:
        n: number of images.
        probs: ``(n, n_classes)`` float64, or None if not asked for.
        samples: ``(n_samples, n, n_classes)`` float32 (memory-mapped with a cache folder).
        embeddings: ``(n, d)`` float32 (memory-mapped with a cache folder).
        pixels: ``(n, C * h * w)`` float32 thumbnails for cold start.
        ok: ``(n,)`` False where the image could not be read; its rows are NaN.
    """

    n: int
    cache_dir: Path | None
    probs: NDArray[np.float64] | None = None
    samples: NDArray[np.float32] | None = None
    embeddings: NDArray[np.float32] | None = None
    pixels: NDArray[np.float32] | None = None
    ok: NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @classmethod
    def allocate(cls, learner: Learner | None, request: ScoreRequest, n: int) -> PoolScores:
        """Empty scores for ``n`` images; large arrays are created on the first chunk."""
        if request.cache_dir is not None:
            if request.cache_dir.exists():
                shutil.rmtree(request.cache_dir)
            request.cache_dir.mkdir(parents=True)
        scores = cls(n=n, cache_dir=request.cache_dir, ok=np.ones(n, dtype=bool))
        if "probs" in request.needs and learner is not None:
            scores.probs = np.full((n, learner.n_classes), np.nan)
        return scores

    @property
    def failed(self) -> NDArray[np.int64]:
        """Indices of the images that could not be read."""
        return np.flatnonzero(~self.ok)

    def new_array(self, name: str, shape: tuple[int, ...]) -> NDArray[np.float32]:
        """A NaN-filled float32 output array, memory-mapped in the cache folder if there is one."""
        if self.cache_dir is None:
            return np.full(shape, np.nan, dtype=np.float32)
        array = np.lib.format.open_memmap(
            self.cache_dir / f"{name}.npy", mode="w+", dtype=np.float32, shape=shape
        )
        array[...] = np.nan
        return array

    def write(
        self,
        learner: Learner | None,
        request: ScoreRequest,
        rows: slice,
        images: NDArray[np.float32],
        ok: NDArray[np.bool_],
    ) -> None:
        """Score one chunk of images and store the outputs in ``rows``."""
        self.ok[rows] = ok
        if "pixels" in request.needs:
            thumbs = _thumbnails(images)
            if self.pixels is None:
                self.pixels = self.new_array("pixels", (self.n, thumbs.shape[1]))
            self.pixels[rows] = thumbs
        if learner is None:
            return
        if self.probs is not None:
            self.probs[rows] = learner.predict_proba(images)
        if "samples" in request.needs:
            chunk = _draw_samples(learner, images, request.n_samples)
            if self.samples is None:
                self.samples = self.new_array("samples", (chunk.shape[0], self.n, chunk.shape[2]))
            self.samples[:, rows] = chunk
        if "embeddings" in request.needs:
            features = learner.embed(images)
            if self.embeddings is None:
                self.embeddings = self.new_array("embeddings", (self.n, features.shape[1]))
            self.embeddings[rows] = features
        bad = np.flatnonzero(~ok) + (rows.start or 0)
        if len(bad) and self.probs is not None:
            self.probs[bad] = np.nan

    def flush(self) -> None:
        """Write memory-mapped arrays to disk."""
        for array in (self.samples, self.embeddings, self.pixels):
            if isinstance(array, np.memmap):
                array.flush()


class SamplesUnavailableError(LabelloopError, TypeError):
    """The strategy needs sampled predictions and the learner cannot draw them."""


SAMPLING_LEARNERS = ("cnn", "cnn_ensemble", "resnet18", "logreg_bagging")
"""Learners whose ``predict_samples`` draws MC-dropout, ensemble or bootstrap samples."""


def _draw_samples(learner: Learner, images: NDArray[np.float32], n: int) -> NDArray[np.float32]:
    draw: Callable[..., Any] | None = getattr(learner, "predict_samples", None)
    try:
        if draw is None:
            raise InvalidParameterError("no predict_samples")
        return np.asarray(draw(images, n), dtype=np.float32)
    except InvalidParameterError:
        raise SamplesUnavailableError(
            "the strategy needs sampled predictions (BALD, committees, ...) and this learner "
            f"draws none; set learner to one of {', '.join(SAMPLING_LEARNERS)} "
            "(labelloop config PROJECT --set learner=cnn_ensemble)"
        ) from None


class PoolScorer(Protocol):
    """Streams a pool's images through a model; :mod:`labelloop.scale.local` is the default."""

    name: str

    def score(
        self, learner: Learner | None, request: ScoreRequest, *, on_progress: Progress | None = None
    ) -> PoolScores:
        """Score every image of ``request`` with ``learner``."""
        ...
