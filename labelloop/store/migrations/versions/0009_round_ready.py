"""Rounds written a chunk at a time: a round is read only once its ranking is complete.

Create Date: 2026-12-07 07:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("ready", sa.Boolean(), nullable=False, server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_column("ready")
