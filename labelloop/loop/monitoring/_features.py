"""What the checks compare: the reference images, the features the checks read,
and the project's settings of the detectors that compare them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from labelloop.loop.models import latest_learner, project_learner
from labelloop.loop.monitoring.errors import MonitorInputError
from labelloop.loop.workspace import Workspace
from labelloop.plugins import Registry
from labelloop.scale import LocalScorer, ScoreRequest
from labelloop.store import Item

if TYPE_CHECKING:
    from labelloop.learners import Learner

__all__ = [
    "MAX_REFERENCE",
    "Compared",
    "compare",
    "configured",
    "features",
    "features_of",
    "reference",
]

# Reference images drawn for drift and outlier checks: enough for the tests'
# power, few enough that embedding them stays quick on a CPU.
MAX_REFERENCE = 2000


@dataclass(frozen=True)
class Compared:
    """New images beside the reference, as the features the checks read.

    Attributes:
        label: What the new images were (``import``, ``stream window 3``), for the report.
        ref: ``(n_ref, d)`` features of the reference images.
        new: ``(n, d)`` features of the new images.
        items: The new images' items, in the order of ``new``; empty for a
            stream window's files.
        names: A stream window's file names, in the order of ``new``; None for items.
    """

    label: str
    ref: NDArray[np.float64]
    new: NDArray[np.float64]
    items: Sequence[Item] = ()
    names: Sequence[str] | None = None


def compare(
    ws: Workspace,
    label: str,
    *,
    items: Sequence[Item] = (),
    paths: Sequence[Path] = (),
) -> Compared | None:
    """The features of new images (``items``, or else the files ``paths``) and of the reference.

    One pass through the model for both sides, so the learner is loaded once.

    Returns:
        Both sides; None when there are fewer than 2 new images or 10 reference ones.
    """
    ref_items = reference(ws, {item.id for item in items})
    new_paths = [ws.image_path(item) for item in items] if items else list(paths)
    if len(new_paths) < 2 or len(ref_items) < 10:
        return None
    found = features_of(ws, [*(ws.image_path(item) for item in ref_items), *new_paths])
    ref, new = found[: len(ref_items)], found[len(ref_items) :]
    if items:
        return Compared(label, ref, new, items=items)
    return Compared(label, ref, new, names=[path.name for path in paths])


class _Tunable(Protocol):
    def get_params(self) -> dict[str, Any]: ...

    def set_params(self, **params: Any) -> Any: ...


_Part = TypeVar("_Part", bound=_Tunable)


def configured(registry: Registry[_Part], name: str, ws: Workspace, **params: Any) -> _Part:
    """The detector ``name``, with those of ``params`` it takes and the project's seed.

    Detectors differ in what they take (a seed, a significance level, an
    expected share of outliers): each gets what it has a parameter for.
    """
    part = registry.create(name)
    wanted = {"random_state": ws.config.seed, **params}
    taken = part.get_params()
    part.set_params(**{key: value for key, value in wanted.items() if key in taken})
    return part


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
