"""the operators' inbox of texts the bot could not place (issue 18): redacted, grouped, with
no user id

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "unmatched",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("text", sa.String(400), nullable=False),
        sa.Column("route", sa.String(64), nullable=True),
        sa.Column("node", sa.String(64), nullable=True),
        sa.Column("guesses", sa.JSON, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("accepted_route", sa.String(64), nullable=True),
        sa.Column("accepted_node", sa.String(64), nullable=True),
    )
    op.create_index("ix_unmatched_last_seen", "unmatched", ["last_seen"])


def downgrade() -> None:
    op.drop_index("ix_unmatched_last_seen", table_name="unmatched")
    op.drop_table("unmatched")
