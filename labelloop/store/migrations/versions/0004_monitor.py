"""The monitor's records: reports, item flags, numeric metadata with originals;
queue entries indexed by item.

Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import key_columns, references, timestamp, where

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_index("ix_queue_entries_item", "queue_entries", ["item_id"])
    op.create_table(
        "monitor_reports",
        *key_columns(),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        timestamp("created_at"),
        *references(project_id="projects.id", round_id="rounds.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_monitor_reports_project_kind", "monitor_reports", ["project_id", "kind", "id"]
    )
    op.create_table(
        "item_flags",
        *key_columns(),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        timestamp("created_at"),
        timestamp("resolved_at", nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        *references(item_id="items.id", project_id="projects.id", report_id="monitor_reports.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_item_flags_open",
        "item_flags",
        ["item_id", "kind"],
        unique=True,
        **where("resolved_at IS NULL"),
    )
    op.create_index("ix_item_flags_project_kind", "item_flags", ["project_id", "kind"])
    op.create_table(
        "metadata_values",
        *key_columns(),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("original", sa.Float(), nullable=True),
        sa.Column("cleaned", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        *references(item_id="items.id", project_id="projects.id", report_id="monitor_reports.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "column", name="uq_metadata_values_item_column"),
    )
    op.create_index(
        "ix_metadata_values_project_id", "metadata_values", ["project_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_metadata_values_project_id", table_name="metadata_values")
    op.drop_table("metadata_values")
    op.drop_index("ix_item_flags_project_kind", table_name="item_flags")
    op.drop_index("uq_item_flags_open", table_name="item_flags")
    op.drop_table("item_flags")
    op.drop_index("ix_monitor_reports_project_kind", table_name="monitor_reports")
    op.drop_table("monitor_reports")
    op.drop_index("ix_queue_entries_item", table_name="queue_entries")
