"""Recorded changes of project settings: who, when, old and new value.

Create Date: 2026-12-06 13:30:00
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import key_columns, references, timestamp

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "config_changes",
        *key_columns(),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("old", sa.JSON(), nullable=False),
        sa.Column("new", sa.JSON(), nullable=False),
        sa.Column("who", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        timestamp("created_at"),
        *references(project_id="projects.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_config_changes_project", "config_changes", ["project_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_config_changes_project", table_name="config_changes")
    op.drop_table("config_changes")
