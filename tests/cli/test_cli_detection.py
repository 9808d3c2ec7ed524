"""The ``labelloop`` command on detection projects: import/export in formats, train, simulate."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.data.detection_demo import write_detection_demo

runner = CliRunner()
N_IMAGES = 10


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _fails(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.output


def _init(root: Path) -> None:
    _ok("init", root, "--task", "detection", "--classes", "0,1,2")


def test_import_reports_problems_and_export_round_trips(tmp_path: Path) -> None:
    source = write_detection_demo(tmp_path / "demo", N_IMAGES, classes=("0", "1", "2"))
    data = json.loads(source.read_text())
    bad = data["annotations"][0]
    bad["bbox"] = [60.0, 60.0, 30.0, 30.0]  # far outside the 64x64 image
    source.write_text(json.dumps(data))
    proj = tmp_path / "proj"
    _init(proj)
    out = _ok("import", proj, source, "--format", "coco")
    assert "problem" in out and "outside" in out
    assert f"imported {N_IMAGES - 1} ({N_IMAGES - 1} labeled)" in out and "problems 1" in out
    assert "entropy_sum" in _ok("config", proj) and "fcos_tiny" in _ok("config", proj)
    dest = tmp_path / "export"
    out = _ok("export", proj, dest, "--format", "yolo")
    assert f"{N_IMAGES - 1} images" in out
    assert len(list((dest / "labels").glob("*.txt"))) == N_IMAGES - 1
    again = tmp_path / "again"
    _init(again)
    out = _ok("import", again, dest, "--format", "yolo")
    assert f"imported {N_IMAGES - 1} ({N_IMAGES - 1} labeled)" in out and "problems 0" in out
    assert "--format must be one of" in _fails("import", again, dest, "--format", "pascal")
    assert "give DEST" in _fails("export", again, "--format", "voc")
    # Classification exports still go to stdout as before.
    assert json.loads(_ok("export", again, "--format", "json"))["labels"]


def test_train_prints_validation_map(tmp_path: Path) -> None:
    source = write_detection_demo(tmp_path / "demo", 16, classes=("0", "1", "2"), format="voc")
    proj = tmp_path / "proj"
    config = tmp_path / "project.yaml"
    config.write_text(
        "name: boxes\ntask: detection\nclasses: ['0', '1', '2']\n"
        "detection:\n  epochs: 1\n  min_steps: 0\n"
    )
    _ok("init", proj, "--config", config)
    _ok("import", proj, source, "--format", "voc", "--images", source / "images")
    out = _ok("train", proj)
    # Every image is labeled: the round fits and validates, and has nothing to queue.
    assert "round 1: 16 labels, strategy entropy_sum, queued 0 items" in out
    assert "validation mAP@0.5" in out
    assert "validation mAP@0.5" in _ok("status", proj)


def test_simulate_detection_writes_map_curves(tmp_path: Path) -> None:
    out = tmp_path / "sim"
    _ok(
        "simulate", "--task", "detection", "--dataset", "detection-demo",
        "--strategies", "random,entropy_sum", "--images", 40, "--seed-size", 8,
        "--batch-size", 6, "--budget", 14, "--repeats", 1, "--epochs", 1, "--min-steps", 0,
        "--out", out,
    )  # fmt: skip
    with (out / "curves.csv").open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["strategy", "repeat", "n_labeled", "accuracy"]
    assert sorted((r[0], r[2]) for r in rows[1:]) == [
        ("entropy_sum", "14"), ("entropy_sum", "8"), ("random", "14"), ("random", "8")
    ]  # fmt: skip
    rounds = [json.loads(line) for line in (out / "rounds.jsonl").read_text().splitlines()]
    assert all(r["metric"] == "map50" and r["accuracy"] == r["test"]["map50"] for r in rounds)
    assert all("map" in r["test"] for r in rounds)  # mAP@[.5:.95] beside mAP@0.5
    assert json.loads((out / "summary.json").read_text())["metric"] == "map50"
    assert (out / "curves.png").is_file()


def test_demo_builds_a_detection_project(tmp_path: Path) -> None:
    proj = tmp_path / "demo"
    out = _ok("demo", proj, "--task", "detection", "--no-serve")
    assert "400 images with digits to box, 20 labeled" in " ".join(out.split())
    status = json.loads(_ok("status", proj, "--json"))
    assert status["labels_by_source"] == {"import": 20}
