"""Users, credentials, leases, training runs; label heads cached on items.

Create Date: 2026-11-23 23:56:56.387959
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import (
    create_indexes,
    drop_indexes,
    key_columns,
    references,
    timestamp,
    where,
)

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "users",
        *key_columns(project=False),
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        timestamp("created_at"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "credentials",
        *key_columns(project=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("csrf_token", sa.String(length=64), nullable=True),
        timestamp("created_at"),
        timestamp("expires_at", nullable=True),
        timestamp("revoked_at", nullable=True),
        *references(user_id="users.id"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("secret_hash"),
    )
    create_indexes("credentials", ("ix_credentials_user_id", ["user_id"]))
    op.create_table(
        "leases",
        *key_columns(),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("head_event_id", sa.Integer(), nullable=True),
        timestamp("created_at"),
        timestamp("expires_at"),
        timestamp("closed_at", nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        *references(item_id="items.id", project_id="projects.id", user_id="users.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_indexes(
        "leases", ("uq_leases_open_item", ["item_id"]), unique=True, **where("closed_at IS NULL")
    )
    create_indexes("leases", ("ix_leases_user", ["project_id", "user_id", "outcome"]))
    op.create_table(
        "training_runs",
        *key_columns(),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("round_id", sa.Integer(), nullable=True),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=True),
        timestamp("started_at"),
        timestamp("finished_at", nullable=True),
        *references(project_id="projects.id", round_id="rounds.id"),
        sa.PrimaryKeyConstraint("id"),
    )
    create_indexes("training_runs", ("ix_training_runs_project_id", ["project_id"]))

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_event_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("labeled", sa.Boolean(), nullable=False, server_default=sa.false())
        )

    with op.batch_alter_table("label_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lease_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_label_events_lease", "leases", ["lease_id"], ["id"])
        batch_op.create_foreign_key("fk_label_events_user", "users", ["user_id"], ["id"])

    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("predicted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch_op.create_index("ix_queue_entries_round_rank", ["round_id", "rank"], unique=False)

    # Fill the cached label head of every item from its event chain.
    op.execute(
        """
        UPDATE items SET head_event_id = (
            SELECT e.id FROM label_events e WHERE e.item_id = items.id
            ORDER BY e.seq DESC LIMIT 1
        )
        """
    )
    op.execute(
        """
        UPDATE items SET labeled = EXISTS (
            SELECT 1 FROM label_events e WHERE e.id = items.head_event_id
            AND e.value IS NOT NULL AND CAST(e.value AS TEXT) != 'null'
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_queue_entries_round_rank")
        batch_op.drop_column("confidence")
        batch_op.drop_column("predicted")

    with op.batch_alter_table("label_events", schema=None) as batch_op:
        batch_op.drop_constraint("fk_label_events_lease", type_="foreignkey")
        batch_op.drop_constraint("fk_label_events_user", type_="foreignkey")
        batch_op.drop_column("lease_id")
        batch_op.drop_column("user_id")

    with op.batch_alter_table("items", schema=None) as batch_op:
        batch_op.drop_column("labeled")
        batch_op.drop_column("head_event_id")

    drop_indexes("training_runs", "ix_training_runs_project_id")
    op.drop_table("training_runs")
    drop_indexes("leases", "ix_leases_user", "uq_leases_open_item")
    op.drop_table("leases")
    drop_indexes("credentials", "ix_credentials_user_id")
    op.drop_table("credentials")
    op.drop_table("users")
