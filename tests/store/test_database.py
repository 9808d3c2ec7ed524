"""Engines, transactions and migrations of labelloop.store.database."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from labelloop.store import Store
from labelloop.store.database import (
    DatabaseUnavailableError,
    SchemaOutOfDateError,
    Transactions,
    check_schema,
    make_engine,
    migrate,
    normalize_url,
    session_scope,
    sqlite_url,
)
from labelloop.store.schema import ProjectRow
from tests import postgres

CONFIG = {"task": "classification", "classes": ["a", "b"]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalize_url_spells_postgres_urls_the_sqlalchemy_way(given: str, expected: str) -> None:
    pytest.importorskip("psycopg")
    assert normalize_url(given) == expected


def test_a_postgres_url_without_its_driver_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # makes `import psycopg` fail
    with pytest.raises(DatabaseUnavailableError, match=r"pip install 'labelloop\[postgres\]'"):
        normalize_url("postgres://u@h/db")
    assert normalize_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_sqlite_url_names_the_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert sqlite_url(Path("sub/l.db")) == f"sqlite:///{tmp_path.resolve()}/sub/l.db"


def _try_write_lock(path: Path) -> bool:
    """Whether another connection can take SQLite's write lock at once."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError as exc:
        assert "locked" in str(exc)
        return False
    finally:
        other.close()


@pytest.mark.parametrize("writer", [True, False])
def test_a_writer_holds_the_sqlite_write_lock_from_its_first_read(
    tmp_path: Path, writer: bool
) -> None:
    path = tmp_path / "l.db"
    engine = make_engine(sqlite_url(path), writer=writer)
    try:
        with engine.begin() as conn:
            conn.execute(text("SELECT 1"))
            assert _try_write_lock(path) is not writer
        assert _try_write_lock(path)
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    store = Store(sqlite_url(tmp_path / "wal.db"), create=True)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    store.close()


def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "fk.db"))
    migrate(engine)
    try:
        with pytest.raises(IntegrityError, match="FOREIGN KEY"), engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO config_changes (project_id, key, old, new, who, note, created_at)"
                    " VALUES (42, 'k', '{}', '{}', 'me', '', '2026-01-01')"
                )
            )
    finally:
        engine.dispose()


def test_check_schema_names_the_command_that_brings_an_old_schema_up(tmp_path: Path) -> None:
    engine = make_engine(sqlite_url(tmp_path / "old.db"))
    try:
        migrate(engine, "0008")
        with pytest.raises(SchemaOutOfDateError, match=r"at revision 0008.*labelloop migrate"):
            check_schema(engine)
        migrate(engine)
        check_schema(engine)
    finally:
        engine.dispose()


def test_sqlite_migration_refuses_to_leave_dangling_references(tmp_path: Path) -> None:
    path = tmp_path / "dangling.db"
    engine = make_engine(sqlite_url(path))
    try:
        migrate(engine, "0001")
        raw = sqlite3.connect(path)  # foreign keys are off on a plain connection
        raw.execute(
            "INSERT INTO items (id, project_id, sha256, name, uri, width, height, mode, format,"
            " size_bytes, created_at) VALUES (1, 99, 'x', 'n', 'u', 8, 8, 'L', 'PNG', 1,"
            " '2026-01-01')"
        )
        raw.commit()
        raw.close()
        with pytest.raises(SchemaOutOfDateError, match="dangling references"):
            migrate(engine)
    finally:
        engine.dispose()


@pytest.fixture
def db(tmp_path: Path) -> Transactions:
    url = sqlite_url(tmp_path / "t.db")
    Store(url, create=True).close()
    return Transactions(url)


def _names(db: Transactions) -> list[str]:
    with db.read() as s:
        return [row.name for row in s.query(ProjectRow).order_by(ProjectRow.id)]


def test_a_write_commits_and_a_failed_one_leaves_nothing(db: Transactions) -> None:
    with db.write() as s:
        s.add(ProjectRow(name="kept", config=CONFIG))
    with pytest.raises(RuntimeError, match="boom"), db.write() as s:
        s.add(ProjectRow(name="dropped", config=CONFIG))
        s.flush()
        raise RuntimeError("boom")
    assert _names(db) == ["kept"]
    db.dispose()


def test_a_read_does_not_wait_for_an_open_write(db: Transactions) -> None:
    with db.write() as s:
        s.add(ProjectRow(name="pending", config=CONFIG))
        s.flush()
        assert _names(db) == []  # the reader sees the last commit, at once
    assert _names(db) == ["pending"]
    db.dispose()


def test_session_scope_rolls_back_on_error(db: Transactions) -> None:
    factory = sessionmaker(db.engine)
    with pytest.raises(ValueError), session_scope(factory) as s:
        s.add(ProjectRow(name="dropped", config=CONFIG))
        s.flush()
        raise ValueError
    with session_scope(factory) as s:
        s.add(ProjectRow(name="kept", config=CONFIG))
    assert _names(db) == ["kept"]
    db.dispose()


def test_refresh_statistics_analyzes_postgres_tables(postgres_url_template: str) -> None:
    url = postgres.create_database(postgres_url_template, "refresh_statistics")
    Store(url, create=True).close()
    db = Transactions(url)
    query = text("SELECT last_analyze FROM pg_stat_user_tables WHERE relname = 'items'")
    try:
        with db.read() as s:
            before = s.scalar(query)
        db.refresh_statistics("items")
        with db.read() as s:
            after = s.scalar(query)
        assert after is not None and after != before
    finally:
        db.dispose()
