"""Simulation: the curves format, shared seed sets, interruption, and the robust direction."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labelloop.loop import Dataset, SimulationSettings, load_dataset, run_simulation
from labelloop.monitor import CurvePoint, read_curves, summarize_curves


@pytest.fixture(scope="module")
def digits() -> Dataset:
    return load_dataset("digits")


def test_curves_format_and_outputs(digits: Dataset, tmp_path: Path) -> None:
    settings = SimulationSettings(
        strategies=("random", "margin"),
        learner="logreg",
        seed_size=20,
        batch_size=15,
        budget=50,
        repeats=2,
    )
    summary = run_simulation(digits, settings, tmp_path)
    with (tmp_path / "curves.csv").open() as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["strategy", "repeat", "n_labeled", "accuracy"]
    points = read_curves(tmp_path / "curves.csv")
    # 20 seed labels, then batches of 15, 15 and a last one cut to the budget.
    assert sorted({p.n_labeled for p in points}) == [20, 35, 50]
    assert len(points) == settings.rounds() * 2 * 2 == 12
    assert json.loads((tmp_path / "summary.json").read_text())["strategies"] == json.loads(
        json.dumps(summary["strategies"])
    )
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    details = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    assert [d["accuracy"] for d in details] == [p.accuracy for p in points]
    first = details[0]
    assert (
        first["test"]["accuracy"] == first["accuracy"]
        and len(first["test"]["per_class_recall"]) == 10
    )
    assert {"macro_f1", "ece"} <= set(first["test"]) and first["validation"]["n"] >= 1
    assert set(first["calibration"]) == {
        "ece_before_calibration",
        "ece_after_calibration",
        "temperature",
    }


def test_strategies_share_seed_set_and_initialisation(digits: Dataset, tmp_path: Path) -> None:
    settings = SimulationSettings(
        strategies=("random", "margin"),
        learner="cnn",
        seed_size=20,
        batch_size=10,
        budget=20,
        repeats=2,
    )
    run_simulation(digits, settings, tmp_path)
    points = read_curves(tmp_path / "curves.csv")
    for repeat in (0, 1):
        first = {p.strategy: p.accuracy for p in points if p.repeat == repeat and p.n_labeled == 20}
        assert len(set(first.values())) == 1, first


def test_interrupted_run_leaves_complete_rows(digits: Dataset, tmp_path: Path) -> None:
    seen: list[CurvePoint] = []

    def stop_after_three(point: CurvePoint) -> None:
        seen.append(point)
        if len(seen) == 3:
            raise KeyboardInterrupt

    settings = SimulationSettings(strategies=("random",), learner="logreg", budget=100)
    with pytest.raises(KeyboardInterrupt):
        run_simulation(digits, settings, tmp_path, on_round=stop_after_three)
    assert read_curves(tmp_path / "curves.csv") == seen
    assert json.loads((tmp_path / "summary.json").read_text())["strategies"]["random"]


def test_uncertainty_beats_random_at_equal_labels(digits: Dataset, tmp_path: Path) -> None:
    settings = SimulationSettings(
        strategies=("random", "margin"),
        learner="logreg",
        seed_size=20,
        batch_size=10,
        budget=200,
        repeats=3,
    )
    summary: dict[str, Any] = run_simulation(digits, settings, tmp_path)["strategies"]  # type: ignore[assignment]
    points = read_curves(tmp_path / "curves.csv")

    def curve(strategy: str) -> np.ndarray:
        table: dict[int, list[float]] = {}
        for p in points:
            if p.strategy == strategy:
                table.setdefault(p.n_labeled, []).append(p.accuracy)
        return np.array([np.mean(table[n]) for n in sorted(table)])

    random, margin = curve("random"), curve("margin")
    # Past the first few rounds the margin curve lies above random's on average
    # by a clear margin, and at the end of the budget too.
    assert (margin[5:] - random[5:]).mean() > 0.01
    assert margin[-1] > random[-1]
    assert summary["margin"]["final_accuracy_mean"] > summary["random"]["final_accuracy_mean"]


def test_summary_ratios_to_random() -> None:
    points = [
        CurvePoint("random", 0, 10, 0.5),
        CurvePoint("random", 0, 20, 0.9),
        CurvePoint("random", 0, 40, 0.96),
        CurvePoint("random", 1, 10, 0.5),
        CurvePoint("random", 1, 20, 0.92),
        CurvePoint("random", 1, 40, 0.94),
        CurvePoint("margin", 0, 10, 0.5),
        CurvePoint("margin", 0, 20, 0.96),
        CurvePoint("margin", 1, 10, 0.5),
        CurvePoint("margin", 1, 20, 0.97),
    ]
    s = summarize_curves(points)
    # Random's mean curve is 0.95 at 40 labels: it reaches 95% there; one run did.
    assert s["random"]["labels_to_95"] == 40 and s["random"]["labels_to_95_reached"] == 1
    assert s["margin"]["labels_to_95"] == 20 and s["margin"]["labels_to_95_runs_mean"] == 20
    assert s["margin"]["labels_to_95_ratio_to_random"] == 0.5
    assert s["margin"]["labels_to_95_ratio_is_bound"] is False
    assert s["margin"]["labels_to_90_ratio_to_random"] == 1.0
    assert s["random"]["final_accuracy_mean"] == 0.95


def test_summary_ratio_is_a_bound_when_random_never_gets_there() -> None:
    points = [
        CurvePoint("random", 0, 10, 0.5),
        CurvePoint("random", 0, 50, 0.93),
        CurvePoint("margin", 0, 10, 0.5),
        CurvePoint("margin", 0, 30, 0.96),
    ]
    s = summarize_curves(points)
    assert s["random"]["labels_to_95"] is None
    assert s["margin"]["labels_to_95_ratio_to_random"] == 30 / 50
    assert s["margin"]["labels_to_95_ratio_is_bound"] is True


def test_settings_refuse_bad_values() -> None:
    with pytest.raises(ValueError, match="strategies"):
        SimulationSettings(strategies=())
    with pytest.raises(ValueError, match="budget"):
        SimulationSettings(strategies=("random",), seed_size=50, budget=10)
    with pytest.raises(ValueError, match="unknown"):
        SimulationSettings(strategies=("clairvoyant",))


def test_folder_dataset(tmp_path: Path) -> None:
    from labelloop.data.demo import write_digits

    write_digits(tmp_path / "digits")
    data = load_dataset(str(tmp_path / "digits"))
    reference = load_dataset("digits")
    assert data.X.shape[1:] == (1, 8, 8) and data.classes == reference.classes
    assert np.bincount(data.y).tolist() == np.bincount(reference.y).tolist()


def test_a_folder_of_photos_of_mixed_sizes_loads_as_a_project_would(tmp_path: Path) -> None:
    from labelloop.data.geometry import DEFAULT_SIDE
    from labelloop.data.photolike import write_photo_like

    paths = write_photo_like(tmp_path / "photos", 30, seed=2)
    data = load_dataset(str(tmp_path / "photos"))
    # RGB and grayscale, 200-400 px of any shape: one RGB input of the default side.
    assert data.X.shape == (30, 3, DEFAULT_SIDE, DEFAULT_SIDE)
    assert sorted(data.classes[c] for c in data.y) == sorted(p.parent.name for p in paths)
    assert load_dataset(str(tmp_path / "photos"), image_size=(32, 48)).X.shape[1:] == (3, 32, 48)


def test_round_records_carry_what_the_stopping_rules_read(digits: Dataset, tmp_path: Path) -> None:
    settings = SimulationSettings(
        strategies=("random", "margin"),
        learner="logreg",
        seed_size=20,
        batch_size=15,
        budget=80,
        repeats=1,
        stop_set_size=200,
    )
    run_simulation(digits, settings, tmp_path)
    with (tmp_path / "curves.csv").open() as f:
        assert next(csv.reader(f)) == ["strategy", "repeat", "n_labeled", "accuracy"]
    details = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    for strategy in settings.strategies:
        run = [d for d in details if d["strategy"] == strategy]
        assert len(run) == settings.rounds() == 5
        assert run[0]["predicted_change"] is None and run[0]["stop_kappa"] is None
        for d in run[1:]:
            assert 0.0 <= d["predicted_change"] <= 1.0
        assert all(0.0 < d["pool_uncertainty"] < 1.0 for d in run)
        assert {"macro_f1", "ece"} <= set(run[-1]["test"]) <= set(run[-1]["validation"])
        last = run[-1]["stopping"]
        assert last["decision"] in ("continue", "diminishing")
        verdicts = {v["rule"]: v for v in last["verdicts"]}
        # The rules read exactly the per-round fields written beside them.
        stabilizing = verdicts["stabilizing_predictions"]["evidence"]
        assert stabilizing["kappas"] == [d["stop_kappa"] for d in run[1:]]
        uncertainty = verdicts["pool_uncertainty_below"]["evidence"]["uncertainties"]
        assert uncertainty == [d["pool_uncertainty"] for d in run]
        plateau = verdicts["validation_plateau"]
        assert plateau["evidence"]["window_val_accuracy"] == [
            d["validation"]["accuracy"] for d in run[-3:]
        ]
        assert [p["extra"] for p in last["projections"]] == [100, 1000]
        # Before three kappas exist, stabilizing predictions cannot fire.
        assert "reason" in run[2]["stopping"]["verdicts"][0]["evidence"]


def test_round_monitor_measures_change_kappa_and_uncertainty() -> None:
    from labelloop.loop.simulate import _RoundMonitor

    monitor = _RoundMonitor(np.array([0, 1, 2, 3], dtype=np.int64))
    labeled = np.array([True, False, False, False, False, False])
    first = np.array([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4], [0.5, 0.5], [0.2, 0.8]])
    record = monitor.observe(10, 0.5, first, labeled)
    assert record["predicted_change"] is None and record["stop_kappa"] is None
    # Unlabeled items 1..5: 1 - max prob = 0.2, 0.3, 0.4, 0.5, 0.2.
    assert record["pool_uncertainty"] == pytest.approx(0.32)
    labeled[1] = True
    # Predictions 0,0,1,0,0,1 become 1,0,1,1,0,1: item 0 (labeled) and item 3 change.
    second = np.array([[0.1, 0.9], [0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]])
    record = monitor.observe(20, 0.6, second, labeled)
    # Remaining pool is items 2..5, of which only item 3 changed.
    assert record["predicted_change"] == pytest.approx(0.25)
    # Stop set 0..3: [0,0,1,0] -> [1,0,1,1]; agreement 2/4, chance 0.75*0.25 + 0.25*0.75.
    assert record["stop_kappa"] == pytest.approx((0.5 - 0.375) / (1 - 0.375))
    assert record["pool_uncertainty"] == pytest.approx(np.mean([0.2, 0.4, 0.4, 0.1]))
    assert monitor.rounds[-1].n_labeled == 20 and monitor.rounds[-1].val_accuracy == 0.6


def test_stop_kappa_is_the_agreement_of_successive_stop_set_predictions() -> None:
    from labelloop.loop.simulate import _RoundMonitor
    from labelloop.monitor.stopping import prediction_agreement

    rng = np.random.default_rng(3)
    stop_set = np.array([0, 2, 3, 5, 6, 8], dtype=np.int64)
    monitor = _RoundMonitor(stop_set)
    labeled = np.zeros(10, dtype=bool)
    previous = None
    for n_labeled in (2, 4, 6):
        probs = rng.dirichlet(np.ones(3), size=10)
        record = monitor.observe(n_labeled, None, probs, labeled)
        preds = probs.argmax(axis=1)
        if previous is None:
            assert record["stop_kappa"] is None
        else:
            expected = prediction_agreement(previous[stop_set], preds[stop_set])
            assert record["stop_kappa"] == pytest.approx(expected)
        previous = preds


def test_the_stop_set_is_drawn_from_the_unlabeled_pool() -> None:
    from labelloop.loop.simulate import draw_stop_set

    labeled = np.zeros(100, dtype=bool)
    labeled[:60] = True
    drawn = draw_stop_set(labeled, 30, seed=0)
    assert len(drawn) == 30 == len(set(drawn.tolist())) and drawn.min() >= 60
    assert list(drawn) == sorted(drawn)
    assert len(draw_stop_set(labeled, 500, seed=0)) == 40  # all that is unlabeled
