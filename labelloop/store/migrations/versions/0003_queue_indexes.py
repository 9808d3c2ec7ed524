"""Indexes for serving at scale: labeled items per project, skipped leases per user.

Create Date: 2026-11-24 01:20:00
"""

from labelloop.store.migrations.columns import create_indexes, drop_indexes, where

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    create_indexes(
        "items", ("ix_items_project_labeled", ["project_id", "labeled", "head_event_id"])
    )
    create_indexes(
        "leases", ("ix_leases_skipped", ["item_id", "user_id"]), **where("outcome = 'skipped'")
    )


def downgrade() -> None:
    drop_indexes("leases", "ix_leases_skipped")
    drop_indexes("items", "ix_items_project_labeled")
