"""The queries the conversation service makes, one function each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import as_utc
from supportnavi.store.models import (
    CLEARED_MESSAGES,
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


OutboxOutcome = Literal["sent", "retry", "failed"]


async def finish_outbox(
    session: AsyncSession, outbox_id: str, outcome: OutboxOutcome, *, error: str | None,
    now: datetime, retry_at: datetime | None = None, by_relay: bool = False,
    drop_token: bool = False, reply_maybe_sent: bool | None = None,
) -> None:
    """Write down how a try went. `retry`: LINE could not take it (5xx, 429, no answer), the
    row stays pending for the relay, not before `retry_at`. `drop_token`: the reply token is
    spent, so that only a push with the outbox id as its retry key may send the row from now on.
    `reply_maybe_sent`: after a reply, whether one with this token may have reached LINE.

    Only a pending row changes, so a late answer never undoes another try's `sent`. A try that
    is not the relay's (the webhook's own) writes a failure only while no relay has taken the
    row (next_attempt_at is NULL): from then on, the relay owns it."""
    values: dict[str, Any] = {"attempts": Outbox.attempts + 1}
    if outcome == "sent":
        values.update(status="sent", sent_at=now, error=error[:255] if error else None,
                      next_attempt_at=None, messages=CLEARED_MESSAGES)
    elif outcome == "retry":
        values.update(error=(error or "")[:255], next_attempt_at=retry_at)
    else:
        values.update(status="failed", error=(error or "")[:255], next_attempt_at=None,
                      messages=CLEARED_MESSAGES)
    if drop_token:
        values["reply_token"] = None
    if reply_maybe_sent is not None:
        values["reply_maybe_sent"] = reply_maybe_sent
    query = update(Outbox).where(Outbox.id == outbox_id, Outbox.status == "pending")
    if outcome != "sent" and not by_relay:
        query = query.where(Outbox.next_attempt_at.is_(None))
    await session.execute(query.values(**values))


async def switch_outbox_to_push(session: AsyncSession, outbox_id: str) -> bool:
    """LINE refused the reply token on the first try: from now on only a push, with the outbox
    id as its X-Line-Retry-Key, may send this row, and the row says so (no token) before the
    push goes. False: a relay has taken the row (it may have used the token itself)."""
    result = await session.execute(
        update(Outbox)
        .where(Outbox.id == outbox_id, Outbox.status == "pending",
               Outbox.next_attempt_at.is_(None))
        .values(reply_token=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


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


# The error a reminder skipped because its person blocked the bot carries: a later follow
# finds these and asks whether to keep them.
BLOCKED = "the person blocked the bot"
# ...and once that question is answered, or a push's time went by meanwhile, this one.
MISSED = "missed while the person had blocked the bot"


async def skip_pending_reminders(session: AsyncSession, user_id: str) -> None:
    """The person blocked the bot: nothing more is pushed, and the rows stay, as skipped."""
    await session.execute(
        update(Reminder)
        .where(Reminder.user_id == user_id, Reminder.status == "pending")
        .values(status="skipped", error=BLOCKED, claimed_until=None)
    )


async def reminders_of(
    session: AsyncSession, user_id: str, *, skipped: bool = False
) -> list[Reminder]:
    """A person's pending reminder rows, or those skipped while they had blocked the bot."""
    query = select(Reminder).where(Reminder.user_id == user_id)
    if skipped:
        query = query.where(Reminder.status == "skipped", Reminder.error == BLOCKED)
    else:
        query = query.where(Reminder.status == "pending")
    return list((await session.execute(query.order_by(Reminder.due_at))).scalars())


async def cancel_reminders(
    session: AsyncSession, user_id: str, kind: str | None = None, given: date | None = None
) -> None:
    """The person stopped one reminder (all its pushes), or all of them."""
    query = update(Reminder).where(Reminder.user_id == user_id, Reminder.status == "pending")
    if kind is not None:
        query = query.where(Reminder.kind == kind, Reminder.given == given)
    await session.execute(query.values(status="cancelled", claimed_until=None))


def revive_reminders(rows: Sequence[Reminder], now: datetime, *, keep: bool) -> None:
    """Back after blocking, the person chose. Keeping resumes each reminder's pushes still
    ahead; one whose pushes all went by while blocked, but whose deadline has not, gets its
    last push now (the dispatcher still waits for the person's hours). Nothing is asked twice."""
    by_series: dict[tuple[str, date], list[Reminder]] = {}
    for row in rows:
        by_series.setdefault((row.kind, row.given), []).append(row)
    for series in by_series.values():
        ahead = [r for r in series if as_utc(r.due_at) >= now]
        if keep and not ahead:
            ahead = [max(series, key=lambda r: as_utc(r.due_at))]
        for row in series:
            if keep and row in ahead:
                row.status, row.error, row.claimed_until = "pending", None, None
                row.next_attempt_at = max(as_utc(row.due_at), now)
            else:
                row.error = MISSED if keep else "the person chose not to keep it"
                row.status = "skipped" if keep else "cancelled"

