"""The store as a whole (labelloop.store.store): opening a database, and zoned times everywhere.

Each module has its own mirrored file (labelloop/store/x.py in test_x.py): test_items,
test_labels, test_snapshots, test_rounds, test_projects, test_queue, test_database, ...
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from labelloop.store import (
    Items,
    Labels,
    Projects,
    Rounds,
    SchemaOutOfDateError,
    Snapshots,
    Store,
    sqlite_url,
)


def test_store_refuses_a_database_without_schema(tmp_path: Path) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    with pytest.raises(SchemaOutOfDateError, match="labelloop init"):
        Store(sqlite_url(tmp_path / "empty.db"))


def test_event_times_carry_their_zone(store: Store, project_id: int, item_ids: list[int]) -> None:
    event = store.record_label(project_id, item_ids[0], "cat")
    stored = store.history(project_id, item_ids[0])[0]
    assert event.created_at.utcoffset() is not None
    assert stored.created_at.utcoffset() is not None
    assert store.create_snapshot(project_id).created_at.utcoffset() is not None


@pytest.mark.parametrize("part", [Projects, Items, Labels, Snapshots, Rounds])
def test_the_store_answers_every_public_method_of_its_parts(part: type) -> None:
    public = [name for name, value in vars(part).items() if callable(value) and name[0] != "_"]
    assert public
    assert all(getattr(Store, name) is getattr(part, name) for name in public)
