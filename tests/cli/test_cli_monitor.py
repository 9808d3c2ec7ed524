"""``labelloop monitor``, the drift and outlier checks after import, and the status verdict."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from labelloop.cli import app
from labelloop.data.demo import DIGITS_CLASSES, write_digits

runner = CliRunner()


def _ok(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _folder(digits: Path, dest: Path, per_class: int, skip: int, invert: bool = False) -> Path:
    """Class subfolders of digits from a fixed random order (the file order follows writers)."""
    for digit in DIGITS_CLASSES:
        (dest / digit).mkdir(parents=True)
        paths = sorted((digits / digit).glob("*.png"))
        for n in np.random.default_rng(0).permutation(len(paths))[skip : skip + per_class]:
            pixels = np.asarray(Image.open(paths[n]).convert("L"))
            Image.fromarray(255 - pixels if invert else pixels).save(dest / digit / paths[n].name)
    return dest


def test_import_checks_new_images_and_monitor_reports(tmp_path: Path) -> None:
    digits = write_digits(tmp_path / "digits")
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(DIGITS_CLASSES), "--learner", "logreg")
    _ok("import", proj, _folder(digits, tmp_path / "seed", 12, 0))
    out = _ok("import", proj, _folder(digits, tmp_path / "clean", 5, 20), "--unlabeled")
    assert "import clean: no drift" in out
    out = _ok("import", proj, _folder(digits, tmp_path / "inv", 5, 40, invert=True), "--unlabeled")
    assert "alert" in out and "import inv: drift" in out
    assert "[bold" not in out and "[/" not in out  # styles, not their markup
    report = json.loads(_ok("monitor", proj, "--json"))
    assert report["decision"] == "continue"
    assert report["latest"]["data_drift"]["alert"] is True
    assert report["open_flags"]["drift"] > 0 and report["top_flags"]["drift"]
    _ok("train", proj)
    table = _ok("monitor", proj, "--label-errors", "--concept-drift")
    assert "continue labeling" in table or "returns are diminishing" in table
    assert "[bold" not in table
    assert "stabilizing_predictions" in table and "label_errors" in table
    status = _ok("status", proj)
    assert "labeling" in status


def test_import_can_skip_the_checks(tmp_path: Path) -> None:
    digits = write_digits(tmp_path / "digits")
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(DIGITS_CLASSES))
    _ok("import", proj, _folder(digits, tmp_path / "seed", 3, 0), "--no-check")
    report = json.loads(_ok("monitor", proj, "--json"))
    assert report["latest"]["data_drift"] is None and report["latest"]["outliers"] is None


def test_monitor_cleans_metadata_and_refuses_a_bad_file(tmp_path: Path) -> None:
    digits = write_digits(tmp_path / "digits")
    proj = tmp_path / "proj"
    _ok("init", proj, "--classes", ",".join(DIGITS_CLASSES))
    _ok("import", proj, _folder(digits, tmp_path / "seed", 2, 0), "--no-check")
    names = sorted(
        p.relative_to(tmp_path / "seed").as_posix() for p in (tmp_path / "seed").rglob("*.png")
    )
    meta = tmp_path / "meta.csv"
    meta.write_text(
        "filename,exposure\n"
        + "".join(f"{n},{1 + i % 3}\n" for i, n in enumerate(names[:-1]))
        + f"{names[-1]},\n"
    )
    _ok("monitor", proj, "--metadata", meta)
    report = json.loads(_ok("monitor", proj, "--json"))
    changes = report["latest"]["metadata"]["body"]["changes"]
    assert [(c["row"], c["reason"]) for c in changes] == [(len(names) - 1, "missing")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,exposure\nx.png,1\n")
    result = runner.invoke(app, ["monitor", str(proj), "--metadata", str(bad)])
    assert result.exit_code == 1 and "filename" in result.output
