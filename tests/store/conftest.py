"""Fixtures for store tests: a fresh SQLite store with one project and a few items."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labelloop.store import NewItem, Store, sqlite_url

CLASSES = ["cat", "dog", "bird"]


def new_item(i: int, label: str | None = None) -> NewItem:
    """A made-up item whose content hash is derived from ``i``."""
    return NewItem(
        sha256=f"{i:064x}",
        name=f"img_{i}.png",
        uri=f"img_{i}.png",
        width=8,
        height=8,
        mode="L",
        format="PNG",
        size_bytes=100,
        label=label,
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(sqlite_url(tmp_path / "labelloop.db"), create=True)
    yield s
    s.close()


@pytest.fixture
def project_id(store: Store) -> int:
    return store.create_project("p", {"task": "classification", "classes": CLASSES}).id


@pytest.fixture
def item_ids(store: Store, project_id: int) -> list[int]:
    result = store.add_items(project_id, [new_item(i) for i in range(5)])
    return [item.id for item in result.added]
