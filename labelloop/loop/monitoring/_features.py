"""What the checks compare: the reference images and the features the checks read."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from labelloop.loop.models import latest_learner, project_learner
from labelloop.loop.monitoring.errors import MonitorInputError
from labelloop.loop.workspace import Workspace
from labelloop.scale import LocalScorer, ScoreRequest
from labelloop.store import Item

if TYPE_CHECKING:
    from labelloop.learners import Learner

__all__ = ["MAX_REFERENCE", "features", "features_of", "reference"]

# Reference images drawn for drift and outlier checks: enough for the tests'
# power, few enough that embedding them stays quick on a CPU.
MAX_REFERENCE = 2000


def features(ws: Workspace, items: Sequence[Item]) -> NDArray[np.float64]:
    """Embeddings of the latest model, or the images' pixels before there is one."""
    return features_of(ws, [ws.image_path(item) for item in items])


def features_of(ws: Workspace, paths: Sequence[Path]) -> NDArray[np.float64]:
    """Embeddings of the latest model (small pixel thumbnails before there is one) of image files.

    Streamed through the pool scorer a chunk at a time, so an import of
    100,000 images is checked without holding them; an image that cannot be
    read gets the mean of the others' features.

    Raises:
        MonitorInputError: The project has no images, so no input size is decided yet.
    """
    channels, size = ws.input_geometry()
    if size is None:
        raise MonitorInputError("the project has no images yet; import images before checking")
    shape = (channels, *size)
    learner = _embedder(ws, shape)
    request = ScoreRequest(
        paths=list(paths),
        channels=channels,
        size=size,
        policy=ws.config.resize,
        needs=frozenset({"embeddings"} if learner is not None else {"pixels"}),
    )
    scores = LocalScorer().score(learner, request)
    found = scores.embeddings if learner is not None else scores.pixels
    assert found is not None  # the scorer fills what the request needs
    result = np.asarray(found, dtype=np.float64)
    if len(scores.failed) and scores.ok.any():
        result[scores.failed] = result[scores.ok].mean(axis=0)
    return result


def _embedder(ws: Workspace, shape: tuple[int, int, int]) -> Learner | None:
    """What drift and outlier checks embed with: the latest model; in ``embed`` mode,
    before any model, the project's frozen backbone (its embeddings are cached)."""
    if ws.config.task != "classification":
        return None
    learner = latest_learner(ws, shape)
    if learner is None and ws.config.backbone.mode == "embed":
        learner = project_learner(ws, shape)
    return learner


def reference(ws: Workspace, exclude: set[int]) -> list[Item]:
    """The images the current model learned from: people's training labels.

    Before any label exists the reference is the rest of the pool.
    """
    pid = ws.project.id
    labels = ws.store.current_labels(pid)
    items = [i for i in ws.store.items(pid) if i.id not in exclude]
    trained = [
        i for i in items if i.id in labels and labels[i.id].source != "auto" and i.split != "val"
    ]
    chosen = trained if len(trained) >= 20 else items
    if len(chosen) > MAX_REFERENCE:
        rng = np.random.default_rng(ws.config.seed)
        keep = np.sort(rng.choice(len(chosen), MAX_REFERENCE, replace=False))
        chosen = [chosen[i] for i in keep]
    return chosen
