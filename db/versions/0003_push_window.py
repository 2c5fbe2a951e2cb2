"""a person's push window

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 09:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL means the default window (9:00-21:00); hours in SUPPORTNAVI_TZ, end exclusive
    op.add_column("users", sa.Column("push_start_hour", sa.Integer(), nullable=True))
    op.add_column("users", sa.Column("push_end_hour", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "push_end_hour")
    op.drop_column("users", "push_start_hour")
