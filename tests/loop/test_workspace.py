"""A Workspace is a context manager: leaving the block closes its database, even on an error."""

from __future__ import annotations

from pathlib import Path

import pytest

from labelloop.config import ProjectConfig
from labelloop.loop.workspace import Workspace


def _open_files(root: Path) -> set[str]:
    """SQLite's WAL companions: they exist while a connection is open, and go with the last."""
    return {p.name for p in root.glob("labelloop.db-*")}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    Workspace.init(tmp_path / "p", ProjectConfig(name="p", classes=("a", "b"))).close()
    assert not _open_files(tmp_path / "p")
    return tmp_path / "p"


def test_the_with_block_gets_the_workspace_and_closes_the_database_after_it(root: Path) -> None:
    opened = Workspace.open(root)
    with opened as ws:
        assert ws is opened
        assert ws.store.items(ws.project.id) == []
        assert _open_files(root) == {"labelloop.db-wal", "labelloop.db-shm"}
    assert not _open_files(root)


def test_the_database_is_closed_when_the_block_raises_and_the_error_propagates(
    root: Path,
) -> None:
    with pytest.raises(RuntimeError, match="mid-block"), Workspace.open(root) as ws:
        ws.store.items(ws.project.id)
        assert _open_files(root)
        raise RuntimeError("mid-block")
    assert not _open_files(root)


def test_a_new_project_closes_at_the_end_of_its_block_too(tmp_path: Path) -> None:
    with Workspace.init(tmp_path / "q", ProjectConfig(name="q", classes=("a", "b"))) as ws:
        assert ws.project.name == "q"
        assert _open_files(tmp_path / "q")
    assert not _open_files(tmp_path / "q")
