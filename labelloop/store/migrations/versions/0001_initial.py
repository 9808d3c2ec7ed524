"""Initial schema: projects, items, label events, snapshots, models, rounds, queue.

Create Date: 2026-11-23 23:31:02.372619
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import (
    create_indexes,
    drop_indexes,
    key_columns,
    references,
    timestamp,
)

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "projects",
        *key_columns(project=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "items",
        *key_columns(),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("split", sa.String(length=8), nullable=True),
        sa.Column("split_class", sa.Text(), nullable=True),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=True),
        timestamp("created_at"),
        *references(project_id="projects.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "sha256", name="uq_items_project_sha256"),
    )
    create_indexes(
        "items",
        ("ix_items_project_id", ["project_id"]),
        ("ix_items_project_split_class", ["project_id", "split_class", "split"]),
    )
    op.create_table(
        "snapshots",
        *key_columns(),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("n_labels", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        timestamp("created_at"),
        *references(project_id="projects.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_indexes("snapshots", ("ix_snapshots_project_id", ["project_id"]))
    op.create_table(
        "label_events",
        *key_columns(),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("annotator", sa.String(length=200), nullable=True),
        sa.Column("model_version", sa.String(length=64), nullable=True),
        sa.Column("confidence", sa.Float(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        timestamp("created_at"),
        *references(item_id="items.id", project_id="projects.id", supersedes_id="label_events.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "seq", name="uq_label_events_item_seq"),
        sa.UniqueConstraint("supersedes_id"),
    )
    create_indexes(
        "label_events", ("ix_label_events_project_item_seq", ["project_id", "item_id", "seq"])
    )
    op.create_table(
        "models",
        *key_columns(),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("learner", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("metrics", sa.JSON(), nullable=False),
        timestamp("created_at"),
        *references(project_id="projects.id", snapshot_id="snapshots.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_indexes("models", ("ix_models_project_id", ["project_id"]))
    op.create_table(
        "rounds",
        *key_columns(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("model_id", sa.Integer(), nullable=True),
        sa.Column("strategy", sa.String(length=64), nullable=False),
        sa.Column("selected", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        timestamp("created_at"),
        *references(model_id="models.id", project_id="projects.id", snapshot_id="snapshots.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("project_id", "number", name="uq_rounds_project_number"),
    )
    op.create_table(
        "snapshot_events",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        *references(event_id="label_events.id", snapshot_id="snapshots.id"),
        sa.PrimaryKeyConstraint("snapshot_id", "event_id"),
    )
    op.create_table(
        "queue_entries",
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        *references(item_id="items.id", project_id="projects.id", round_id="rounds.id"),
        sa.PrimaryKeyConstraint("round_id", "item_id"),
    )
    create_indexes("queue_entries", ("ix_queue_entries_project_id", ["project_id"]))


def downgrade() -> None:
    drop_indexes("queue_entries", "ix_queue_entries_project_id")
    op.drop_table("queue_entries")
    op.drop_table("snapshot_events")
    op.drop_table("rounds")
    drop_indexes("models", "ix_models_project_id")
    op.drop_table("models")
    drop_indexes("label_events", "ix_label_events_project_item_seq")
    op.drop_table("label_events")
    drop_indexes("snapshots", "ix_snapshots_project_id")
    op.drop_table("snapshots")
    drop_indexes("items", "ix_items_project_split_class", "ix_items_project_id")
    op.drop_table("items")
    op.drop_table("projects")
