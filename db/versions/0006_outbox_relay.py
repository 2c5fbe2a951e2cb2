"""the outbox relay's lease and backoff, and whether a reply may have gone unheard

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # when the relay may next touch a pending row: a relay's claim while it sends, then the
    # backoff after LINE's trouble; NULL: no relay has touched it (the webhook's own try)
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        # a reply with the row's token may have reached LINE unheard: rows already there may
        # have had their reply tried, so true
        batch.add_column(sa.Column("reply_maybe_sent", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("reply_maybe_sent")
        batch.drop_column("next_attempt_at")
