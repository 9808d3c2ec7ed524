"""Detection simulation: mAP@0.5 curves in the classification curve format, fair starts."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from pydantic import ValidationError

from labelloop.loop.detection_sim import (
    DetectionSimulationSettings,
    UnknownDetectionDatasetError,
    load_detection_dataset,
    run_detection_simulation,
)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_curves_hold_map50_and_every_strategy_starts_alike(tmp_path: Path) -> None:
    data = load_detection_dataset("detection-demo:0,1,2", n_images=40, seed=2)
    settings = DetectionSimulationSettings(
        strategies=("random", "entropy_sum"),
        seed_size=8,
        batch_size=6,
        budget=14,
        repeats=1,
        epochs=1,
        min_steps=0,
        targets=(0.05,),
    )
    seen: list[int] = []
    summary = run_detection_simulation(
        data, settings, tmp_path, on_round=lambda p: seen.append(p.n_labeled)
    )
    assert seen == [8, 14, 8, 14]
    with (tmp_path / "curves.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["strategy", "repeat", "n_labeled", "accuracy"]
    rounds = [json.loads(line) for line in (tmp_path / "rounds.jsonl").read_text().splitlines()]
    for row, record in zip(rows, rounds, strict=True):
        assert float(row["accuracy"]) == pytest.approx(record["test"]["map50"])
        assert record["metric"] == "map50"
        assert 0.0 <= record["test"]["map"] <= record["test"]["map50"] <= 1.0
    # Same seed set and the same initial detector: the first points agree exactly.
    firsts = {r["strategy"]: r["accuracy"] for r in rows if r["n_labeled"] == "8"}
    assert firsts["random"] == firsts["entropy_sum"]
    assert summary["metric"] == "map50" and summary["pool_size"] == 30
    assert set(summary["strategies"]) == {"random", "entropy_sum"}  # type: ignore[call-overload]
    assert json.loads((tmp_path / "summary.json").read_text())["metric"] == "map50"
    assert (tmp_path / "curves.png").is_file()


def test_settings_and_datasets_are_checked() -> None:
    with pytest.raises(ValidationError, match="unknown detection strategy 'nope'"):
        DetectionSimulationSettings(strategies=("nope",))
    with pytest.raises(ValueError, match="budget"):
        DetectionSimulationSettings(strategies=("random",), seed_size=30, budget=20)
    with pytest.raises(UnknownDetectionDatasetError, match="detection-demo"):
        load_detection_dataset("coco")
    data = load_detection_dataset("detection-demo:3,7", n_images=5)
    assert data.classes == ("3", "7") and data.images.shape == (5, 1, 64, 64)
