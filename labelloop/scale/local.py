"""The default pool scorer: images decoded in worker processes, scored a chunk at a time.

Nothing here holds the pool's images at once. A torch ``DataLoader`` decodes
``chunk_size`` images at a time (in ``workers`` processes when asked), the
learner scores the chunk, and the outputs go into the result's arrays:
probabilities in memory (``n x n_classes`` float64, the per-item scores
every strategy reads), embeddings and Monte Carlo samples into memory-mapped
files in the cache folder, which strategies then read like arrays. Peak
memory is a chunk of images plus the outputs, whatever the pool's size.

An image that cannot be read any more (deleted, corrupted after import) does
not stop the pass: its row is NaN and its index is reported in
:attr:`PoolScores.failed`, so the round flags it and ranks the rest.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray
from torch.utils.data import DataLoader, Dataset

from labelloop.data.arrays import ResizePolicy, load_images
from labelloop.data.images import ImageFileError
from labelloop.learners import Learner
from labelloop.scale.base import PoolScores, Progress, ScoreRequest

__all__ = ["DEFAULT_CHUNK", "ImageFiles", "LocalScorer", "collate_images", "stream_images"]

DEFAULT_CHUNK = 256
"""Images decoded and scored together."""


class ImageFiles(Dataset[tuple[NDArray[np.float32], bool]]):
    """Image files as model input, one at a time, by the project's geometry.

    Each entry is ``(pixels, ok)``: the image as ``(C, H, W)`` float32, or
    zeros and ``ok=False`` when the file cannot be read or decoded.

    Args:
        paths: the image files.
        channels: 1 or 3.
        size: ``(height, width)``.
        policy: the resize policy.
    """

    def __init__(
        self,
        paths: Sequence[str | Path],
        channels: int,
        size: tuple[int, int],
        policy: ResizePolicy,
    ) -> None:
        self.paths = list(paths)
        self.channels = 1 if channels == 1 else 3
        self.size = size
        self.policy = policy

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[NDArray[np.float32], bool]:
        try:
            pixels = load_images(
                [self.paths[index]],
                size=self.size,
                channels=1 if self.channels == 1 else 3,
                policy=self.policy,
            )[0]
        except (ImageFileError, OSError, ValueError):
            return np.zeros((self.channels, *self.size), dtype=np.float32), False
        return pixels, True


def collate_images(
    batch: list[tuple[NDArray[np.float32], bool]],
) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
    """``(images, ok)`` of a chunk: the :class:`ImageFiles` entries stacked."""
    return np.stack([b[0] for b in batch]), np.array([b[1] for b in batch], dtype=bool)


def stream_images(
    request: ScoreRequest, chunk_size: int = DEFAULT_CHUNK, workers: int = 0
) -> Iterator[tuple[slice, NDArray[np.float32], NDArray[np.bool_]]]:
    """The request's images a chunk at a time, decoded in ``workers`` processes.

    Yields:
        ``(rows, images, ok)``: the chunk's rows of the pool, its images
        ``(b, C, H, W)`` and False where an image could not be read (its
        pixels are zeros).
    """
    files = ImageFiles(request.paths, request.channels, request.size, request.policy)
    loader = DataLoader(
        files,
        batch_size=chunk_size,
        shuffle=False,
        num_workers=workers,
        collate_fn=collate_images,
    )
    done = 0
    for images, ok in loader:
        yield slice(done, done + len(images)), images, ok
        done += len(images)


class LocalScorer:
    """Scores a pool on this machine, streaming its images in chunks.

    Args:
        chunk_size: images decoded and scored together.
        workers: decoding processes (0 decodes in the calling process).
    """

    name = "local"

    def __init__(self, chunk_size: int = DEFAULT_CHUNK, workers: int = 0) -> None:
        self.chunk_size = chunk_size
        self.workers = workers

    def score(
        self, learner: Learner | None, request: ScoreRequest, *, on_progress: Progress | None = None
    ) -> PoolScores:
        """Score every image of ``request`` with ``learner``.

        Args:
            learner: the fitted model.
            request: the images, their geometry, what to compute and where to cache it.
            on_progress: called with (images done, images in all) after each chunk.

        Returns:
            The scores, aligned with ``request.paths``.
        """
        n = len(request.paths)
        scores = PoolScores.allocate(learner, request, n)
        with torch.inference_mode():
            for rows, images, ok in stream_images(request, self.chunk_size, self.workers):
                scores.write(learner, request, rows, images, ok)
                if on_progress is not None:
                    on_progress(rows.stop, n)
        scores.flush()
        return scores
