"""Round metrics: typed fields in, the stored JSON out, any stored row back."""

from __future__ import annotations

from labelloop.loop.metrics import RoundMetrics


def test_only_what_was_measured_is_stored() -> None:
    metrics = RoundMetrics(n_labeled=40, n_pool=500, unreadable=0)
    assert metrics.to_json() == {"n_labeled": 40, "n_pool": 500, "unreadable": 0}


def test_a_stored_row_reads_back_with_names_this_version_does_not_know() -> None:
    stored = {
        "n_labeled": 75,
        "n_pool": 1797,
        "validation": {"accuracy": 0.75, "n": 16},
        "fallback_strategy": "random",
        "added_by_a_later_version": [1, 2],
    }
    metrics = RoundMetrics.from_json(stored)
    assert metrics.n_labeled == 75 and metrics.fallback_strategy == "random"
    assert metrics.validation_value("accuracy") == 0.75
    assert metrics.validation_value("macro_f1") is None
    assert metrics.extra == {"added_by_a_later_version": [1, 2]}
    assert metrics.to_json() == stored


def test_an_empty_or_missing_row_is_nothing_measured() -> None:
    stored: dict[str, object] | None
    for stored in (None, {}):
        metrics = RoundMetrics.from_json(stored)
        assert metrics == RoundMetrics()
        assert metrics.validation_value("accuracy") is None


def test_latest_measured_is_the_newest_round_that_measured_it() -> None:
    from labelloop.loop.metrics import latest_measured
    from labelloop.store import RoundRecord

    def record(number: int, metrics: dict[str, object]) -> RoundRecord:
        return RoundRecord(number, number, number, None, "margin", [], metrics)

    rounds = [
        record(1, {"n_labeled": 10, "monitor": {"stop_items": [1]}}),
        record(2, {"n_labeled": 20, "monitor": {"stop_items": [2]}}),
        record(3, {"n_labeled": 30}),
    ]
    found = latest_measured(rounds, "monitor")
    assert found is not None and found[0].number == 2 and found[1] == {"stop_items": [2]}
    assert latest_measured(rounds, "confidence_histogram") is None
    assert latest_measured([], "monitor") is None
