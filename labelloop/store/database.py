"""Engines, sessions and schema migrations.

SQLite is the embedded default: WAL journal so readers never block the
writer, foreign keys on, and a busy timeout so a second process waits for the
lock instead of failing at once. Any other SQLAlchemy URL (PostgreSQL) uses the
same schema through the same Alembic migrations.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from labelloop.errors import LabelloopError

__all__ = [
    "DatabaseUnavailableError",
    "SchemaOutOfDateError",
    "StorePart",
    "Transactions",
    "make_engine",
    "migrate",
    "normalize_url",
    "session_scope",
    "sqlite_url",
]

_MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDateError(LabelloopError, RuntimeError):
    """The database schema is older than this version of labelloop expects."""


class DatabaseUnavailableError(LabelloopError, RuntimeError):
    """The database cannot be reached or its driver is not installed; the message says which."""


def normalize_url(url: str) -> str:
    """A database URL as SQLAlchemy takes it: ``postgres://`` and ``postgresql://`` (the
    spellings libpq and hosting services use) become ``postgresql+psycopg://``.

    Raises:
        DatabaseUnavailableError: a PostgreSQL URL and the psycopg driver is not installed.
    """
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith("postgresql+psycopg"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            raise DatabaseUnavailableError(
                "PostgreSQL needs the psycopg driver: pip install 'labelloop[postgres]'"
            ) from None
    return url


def sqlite_url(path: Path) -> str:
    """The SQLAlchemy URL of a SQLite file at ``path``."""
    return f"sqlite:///{path.resolve()}"


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event emit BEGIN instead of pysqlite's own
    # transaction handling, which never begins one for a SELECT.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a killed process; only power loss can drop
    # the last commits, and even then the file stays consistent.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str, *, writer: bool = True) -> Engine:
    """Create an engine for ``url`` with labelloop's connection settings.

    Args:
        url: a SQLAlchemy database URL, e.g. ``sqlite:///project/labelloop.db``
            or ``postgresql+psycopg://user@host/db``.
        writer: on SQLite, start every transaction with ``BEGIN IMMEDIATE`` so
            a read-then-write transaction holds the write lock from its first
            read and cannot fail half-way; readers pass False and never block.

    Returns:
        The engine. Nothing is created in the database yet; call :func:`migrate`.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _on_sqlite_connect)
        begin = "BEGIN IMMEDIATE" if writer else "BEGIN"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(begin))
        return engine
    return create_engine(url, pool_pre_ping=True)


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` with the bundled Alembic migrations."""
    config = _alembic_config()
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    # SQLite alters a table by copying it, which foreign-key enforcement
    # forbids; migrate with enforcement off, then check nothing dangles.
    plain = create_engine(engine.url, poolclass=NullPool)
    try:
        with plain.connect() as connection:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            connection.commit()
            with connection.begin():
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise SchemaOutOfDateError(f"migration left dangling references: {broken[:5]}")
    finally:
        plain.dispose()


def check_schema(engine: Engine) -> None:
    """Raise :class:`SchemaOutOfDateError` unless the schema is at the latest revision."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            raise SchemaOutOfDateError(
                "the database has no labelloop schema; run `labelloop init` for a new project"
            )
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        raise SchemaOutOfDateError(
            f"the database schema is at revision {current}, this labelloop needs {head}; "
            "run `labelloop migrate PROJECT_DIR`"
        )


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with factory() as session, session.begin():
        yield session


class Transactions:
    """Write and read transactions on one database.

    On SQLite, writers of this process also queue on a lock: waiting in
    SQLite's own busy loop (sleep and retry) makes the slowest request many
    times slower than the typical one, while a waiter on the lock is woken as
    soon as it is free. The lock is not first-come first-served: a writer
    that takes it again at once can starve the others, so long jobs write in
    chunks and pause between them (``Rounds.add_round``). Readers never wait
    for writers (WAL).

    Args:
        url: SQLAlchemy database URL.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        sqlite = url.startswith("sqlite")
        self.reader_engine = make_engine(url, writer=False) if sqlite else self.engine
        self._writer = sessionmaker(self.engine, expire_on_commit=False)
        self._reader = sessionmaker(self.reader_engine, expire_on_commit=False)
        self._lock: AbstractContextManager[object] = threading.Lock() if sqlite else nullcontext()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that may write; it holds the write lock from its first statement."""
        with self._lock, session_scope(self._writer) as session:
            session.connection()  # begin now, so the clock read inside is after the lock
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: a consistent view that never blocks writers."""
        with session_scope(self._reader) as session:
            yield session

    def refresh_statistics(self, *tables: str) -> None:
        """Have PostgreSQL's planner re-read the sizes of ``tables`` after a bulk write.

        Autovacuum does it within a minute or so; until then a planner that
        believes a new 20,000-row ranking holds 73 rows joins and sorts the
        whole pool for every next item (42 ms, against under 1 ms with fresh
        statistics). SQLite plans well without them: nothing to do there.
        """
        if self.engine.dialect.name != "postgresql":
            return
        with session_scope(self._writer) as session:
            for table in tables:
                session.execute(text(f"ANALYZE {table}"))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
        if self.reader_engine is not self.engine:
            self.reader_engine.dispose()


class StorePart:
    """One concept of the store: its methods run their transactions on ``db``.

    Args:
        db: the store's session factories, shared by every part.
    """

    def __init__(self, db: Transactions) -> None:
        self._db = db
