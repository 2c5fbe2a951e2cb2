"""The queries the conversation service makes, one function each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.models import (
    ConversationState,
    Outbox,
    ProcessedEvent,
    Reminder,
    StepRecord,
    User,
)


async def lock_user(session: AsyncSession, user_id: str, now: datetime) -> User:
    """Create the user's row if new, then hold it locked until the transaction ends.

    Every event of one user takes this lock first, so that they are handled one at a time
    across processes and machines: FOR UPDATE on PostgreSQL; on SQLite the transaction's
    BEGIN IMMEDIATE already holds the database's write lock.
    """
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(User)
        .values(id=user_id, status="active", first_seen=now, last_seen=now)
        .on_conflict_do_nothing(index_elements=[User.id])
    )
    user = (
        await session.execute(
            select(User).where(User.id == user_id).with_for_update().execution_options(
                populate_existing=True
            )
        )
    ).scalar_one()
    return user


async def already_processed(session: AsyncSession, event_id: str) -> bool:
    found = await session.get(ProcessedEvent, event_id, populate_existing=True)
    return found is not None


def mark_processed(
    session: AsyncSession, event_id: str, user_id: str | None, event_type: str, now: datetime
) -> None:
    session.add(
        ProcessedEvent(
            webhook_event_id=event_id, user_id=user_id, event_type=event_type, processed_at=now
        )
    )


async def load_state(session: AsyncSession, user_id: str) -> ConversationState | None:
    return await session.get(ConversationState, user_id, populate_existing=True)


def add_steps(session: AsyncSession, rows: list[StepRecord]) -> None:
    session.add_all(rows)


def add_outbox(session: AsyncSession, row: Outbox) -> None:
    session.add(row)


async def finish_outbox(
    session: AsyncSession, outbox_id: str, *, ok: bool, error: str | None, now: datetime
) -> None:
    values: dict[str, Any] = {"attempts": Outbox.attempts + 1}
    if ok:
        values.update(status="sent", sent_at=now, error=None)
    else:
        values.update(status="failed", error=(error or "")[:255])
    await session.execute(update(Outbox).where(Outbox.id == outbox_id).values(**values))


def add_reminders(
    session: AsyncSession, user_id: str, kind: str, given: date, deadline: date,
    pushes: Sequence[datetime], now: datetime,
) -> list[Reminder]:
    """One row per push, each with its retry key fixed now, before any try."""
    rows = [
        Reminder(
            id=str(uuid.uuid4()), user_id=user_id, kind=kind, given=given, deadline=deadline,
            due_at=at, next_attempt_at=at, status="pending", retry_key=str(uuid.uuid4()),
            attempts=0, created_at=now,
        )
        for at in pushes
    ]
    session.add_all(rows)
    return rows


async def skip_pending_reminders(session: AsyncSession, user_id: str) -> None:
    """The person blocked the bot: nothing more is pushed, and the rows stay, as skipped."""
    await session.execute(
        update(Reminder)
        .where(Reminder.user_id == user_id, Reminder.status == "pending")
        .values(status="skipped", error="the person blocked the bot")
    )
