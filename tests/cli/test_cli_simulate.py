"""``labelloop simulate``: a bad setting is one line naming it, exit status 1."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labelloop.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--learner", "logreg", "--budget", "10", "--seed-size", "20"],
            "error: budget: must be at least seed_size (20); got 10",
        ),
        (
            ["--mode", "stream", "--learner", "logreg", "--budget-fraction", "0"],
            "error: budget_fraction: Input should be greater than 0",
        ),
        (
            ["--task", "detection", "--budget", "5", "--seed-size", "8"],
            "error: budget: must be at least seed_size (8); got 5",
        ),
        (
            ["--mode", "stream", "--learner", "logreg", "--repeats", "0"],
            "error: repeats: Input should be greater than or equal to 1",
        ),
        (
            ["--task", "detection", "--epochs", "0"],
            "error: epochs: Input should be greater than or equal to 1",
        ),
    ],
    ids=["pool", "stream", "detection", "stream-shared", "detection-training"],
)
def test_a_bad_setting_is_one_line_naming_it(args: list[str], line: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(app, ["simulate", "--strategies", "random", *args, "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert result.output.strip() == line
    assert not out.exists()
