"""Stopping on a project: what each round tells the stopping rules, and their stored verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from labelloop.loop.metrics import RoundMetrics, latest_measured
from labelloop.loop.workspace import Workspace
from labelloop.monitor.stopping import (
    PoolUncertaintyBelow,
    RoundObservation,
    StabilizingPredictions,
    StoppingReport,
    ValidationPlateau,
    evaluate_stopping,
)
from labelloop.store import Item, MonitorReport

__all__ = ["observe_round", "record_stopping", "stopping_report"]


def observe_round(
    ws: Workspace,
    items: Sequence[Item],
    probs: NDArray[np.floating],
    human: NDArray[np.bool_],
) -> dict[str, Any]:
    """What the stopping rules need from a round, for its metrics.

    The stop set is drawn once from the unlabeled pool with the project's seed
    and kept by later rounds, even as some of it gets labeled. The share of
    changed predictions is measured on it: a uniform sample of the pool, it
    estimates the pool's share.

    Args:
        ws: The open project.
        items: The pool, in the order of ``probs``.
        probs: ``(n, n_classes)`` the round's model's probabilities for the pool.
        human: ``(n,)`` True where a person labeled the item.

    Returns:
        ``stop_items``, ``stop_predictions``, ``predicted_change`` and ``pool_uncertainty``.
    """
    latest = latest_measured(ws.store.rounds(ws.project.id), "monitor")
    previous = None if latest is None else latest[1]
    position = {item.id: i for i, item in enumerate(items)}
    if previous is not None and all(i in position for i in previous["stop_items"]):
        stop_items = list(previous["stop_items"])
    else:
        # Drawn from the unlabeled pool (Bloodgood & Vijay-Shanker): predictions
        # on training images hardly change and would make the models look stable.
        pool = np.flatnonzero(~human)
        size = min(ws.config.monitor.stop_set_size, len(pool))
        rng = np.random.default_rng(ws.config.seed)
        stop_items = [items[i].id for i in np.sort(rng.choice(pool, size, replace=False))]
    predicted = probs.argmax(axis=1)
    stop_predictions = [int(predicted[position[i]]) for i in stop_items]
    change = None
    if previous is not None and stop_items and previous["stop_items"] == stop_items:
        before = np.asarray(previous["stop_predictions"])
        change = float(np.mean(before != np.asarray(stop_predictions)))
    unlabeled = probs[~human]
    # An empty pool has no uncertainty to measure (not zero uncertainty).
    uncertainty = float(np.mean(1.0 - unlabeled.max(axis=1))) if len(unlabeled) else None
    return {
        "stop_items": stop_items,
        "stop_predictions": stop_predictions,
        "predicted_change": change,
        "pool_uncertainty": uncertainty,
    }


def _observations(ws: Workspace) -> list[RoundObservation]:
    found = []
    for record in ws.store.rounds(ws.project.id):
        metrics = RoundMetrics.from_json(record.metrics)
        watched = metrics.monitor
        if watched is None:
            continue
        validation = metrics.validation or {}
        found.append(
            RoundObservation(
                n_labeled=metrics.n_labeled,
                val_accuracy=validation.get("accuracy"),
                val_n=validation.get("n"),
                # An empty stop set (every image labeled at the first model)
                # says nothing about stability: the rule skips such rounds.
                stop_predictions=np.asarray(watched["stop_predictions"], dtype=np.int64)
                if watched["stop_predictions"]
                else None,
                pool_uncertainty=watched.get("pool_uncertainty"),
                predicted_change=watched.get("predicted_change"),
            )
        )
    return found


def stopping_report(ws: Workspace) -> StoppingReport:
    """The stopping rules read over every round the project has run."""
    cfg = ws.config.monitor
    rules = (
        StabilizingPredictions(window=cfg.kappa_window, threshold=cfg.kappa_threshold),
        ValidationPlateau(window=3, min_gain_per_100=cfg.min_gain_per_100),
        PoolUncertaintyBelow(threshold=cfg.uncertainty_threshold),
    )
    return evaluate_stopping(_observations(ws), rules)


def record_stopping(ws: Workspace, round_id: int | None = None) -> MonitorReport:
    """Evaluate the stopping rules and store their verdict ("continue" or "diminishing")."""
    report = stopping_report(ws)
    return ws.store.monitor.add_report(
        ws.project.id,
        "stopping",
        body=report.to_dict(),
        summary=report.summary,
        alert=report.decision == "diminishing",
        round_id=round_id,
    )
