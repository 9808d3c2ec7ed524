"""Fixtures shared by the loop tests: a small digits project."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.config import ProjectConfig
from labelloop.data.demo import DIGITS_CLASSES, write_digits
from labelloop.loop import Workspace


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    """150 unlabeled digits (15 per class) in a logistic-regression project, batches of 8."""
    folder = write_digits(tmp_path / "digits")
    small = tmp_path / "small"
    for digit in DIGITS_CLASSES:
        (small / digit).mkdir(parents=True)
        for path in sorted((folder / digit).glob("*.png"))[:15]:
            (small / digit / path.name).write_bytes(path.read_bytes())
    config = ProjectConfig(
        name="digits", classes=DIGITS_CLASSES, learner="logreg", strategy="margin", batch_size=8
    )
    workspace = Workspace.init(tmp_path / "proj", config)
    workspace.import_folder(small, with_labels=False)
    return workspace


@pytest.fixture
def truth(ws: Workspace) -> dict[int, str]:
    """Each item of ``ws`` with its true digit, from its import name ``<digit>/digit_<i>.png``."""
    return {item.id: item.name.split("/")[0] for item in ws.store.items(ws.project.id)}
