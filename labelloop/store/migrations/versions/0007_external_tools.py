"""Tasks and annotations of outside labeling tools (Label Studio) linked to items and events.

Create Date: 2026-12-07 04:30:00
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import key_columns, references, timestamp

revision = "0007"
down_revision = "0006"

# Which outside project a row belongs to: the tool and its own project id.
_SYSTEM = ("system", "external_project")


def _outside_project() -> list[sa.Column[str]]:
    return [
        sa.Column("system", sa.String(length=32), nullable=False),
        sa.Column("external_project", sa.String(length=64), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "external_tasks",
        *key_columns(),
        *_outside_project(),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        timestamp("created_at"),
        *references(project_id="projects.id", item_id="items.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", *_SYSTEM, "task_id", name="uq_external_tasks"),
    )
    op.create_index("ix_external_tasks_item_id", "external_tasks", ["item_id"])
    op.create_table(
        "external_annotations",
        *key_columns(),
        *_outside_project(),
        sa.Column("annotation_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        timestamp("updated_at"),
        *references(project_id="projects.id", item_id="items.id", event_id="label_events.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "project_id", *_SYSTEM, "annotation_id", name="uq_external_annotations"
        ),
    )
    op.create_index("ix_external_annotations_item_id", "external_annotations", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_external_annotations_item_id", table_name="external_annotations")
    op.drop_table("external_annotations")
    op.drop_index("ix_external_tasks_item_id", table_name="external_tasks")
    op.drop_table("external_tasks")
