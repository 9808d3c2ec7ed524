"""Tasks and annotations of outside labeling tools (Label Studio) linked to items and events.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "external_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("external_project", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id", "system", "external_project", "task_id", name="uq_external_tasks"
        ),
    )
    op.create_index("ix_external_tasks_item_id", "external_tasks", ["item_id"])
    op.create_table(
        "external_annotations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("external_project", sa.String(length=64), nullable=False),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["items.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["label_events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id",
            "system",
            "external_project",
            "annotation_id",
            name="uq_external_annotations",
        ),
    )
    op.create_index("ix_external_annotations_item_id", "external_annotations", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_external_annotations_item_id", table_name="external_annotations")
    op.drop_table("external_annotations")
    op.drop_index("ix_external_tasks_item_id", table_name="external_tasks")
    op.drop_table("external_tasks")
