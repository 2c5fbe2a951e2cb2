"""the dashboard's rollups (admin/rollups.py): counts of closed periods, so that a summary reads
a few hundred rows whatever the history; backfilled here from the step history

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 17:00:00
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "step_rollups",
        sa.Column("basis", sa.String(96), nullable=False),
        sa.Column("part", sa.String(8), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("route", sa.String(64), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("span", sa.String(8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in (
            "visits", "ended", "gave_up", "in_progress", "steps", "yes", "no", "leaves")),
        sa.PrimaryKeyConstraint("basis", "part", "period_start", "period_end", "route", "node"),
    )
    # the periods written (their marker rows), by start
    op.create_index("ix_step_rollups_marker", "step_rollups", ["basis", "route", "period_start"])
    # the users' chart reads the days people arrived and blocked the bot
    op.create_index("ix_users_first_seen", "users", ["first_seen"])
    op.create_index("ix_users_blocked_at", "users", ["blocked_at"])
    backfill()


def backfill() -> None:
    """Every closed period of the step history, with the zone and scenarios the server is
    configured with (SUPPORTNAVI_TZ, SUPPORTNAVI_SCENARIOS). Running it again skips what is
    there; the housekeeping loop does the same for whatever is missing later."""
    from supportnavi import compose
    from supportnavi.admin.rollups import backfill as fill
    from supportnavi.settings import Settings

    settings = Settings()
    scenarios = compose.scenarios(settings)
    fill(op.get_bind(), scenarios, settings.zone, datetime.now(UTC))


def downgrade() -> None:
    op.drop_index("ix_users_blocked_at", table_name="users")
    op.drop_index("ix_users_first_seen", table_name="users")
    op.drop_index("ix_step_rollups_marker", table_name="step_rollups")
    op.drop_table("step_rollups")
