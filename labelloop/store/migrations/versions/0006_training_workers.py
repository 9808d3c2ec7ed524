"""Training runs taken by worker processes: who holds a run, and when it last said so.

Create Date: 2026-12-07 01:40:00
"""

import sqlalchemy as sa
from alembic import op

from labelloop.store.migrations.columns import timestamp

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        batch.add_column(timestamp("heartbeat_at", nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("training_runs") as batch:
        batch.drop_column("heartbeat_at")
        batch.drop_column("worker")
