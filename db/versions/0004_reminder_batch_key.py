"""a reminder's multicast batch key

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the X-Line-Retry-Key of the multicast a row goes out in, fixed before the first try;
    # NULL: the row is pushed alone with its own retry_key
    op.add_column("reminders", sa.Column("batch_key", sa.String(length=36), nullable=True))
    op.create_index("ix_reminders_batch", "reminders", ["batch_key"])


def downgrade() -> None:
    op.drop_index("ix_reminders_batch", table_name="reminders")
    op.drop_column("reminders", "batch_key")
