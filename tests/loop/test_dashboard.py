"""The dashboard's figures, from store records."""

from __future__ import annotations

from labelloop.loop.dashboard import auto_label_summary, learning_curve
from labelloop.store import RoundRecord


def _round(number: int, model_id: int | None, metrics: dict[str, object]) -> RoundRecord:
    return RoundRecord(
        id=number,
        number=number,
        snapshot_id=10 + number,
        model_id=model_id,
        strategy="margin",
        selected=[],
        metrics=metrics,
    )


def test_the_curve_has_a_point_per_trained_round() -> None:
    rounds = [
        _round(1, None, {"n_labeled": 0}),
        _round(2, 7, {"n_labeled": 20, "validation": {"accuracy": 0.5, "macro_f1": 0.4}}),
        _round(3, 8, {"n_labeled": 40}),
    ]
    curve = learning_curve(rounds)
    assert [point["round"] for point in curve] == [2, 3]
    assert curve[0] == {
        "round": 2,
        "snapshot_id": 12,
        "n_labeled": 20,
        "accuracy": 0.5,
        "macro_f1": 0.4,
        "ece": None,
        "strategy": "margin",
    }
    assert curve[1]["accuracy"] is None


def test_auto_label_precision_is_accepted_among_reviewed() -> None:
    summary = auto_label_summary({"accepted": 9, "corrected": 3, "pending": 40}, 0.95)
    assert summary["reviewed"] == 12 and summary["precision"] == 0.75
    assert summary["pending"] == 40 and summary["threshold"] == 0.95
    nothing = auto_label_summary({"accepted": 0, "corrected": 0}, None)
    assert nothing["precision"] is None and nothing["threshold"] is None
