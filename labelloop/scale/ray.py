"""Scoring a pool on a Ray cluster: Ray Data decodes on CPUs, an actor pool runs the model.

The pool's image sources (local paths or fsspec URLs such as ``s3://...``)
become a Ray dataset, and a pool of model actors (one per GPU when the cluster
has GPUs, fractional CPUs otherwise) computes what the round asked for. By
default each actor decodes its own batch with a thread pool (PIL releases the
GIL while it decodes and resizes) and scores it as the images arrive, so only
sources go in and scores come out: decoded pixels, four bytes a value, never
cross Ray's object store. With ``decode_in_actor=False`` decoding is a
separate ``map_batches`` stage on CPU workers instead, for clusters whose GPU
nodes have too few cores to decode. The results come back in chunks, with
their row numbers, into the same :class:`~labelloop.scale.base.PoolScores`
the local scorer fills: the same arrays, the same cache files, the same
ranking.

Install with ``pip install labelloop[ray]``; choose it with the project
setting ``scale: {executor: ray, address: auto}``. On a small machine give
actors fractional CPUs (the default 0.5): whole CPUs on a 2-core machine
leave none for decoding and the pipeline stalls.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from labelloop.data.arrays import ResizePolicy
from labelloop.learners import Learner
from labelloop.scale.base import PoolScores, Progress, ScoreRequest
from labelloop.scale.local import ImageFiles

__all__ = ["RayScorer"]


class _Decode:
    """Ray Data batch function: sources -> pixels and a readable flag."""

    def __init__(self, channels: int, size: tuple[int, int], policy: ResizePolicy) -> None:
        self.channels, self.size, self.policy = channels, size, policy

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        files = ImageFiles(list(batch["source"]), self.channels, self.size, self.policy)
        decoded = [files[i] for i in range(len(files))]
        return {
            "row": batch["row"],
            "pixels": np.stack([pixels for pixels, _ in decoded]),
            "ok": np.array([ok for _, ok in decoded], dtype=bool),
        }


class _Model:
    """Ray Data actor: holds the model once, scores each batch of pixels."""

    def __init__(self, learner_bytes: bytes, request: ScoreRequest, threads: int | None) -> None:
        # Ray starts workers with one thread for a fractional CPU; the model's
        # forward pass may use the node's cores as the local scorer's does.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self.learner: Learner = torch.load(io.BytesIO(learner_bytes), weights_only=False)
        self.request = request

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        images = np.array(batch["pixels"], dtype=np.float32)  # Ray hands out read-only arrays
        n = len(images)
        scores = PoolScores.allocate(self.learner, self._in_memory(), n)
        with torch.inference_mode():
            scores.write(self.learner, self._in_memory(), slice(0, n), images, batch["ok"])
        return self._rows(batch["row"], batch["ok"], scores)

    @staticmethod
    def _rows(
        rows: NDArray[Any], ok: NDArray[np.bool_], scores: PoolScores
    ) -> dict[str, NDArray[Any]]:
        out: dict[str, NDArray[Any]] = {"row": rows, "ok": ok}
        for name in ("probs", "samples", "embeddings", "pixels"):
            value = getattr(scores, name)
            if value is not None:
                # Ray batches are row-major: samples travel as (n, S, k).
                out[name] = np.swapaxes(value, 0, 1) if name == "samples" else value
        return out

    def _in_memory(self) -> ScoreRequest:
        return in_memory(self.request)


class _DecodeAndScore(_Model):
    """Ray Data actor: decodes its batch with a thread pool and scores it piece by piece.

    The batch is scored in ``pieces`` parts, each as soon as its images are
    decoded, so the decoding threads work on the next part while the model
    runs on this one.
    """

    def __init__(
        self,
        learner_bytes: bytes,
        request: ScoreRequest,
        threads: int | None,
        decode_threads: int,
        pieces: int = 4,
    ) -> None:
        super().__init__(learner_bytes, request, threads)
        self.decoding = ThreadPoolExecutor(max_workers=decode_threads)
        self.pieces = pieces

    def __call__(self, batch: dict[str, NDArray[Any]]) -> dict[str, NDArray[Any]]:
        request = self.request
        files = ImageFiles(list(batch["source"]), request.channels, request.size, request.policy)
        n = len(files)
        pending = [self.decoding.submit(files.__getitem__, i) for i in range(n)]
        scores = PoolScores.allocate(self.learner, self._in_memory(), n)
        ok = np.zeros(n, dtype=bool)
        bounds = np.linspace(0, n, min(self.pieces, n) + 1).astype(int).tolist()
        for start, end in itertools.pairwise(bounds):
            decoded = [pending[i].result() for i in range(start, end)]
            ok[start:end] = [readable for _, readable in decoded]
            images = np.stack([pixels for pixels, _ in decoded])
            with torch.inference_mode():
                scores.write(
                    self.learner, self._in_memory(), slice(start, end), images, ok[start:end]
                )
        return self._rows(batch["row"], ok, scores)


class RayScorer:
    """Scores a pool with Ray Data on a local or remote Ray cluster.

    Args:
        address: ``None`` starts (or joins) a local Ray; ``"auto"`` joins the
            running cluster; ``"ray://host:10001"`` a remote one.
        actors: model actors (one per GPU on a GPU cluster).
        decoders: concurrent decoding tasks (Ray Data ``map_batches`` concurrency).
        model_threads: torch threads of each model actor (default: the
            node's cores; Ray would otherwise give a fractional-CPU actor one).
        cpus_per_actor: CPUs each model actor reserves; keep it fractional on small machines.
        chunk_size: images per batch.
        init_kwargs: further arguments of ``ray.init`` (e.g. ``num_cpus=2`` in tests).
        decode_in_actor: each model actor decodes its own batches with
            ``decoders`` threads (the default); False decodes in a separate
            stage of ``decoders`` CPU tasks and ships the pixels to the actors.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        actors: int = 1,
        decoders: int = 2,
        model_threads: int | None = None,
        cpus_per_actor: float = 0.5,
        chunk_size: int = 256,
        init_kwargs: dict[str, Any] | None = None,
        decode_in_actor: bool = True,
    ) -> None:
        self.address = address
        self.actors = actors
        self.decoders = decoders
        self.model_threads = model_threads
        self.cpus_per_actor = cpus_per_actor
        self.chunk_size = chunk_size
        self.init_kwargs = init_kwargs or {}
        self.decode_in_actor = decode_in_actor

    def score(
        self, learner: Learner | None, request: ScoreRequest, *, on_progress: Progress | None = None
    ) -> PoolScores:
        """Score every image of ``request``; the result matches :class:`LocalScorer`'s."""
        import ray  # Imported here: Ray is an optional extra (labelloop[ray]).
        import ray.data

        if not ray.is_initialized():
            ray.init(
                address=self.address,
                include_dashboard=False,
                log_to_driver=False,
                **self.init_kwargs,
            )
        n = len(request.paths)
        scores = PoolScores.allocate(learner, request, n)
        if n == 0:
            return scores
        sources = [str(p) if isinstance(p, Path) else p for p in request.paths]
        dataset: ray.data.Dataset = ray.data.from_items(
            [{"row": i, "source": s} for i, s in enumerate(sources)]
        )
        fused = learner is not None and self.decode_in_actor
        if not fused:
            dataset = dataset.map_batches(
                _Decode,
                fn_constructor_kwargs={
                    "channels": request.channels,
                    "size": request.size,
                    "policy": request.policy,
                },
                batch_size=self.chunk_size,
                num_cpus=self.cpus_per_actor,
                concurrency=self.decoders,
            )
        if learner is not None:
            buffer = io.BytesIO()
            torch.save(learner, buffer)
            gpus = 1 if torch.cuda.is_available() else 0
            model: dict[str, Any] = {
                "learner_bytes": buffer.getvalue(),
                "request": request,
                "threads": self.model_threads,
            }
            if fused:
                model["decode_threads"] = self.decoders
            dataset = dataset.map_batches(
                _DecodeAndScore if fused else _Model,
                fn_constructor_kwargs=model,
                batch_size=self.chunk_size,
                num_cpus=self.cpus_per_actor,
                num_gpus=gpus,
                concurrency=self.actors,
            )
        done = 0
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            rows = np.asarray(batch["row"], dtype=np.int64)
            self._store(scores, learner, request, rows, batch)
            done += len(rows)
            if on_progress is not None:
                on_progress(done, n)
        scores.flush()
        return scores

    @staticmethod
    def _store(
        scores: PoolScores,
        learner: Learner | None,
        request: ScoreRequest,
        rows: NDArray[np.int64],
        batch: dict[str, NDArray[Any]],
    ) -> None:
        scores.ok[rows] = batch["ok"]
        if learner is None:
            # Decoding only: thumbnails for cold start are made here, as the local scorer does.
            pixels = np.array(batch["pixels"], dtype=np.float32)
            chunk = PoolScores.allocate(None, in_memory(request), len(rows))
            chunk.write(None, request, slice(0, len(rows)), pixels, batch["ok"])
            if chunk.pixels is not None:
                if scores.pixels is None:
                    scores.pixels = scores.new_array("pixels", (scores.n, chunk.pixels.shape[1]))
                scores.pixels[rows] = chunk.pixels
            return
        if scores.probs is not None:
            scores.probs[rows] = batch["probs"]
        if "samples" in batch:
            samples = np.swapaxes(batch["samples"], 0, 1)
            if scores.samples is None:
                sampled = (samples.shape[0], scores.n, samples.shape[2])
                scores.samples = scores.new_array("samples", sampled)
            scores.samples[:, rows] = samples
        if "embeddings" in batch:
            if scores.embeddings is None:
                width = (scores.n, batch["embeddings"].shape[1])
                scores.embeddings = scores.new_array("embeddings", width)
            scores.embeddings[rows] = batch["embeddings"]


def in_memory(request: ScoreRequest) -> ScoreRequest:
    """The request without its paths and cache folder: for scoring one batch in memory."""
    return dataclasses.replace(request, paths=[], cache_dir=None)
