"""The monitor's records: reports, item flags, numeric metadata with originals;
queue entries indexed by item.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_queue_entries_item", "queue_entries", ["item_id"])
    op.create_table(
        "monitor_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("alert", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["round_id"], ["rounds.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_monitor_reports_project_kind", "monitor_reports", ["project_id", "kind", "id"]
    )
    op.create_table(
        "item_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["monitor_reports.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_item_flags_open",
        "item_flags",
        ["item_id", "kind"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index("ix_item_flags_project_kind", "item_flags", ["project_id", "kind"])
    op.create_table(
        "metadata_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("column", sa.String(length=200), nullable=False),
        sa.Column("original", sa.Float(), nullable=True),
        sa.Column("cleaned", sa.Float(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("report_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["report_id"], ["monitor_reports.id"]),
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
