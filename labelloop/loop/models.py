"""The project's trained models, found and loaded from the store's records."""

from __future__ import annotations

from labelloop.learners import (
    Learner,
    ModelFileCorruptError,
    ModelFileNotFoundError,
    WeightsMismatchError,
    make_learner,
)
from labelloop.loop.workspace import Workspace
from labelloop.store import ModelRecord

__all__ = ["latest_learner", "latest_model", "project_learner"]


def project_learner(ws: Workspace, input_shape: tuple[int, int, int]) -> Learner:
    """A new, unfitted learner as the project's settings describe it."""
    cfg = ws.config
    return make_learner(
        cfg.learner,
        n_classes=len(cfg.classes),
        input_shape=input_shape,
        random_state=cfg.seed,
        calibrate=cfg.calibrate,
        weights=cfg.backbone.weights,
        mode=cfg.backbone.mode,
        backbone_size=cfg.backbone.input_size,
        head=cfg.backbone.head,
        model=cfg.backbone.model,
        cache_root=ws.root / "cache" / "embeddings",
    )


def latest_model(ws: Workspace) -> ModelRecord | None:
    """The model of the project's latest trained round, if it trained one of the
    configured learner and saved it; None otherwise (then nothing is warm-started)."""
    trained = [r.model_id for r in ws.store.rounds(ws.project.id) if r.model_id is not None]
    if not trained:
        return None
    record = ws.store.model(trained[-1])
    if record.learner != ws.config.learner or not record.path:
        return None
    return record


def latest_learner(ws: Workspace, input_shape: tuple[int, int, int]) -> Learner | None:
    """The project's latest trained classifier, loaded, or None when there is none to use.

    None before the first model, and also when the saved model no longer fits
    the settings (another input size, channels or classes: the next fit
    starts from scratch) or its file is missing or damaged (a damaged file
    is moved aside as ``<name>.quarantined`` so that training recovers on its
    own instead of failing at every round).

    Args:
        ws: The open project.
        input_shape: ``(C, H, W)`` of the images the model takes.
    """
    record = latest_model(ws)
    if record is None or record.path is None:
        return None
    learner = project_learner(ws, input_shape)
    path = ws.root / record.path
    try:
        return learner.load(path)
    except WeightsMismatchError:
        return None
    except (ModelFileNotFoundError, ModelFileCorruptError):
        if path.exists():
            path.replace(path.with_name(path.name + ".quarantined"))
        return None
