"""``labelloop pretrain`` from the command line, piped (no terminal)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from labelloop.data.photolike import write_photo_like


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "labelloop.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        env=os.environ | {"COLUMNS": "40"},
    )


def test_pretrain_resumes_and_becomes_the_backbone(tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    write_photo_like(photos, 16, min_side=60, max_side=80)
    proj = tmp_path / "proj"
    assert _run("init", proj, "--classes", ",".join(map(str, range(10)))).returncode == 0
    assert _run("import", proj, photos).returncode == 0
    first = _run("pretrain", proj, "--epochs", 1, "--input-size", 32, "--batch-size", 8)
    assert first.returncode == 0, first.stderr
    assert "pretrained resnet18 on 16 images for 1 epochs" in first.stdout
    assert "learner: cnn -> resnet18" in first.stdout
    again = _run("pretrain", proj, "--epochs", 2, "--input-size", 32, "--batch-size", 8)
    assert again.returncode == 0, again.stderr
    assert "resumed after epoch 1" in again.stdout
    settings = json.loads(_run("config", proj, "--json").stdout)
    assert settings["learner"] == "resnet18" and settings["backbone"]["mode"] == "embed"
    assert Path(settings["backbone"]["weights"]).name == "pretrained-resnet18.pt"
    bad = _run("pretrain", proj, "--backbone", "alexnet")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "resnet18" in bad.stderr
