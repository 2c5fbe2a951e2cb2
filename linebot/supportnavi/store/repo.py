"""The queries of the conversation service, the relay and the dispatcher that the group
commit's statements (store/batch.py) do not make: one function each."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import as_utc
from supportnavi.store.models import Outbox, Reminder, User
from supportnavi.store.outbox import OutboxOutcome, params, transition


async def finish_outbox(
    session: AsyncSession, outbox_id: str, outcome: OutboxOutcome, *, error: str | None,
    now: datetime, retry_at: datetime | None = None, by_relay: bool = False,
    drop_token: bool = False, reply_maybe_sent: bool | None = None,
) -> None:
    """Write down how a try went, by the rules of store/outbox.py. `retry`: LINE could not take
    it (5xx, 429, no answer), the row stays pending for the relay, not before `retry_at`.
    `drop_token`: the reply token is spent, so that only a push with the outbox id as its retry
    key may send the row from now on. `reply_maybe_sent`: after a reply, whether one with this
    token may have reached LINE."""
    await session.execute(
        transition(outcome, by_relay=by_relay, drop_token=drop_token),
        params(outbox_id, now=now, error=error, retry_at=retry_at,
               reply_maybe_sent=reply_maybe_sent))


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


async def block(session: AsyncSession, user_id: str, now: datetime) -> None:
    """The person blocked the bot (an unfollow, or LINE refusing a push to them): they are
    marked so, and nothing more is pushed; their reminders stay, as skipped, for a new follow
    to ask about. The one way a person is blocked, for the webhook and the dispatcher alike."""
    await session.execute(
        update(User).where(User.id == user_id).values(status="blocked", blocked_at=now))
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

