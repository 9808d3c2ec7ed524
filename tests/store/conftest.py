"""Fixtures for store tests: a fresh store, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from labelloop.store import NewItem, RankedItem, RoundRecord, Store, sqlite_url
from tests import postgres

CLASSES = ["cat", "dog", "bird"]
_db_names = itertools.count()


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


def record_round(
    store: Store, project_id: int, ranking: list[RankedItem], *, batch_size: int = 2
) -> RoundRecord:
    """Record a round over a fresh snapshot whose ranking is ``ranking``, first served first."""
    return store.add_round(
        project_id,
        snapshot_id=store.create_snapshot(project_id).id,
        model_id=None,
        strategy="margin",
        ranking=ranking,
        batch_size=batch_size,
        metrics={},
    )


@pytest.fixture(scope="session")
def postgres_url_template() -> Iterator[str]:
    if not postgres.available():
        pytest.skip("PostgreSQL server binaries or psycopg are not installed")
    with postgres.postgres_server() as template:
        yield template


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "labelloop.db")
    else:
        template = request.getfixturevalue("postgres_url_template")
        url = postgres.create_database(template, f"t{next(_db_names)}")
    s = Store(url, create=True)
    yield s
    s.close()


@pytest.fixture
def project_id(store: Store) -> int:
    return store.create_project("p", {"task": "classification", "classes": CLASSES}).id


@pytest.fixture
def item_ids(store: Store, project_id: int) -> list[int]:
    result = store.add_items(project_id, [new_item(i) for i in range(5)])
    return [item.id for item in result.added]
