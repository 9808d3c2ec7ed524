"""A team's own photos with the default configuration: mixed sizes, colour, EXIF, CMYK, 16-bit."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.data.photolike import write_photo_like

runner = CliRunner()


def _ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_photos_of_mixed_sizes_and_formats_run_the_loop_by_default(tmp_path: Path) -> None:
    labeled = tmp_path / "labeled"
    write_photo_like(labeled, 60, seed=1)  # class folders, 200-400 px, JPEG + PNG, EXIF
    flat = tmp_path / "new"
    write_photo_like(flat, 40, seed=2, class_folders=False)
    Image.new("RGB", (250, 310), (10, 200, 40)).convert("CMYK").save(flat / "cmyk.jpg")
    deep = (np.arange(220 * 330, dtype=np.uint32).reshape(220, 330) % 65536).astype(np.uint16)
    Image.fromarray(deep).save(flat / "sixteen.png")
    with Image.open(flat / "sixteen.png") as sixteen:
        assert sixteen.mode.startswith("I")

    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(str(d) for d in range(10)), "--batch-size", 5)
    _ok("import", proj, labeled)
    _ok("import", proj, flat)
    settings = json.loads(_ok("config", proj, "--json"))
    assert settings["channels"] == 3 and settings["image_size"] == [64, 64]
    assert settings["resize"] == "center_crop"
    history = json.loads(_ok("config", proj, "--history", "--json"))
    assert {(h["key"], h["who"]) for h in history} == {
        ("channels", "labelloop"),
        ("image_size", "labelloop"),
    }

    trained = _ok("train", proj)
    assert re.search(r"round \d+: 60 labels", trained)
    queue = json.loads(_ok("query", proj, "--json"))
    assert len(queue) == 5 and all(q["score"] is not None for q in queue)
    batch = tmp_path / "batch.csv"
    with batch.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["item", "label"])
        writer.writerows([(q["item"], "3") for q in queue])
    _ok("label", proj, batch, "--annotator", "alice")
    assert re.search(r"round \d+: 65 labels", _ok("train", proj))

    # A setting changed after the fact applies to the next round.
    changed = _ok("config", proj, "--set", "image_size=[48,40]", "--set", "resize=letterbox")
    assert "image_size: [64, 64] -> [48, 40]" in changed
    table = _ok("status", proj)
    assert re.search(r"model\s.*predicts \d+ of 10 classes on the unlabeled pool", table)
    rounds = json.loads(_ok("status", proj, "--json"))["rounds"]
    assert re.search(r"round \d+: 65 labels", _ok("train", proj))
    status = json.loads(_ok("status", proj, "--json"))
    assert status["items"] == 102 and status["rounds"] == rounds + 1
