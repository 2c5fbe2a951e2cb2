"""a small key-value table for facts about the database itself (which mode of the bot has used
it), and an index to prune processed event ids by age

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_events_at", "processed_events", ["processed_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_events_at", table_name="processed_events")
    op.drop_table("meta")
