"""incidents: failure counts per hour for the operator dashboard; step_history by time

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # counts only: no user id, no text, no token ever goes in here
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=80), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        # one row per hour, place and code: a failure adds 1 to it (an upsert)
        sa.UniqueConstraint("hour", "place", "code", name="uq_incidents_hour"),
    )
    # the dashboard's funnels read the last weeks of the step history, not all of it
    op.create_index("ix_step_history_at", "step_history", ["at"])


def downgrade() -> None:
    op.drop_index("ix_step_history_at", table_name="step_history")
    op.drop_table("incidents")
