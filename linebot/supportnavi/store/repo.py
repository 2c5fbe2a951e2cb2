"""The queries the conversation service makes, one function each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import as_utc
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



# --- many events in one transaction (the conversation service's group commit) ------------
# Core statements on the tables, a few per transaction whatever the number of events in it:
# the ORM's unit of work, identity map and one round trip per row cost more than the
# engine itself did per event.


USERS = cast(Table, User.__table__)
STATES = cast(Table, ConversationState.__table__)
PROCESSED = cast(Table, ProcessedEvent.__table__)
OUTBOX = cast(Table, Outbox.__table__)


@dataclass
class UserRow:
    """What handling an event needs of a person's row; `new`: made by this transaction."""

    id: str
    status: str
    push_start_hour: int | None
    push_end_hour: int | None
    new: bool


@dataclass
class StateRow:
    route: str | None
    node: str | None
    data: dict[str, Any]
    version: int


async def claim_events(
    session: AsyncSession, events: Sequence[tuple[str, str | None, str]], now: datetime,
) -> set[str]:
    """Record (event id, user, type) as processed; return the ids that were not already.
    Sorted, so that two transactions that share ids wait for each other in one order."""
    rows = {event_id: (user_id, etype) for event_id, user_id, etype in events}
    if not rows:
        return set()
    table = PROCESSED
    statement = _insert(session)(table).values([
        {"webhook_event_id": event_id, "user_id": user_id, "event_type": etype,
         "processed_at": now}
        for event_id, (user_id, etype) in sorted(rows.items())
    ]).on_conflict_do_nothing(index_elements=["webhook_event_id"]).returning(
        table.c.webhook_event_id)
    return {row[0] for row in await session.execute(statement)}


async def lock_users(session: AsyncSession, user_ids: Sequence[str], now: datetime,
                     ) -> dict[str, UserRow]:
    """Create the rows of new people, mark everyone seen now, and hold every row locked until
    the transaction ends (as `lock_user` does for one). Locked in id order, so that two
    transactions with people in common cannot deadlock."""
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    table = USERS
    values = [{"id": i, "status": "active", "first_seen": now, "last_seen": now} for i in ids]
    columns = (table.c.id, table.c.status, table.c.push_start_hour, table.c.push_end_hour)
    if session.get_bind().dialect.name == "postgresql":
        # ON CONFLICT DO UPDATE locks each row as it goes, in the order given; xmax is 0 only
        # in a row this statement inserted
        upsert = pg_insert(table).values(values)
        locked = upsert.on_conflict_do_update(
            index_elements=["id"], set_={"last_seen": upsert.excluded.last_seen},
        ).returning(*columns, literal_column("xmax = 0"))
        return {row[0]: _user(row, bool(row[4])) for row in await session.execute(locked)}
    # SQLite: BEGIN IMMEDIATE already holds the write lock on the whole database
    inserted = sqlite_insert(table).values(values).on_conflict_do_nothing(
        index_elements=["id"]).returning(table.c.id)
    new = {row[0] for row in await session.execute(inserted)}
    rows = await session.execute(
        update(table).where(table.c.id.in_(ids)).values(last_seen=now).returning(*columns))
    return {row[0]: _user(row, row[0] in new) for row in rows}


def _user(row: Any, new: bool) -> UserRow:
    return UserRow(row[0], row[1], row[2], row[3], new)


async def set_user_status(session: AsyncSession, user_id: str, status: str,
                          blocked_at: datetime | None) -> None:
    await session.execute(update(USERS).where(USERS.c.id == user_id)
                          .values(status=status, blocked_at=blocked_at))


async def set_push_window(session: AsyncSession, user_id: str, start: int, end: int) -> None:
    await session.execute(update(USERS).where(USERS.c.id == user_id)
                          .values(push_start_hour=start, push_end_hour=end))


async def load_states(session: AsyncSession, user_ids: Sequence[str]) -> dict[str, StateRow]:
    table = STATES
    ids = sorted(set(user_ids))
    if not ids:
        return {}
    rows = await session.execute(
        select(table.c.user_id, table.c.route, table.c.node, table.c.data, table.c.version)
        .where(table.c.user_id.in_(ids)))
    return {row[0]: StateRow(row[1], row[2], row[3] or {}, row[4]) for row in rows}


async def save_states(session: AsyncSession, states: dict[str, tuple[StateRow, int]],
                      now: datetime) -> None:
    """Each person's last state, its version counted up once per event that saved it (as the
    ORM's version counter did, one save at a time)."""
    if not states:
        return
    table = STATES
    statement = _insert(session)(table)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id"],
        set_={"route": statement.excluded.route, "node": statement.excluded.node,
              "data": statement.excluded.data, "updated_at": statement.excluded.updated_at,
              "version": table.c.version + statement.excluded.version},
    )
    await session.execute(statement, [
        {"user_id": user_id, "route": row.route, "node": row.node, "data": row.data,
         "version": saves, "updated_at": now}
        for user_id, (row, saves) in sorted(states.items())
    ])


async def add_rows(session: AsyncSession, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """Many new rows of one table in one executemany."""
    if rows:
        await session.execute(insert(cast(Table, model.__table__)), rows)


async def finish_outboxes(
    session: AsyncSession, results: Sequence[tuple[str, bool, str | None]], now: datetime,
) -> None:
    """`finish_outbox` for many (outbox id, ok, error) at once."""
    table = OUTBOX
    for ok in (True, False):
        chosen = [(i, e) for i, k, e in results if k is ok]
        if not chosen:
            continue
        values: dict[str, Any] = {"attempts": table.c.attempts + 1}
        if ok:
            values.update(status="sent", sent_at=now, error=None)
        else:
            values.update(status="failed", error=bindparam("b_error"))
        await session.execute(
            update(table).where(table.c.id == bindparam("b_id")).values(**values),
            [{"b_id": i, "b_error": (e or "")[:255]} for i, e in chosen],
        )


def _insert(session: AsyncSession) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
