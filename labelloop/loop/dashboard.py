"""The dashboard's figures, computed from the store's records (the server only serves them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from labelloop.loop.metrics import RoundMetrics
from labelloop.store import RoundRecord

__all__ = ["auto_label_summary", "learning_curve"]


def learning_curve(rounds: Iterable[RoundRecord]) -> list[dict[str, Any]]:
    """One point per round that trained a model: labels, held-out metrics, strategy."""
    curve = []
    for r in rounds:
        if r.model_id is None:
            continue
        metrics = RoundMetrics.from_json(r.metrics)
        curve.append(
            {
                "round": r.number,
                "snapshot_id": r.snapshot_id,
                "n_labeled": metrics.n_labeled,
                "accuracy": metrics.validation_value("accuracy"),
                "macro_f1": metrics.validation_value("macro_f1"),
                "ece": metrics.validation_value("ece"),
                "strategy": r.strategy,
            }
        )
    return curve


def auto_label_summary(outcomes: Mapping[str, int], threshold: float | None) -> dict[str, Any]:
    """Review outcomes of auto labels with their precision (accepted among reviewed).

    Args:
        outcomes: counts by outcome, at least ``accepted`` and ``corrected``.
        threshold: the project's auto-label threshold (None: auto-labeling off).
    """
    reviewed = outcomes["accepted"] + outcomes["corrected"]
    return {
        **outcomes,
        "reviewed": reviewed,
        "precision": outcomes["accepted"] / reviewed if reviewed else None,
        "threshold": threshold,
    }
