"""One round of a project's loop: snapshot → fit → score the pool → select → queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from labelloop.errors import LabelloopError
from labelloop.learners import make_learner
from labelloop.loop.engine import fit_learner, select_batch
from labelloop.loop.workspace import Workspace
from labelloop.store import RoundRecord
from labelloop.strategies import make_strategy

__all__ = ["RoundResult", "UnsupportedTaskError", "run_round"]


class UnsupportedTaskError(LabelloopError, NotImplementedError):
    """The project's task has no learner yet."""


@dataclass(frozen=True)
class RoundResult:
    """What a round recorded: the round itself and the metrics it measured."""

    round: RoundRecord
    metrics: dict[str, Any]


Progress = Callable[[str], None]


def run_round(ws: Workspace, *, on_step: Progress | None = None) -> RoundResult:
    """Run one round of the project's loop and queue its selection.

    With no labels yet there is nothing to fit: the round queues a random
    batch (cold start) and records no model.

    Args:
        ws: the open project.
        on_step: called with the name of each step as it starts.

    Returns:
        The recorded round and its validation metrics.
    """
    step = on_step or (lambda _name: None)
    cfg = ws.config
    if cfg.task != "classification":
        raise UnsupportedTaskError(
            f"training for task {cfg.task!r} is not available yet; "
            "only classification projects can run rounds"
        )
    pid = ws.project.id
    step("snapshot")
    snapshot = ws.store.create_snapshot(pid, note="round")
    pairs = ws.store.snapshot_labels(pid, snapshot.id)
    items = ws.store.items(pid)
    position = {item.id: i for i, item in enumerate(items)}
    labeled = np.zeros(len(items), dtype=bool)
    step("load images")
    X = ws.load_arrays(items)
    metrics: dict[str, Any] = {"n_labeled": len(pairs), "n_pool": len(items)}
    model_id = None
    probs = None
    strategy_name = cfg.strategy
    if pairs:
        idx = np.array([position[item.id] for item, _ in pairs], dtype=np.int64)
        labeled[idx] = True
        y = np.array([cfg.classes.index(event.value) for _, event in pairs], dtype=np.int64)
        is_val = np.array([item.split == "val" for item, _ in pairs])
        learner = make_learner(
            cfg.learner,
            n_classes=len(cfg.classes),
            input_shape=tuple(X.shape[1:]),
            random_state=cfg.seed,
        )
        previous = [r for r in ws.store.rounds(pid) if r.model_id is not None]
        if previous:
            last = ws.store.model(previous[-1].model_id)  # type: ignore[arg-type]
            if last.learner == cfg.learner and last.path:
                learner.load(ws.root / last.path)
        step("fit")
        val_metrics = fit_learner(
            learner, X[idx], y, np.flatnonzero(~is_val), np.flatnonzero(is_val)
        )
        metrics |= {"n_train": int((~is_val).sum()), "n_val": int(is_val.sum())}
        if val_metrics is not None:
            metrics["validation"] = val_metrics.to_dict()
        model = ws.store.add_model(pid, snapshot.id, cfg.learner, metrics)
        ws.models_dir.mkdir(parents=True, exist_ok=True)
        path = ws.models_dir / f"{model.version}.pt"
        learner.save(path)
        ws.store.set_model_path(model.id, path.relative_to(ws.root).as_posix())
        model_id = model.id
        step("score pool")
        probs = learner.predict_proba(X)
    else:
        strategy_name = "random"
    step("select")
    rounds_so_far = len(ws.store.rounds(pid))
    strategy = make_strategy(strategy_name, random_state=cfg.seed + rounds_so_far)
    selection = select_batch(strategy, labeled, cfg.batch_size, probs)
    scores = [None] * len(selection.indices) if selection.scores is None else selection.scores
    record = ws.store.add_round(
        pid,
        snapshot_id=snapshot.id,
        model_id=model_id,
        strategy=strategy_name,
        selected=[items[i].id for i in selection.indices],
        scores=[None if s is None else float(s) for s in scores],
        metrics=metrics,
    )
    return RoundResult(record, metrics)
