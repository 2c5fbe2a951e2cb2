"""when LINE sent the event an outbox row answers: its reply token's minute runs from then

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 11:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the webhook event's own timestamp; NULL for rows made before it was kept (the relay then
    # counts from created_at, as it did)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("event_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("event_at")
