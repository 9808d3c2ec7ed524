"""Indexes for serving at scale: labeled items per project, skipped leases per user.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.create_index(
            "ix_items_project_labeled", ["project_id", "labeled", "head_event_id"], unique=False
        )
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.create_index(
            "ix_leases_skipped",
            ["item_id", "user_id"],
            unique=False,
            sqlite_where=sa.text("outcome = 'skipped'"),
            postgresql_where=sa.text("outcome = 'skipped'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("leases", schema=None) as batch_op:
        batch_op.drop_index("ix_leases_skipped")
    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_index("ix_items_project_labeled")
