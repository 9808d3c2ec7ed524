"""Indexes that let the data browser page through the latest ranking by score or confidence.

Create Date: 2026-12-07 07:10:00
"""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.create_index(
        "ix_queue_entries_round_score", "queue_entries", ["round_id", "score", "item_id"]
    )
    op.create_index(
        "ix_queue_entries_round_confidence",
        "queue_entries",
        ["round_id", "confidence", "item_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_queue_entries_round_confidence", table_name="queue_entries")
    op.drop_index("ix_queue_entries_round_score", table_name="queue_entries")
