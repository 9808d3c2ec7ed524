"""Alembic migrations build exactly the schema the ORM declares, and carry data forward."""

from __future__ import annotations

import json
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from labelloop.store import Store, make_engine, migrate, sqlite_url
from labelloop.store.database import _alembic_config
from labelloop.store.schema import Base

HEAD = ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_migrations_match_the_declared_schema(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.db"))
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        tables = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {"projects", "items", "label_events", "snapshots", "rounds", "leases"} <= tables


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "m.db"))
    migrate(engine)
    migrate(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == HEAD
    engine.dispose()


def test_upgrade_from_first_schema_derives_label_heads(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "old.db")
    engine = make_engine(url)
    migrate(engine, "0001")
    config = json.dumps({"task": "classification", "classes": ["a", "b"]})
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO projects (id, name, config, created_at) "
                "VALUES (1, 'p', :c, '2026-01-01 00:00:00')"
            ),
            {"c": config},
        )
        for item in (1, 2, 3):
            conn.execute(
                text(
                    "INSERT INTO items (id, project_id, sha256, name, uri, width, height, mode,"
                    " format, size_bytes, created_at) VALUES (:i, 1, :s, 'n', 'u', 8, 8, 'L',"
                    " 'PNG', 1, '2026-01-01 00:00:00')"
                ),
                {"i": item, "s": f"{item:064x}"},
            )
        events = [
            (1, 1, 1, '"a"', None),
            (2, 1, 2, '"b"', 1),
            (3, 2, 1, '"a"', None),
            (4, 2, 2, "null", 3),
        ]
        for eid, item, seq, value, sup in events:
            conn.execute(
                text(
                    "INSERT INTO label_events (id, project_id, item_id, seq, value, source,"
                    " action, supersedes_id, created_at) VALUES (:e, 1, :i, :q, :v, 'human',"
                    " 'label', :s, '2026-01-01 00:00:00')"
                ),
                {"e": eid, "i": item, "q": seq, "v": value, "s": sup},
            )
    engine.dispose()
    store = Store(url, create=True)
    labels = store.current_labels(1)
    assert {item: e.value for item, e in labels.items()} == {1: "b"}
    assert store.record_label(1, 3, "a").seq == 1
    assert store.record_label(1, 2, "b").supersedes_id == 4
    store.close()
