"""Column, key and index pieces the migrations in ``versions/`` share.

A migration must build the same schema for as long as it exists, so each
helper here is frozen once a revision uses it: change what it emits and old
revisions change with it. Add a new helper rather than alter one.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


def key_columns(*, project: bool = True) -> list[sa.Column[Any]]:
    """The integer primary key ``id`` and, when ``project``, the owning ``project_id``."""
    columns: list[sa.Column[Any]] = [sa.Column("id", sa.Integer(), nullable=False)]
    if project:
        columns.append(sa.Column("project_id", sa.Integer(), nullable=False))
    return columns


def timestamp(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """A timezone-aware ``DateTime`` column, such as ``created_at``."""
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def references(**targets: str) -> list[sa.ForeignKeyConstraint]:
    """One foreign key per ``column="table.column"``, in the order given."""
    return [sa.ForeignKeyConstraint([column], [target]) for column, target in targets.items()]


def where(condition: str) -> dict[str, Any]:
    """Keyword arguments that make an index partial on both SQLite and PostgreSQL."""
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def create_indexes(
    table: str, *indexes: tuple[str, list[str]], unique: bool = False, **options: Any
) -> None:
    """Create each ``(name, columns)`` index on ``table`` in one batch, all with ``options``."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name, columns in indexes:
            batch_op.create_index(name, columns, unique=unique, **options)


def drop_indexes(table: str, *names: str) -> None:
    """Drop the named indexes of ``table`` in a batch, in the order given."""
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in names:
            batch_op.drop_index(name)
