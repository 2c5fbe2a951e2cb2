"""The reminder dispatcher: claims due rows, pushes each with its own retry key, records how it
went. Safe to run as several processes on PostgreSQL (`FOR UPDATE SKIP LOCKED` plus a claim
lease), and safe to kill at any moment: a row claimed by a process that died is claimed again
when its lease runs out, and its retry key makes LINE answer 409 if the first try got through.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select, update

from supportnavi.conversation.ports import Sender
from supportnavi.engine import OutText, Scenarios
from supportnavi.reminders.messages import render
from supportnavi.reminders.rules import Window, due_now
from supportnavi.store.db import Database
from supportnavi.store.models import Reminder, User

log = logging.getLogger(__name__)

# LINE keeps a retry key for 24 hours; past that a retry could deliver twice, so we stop.
RETRY_KEY_LIFETIME = timedelta(hours=23)
_BLOCKED = re.compile(r"friend|block|unfollow", re.IGNORECASE)


@dataclass
class Report:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # due in the quiet hours: moved to the next window
    skipped: int = 0  # the person has blocked the bot
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.deferred + self.skipped


@dataclass(frozen=True)
class _Claimed:
    id: str
    user_id: str
    kind: str
    given: date
    deadline: date
    retry_key: str
    attempts: int
    first_attempt_at: datetime | None
    next_attempt_at: datetime
    user_blocked: bool


class Dispatcher:
    def __init__(
        self, db: Database, sender: Sender, scenarios: Scenarios, tz: ZoneInfo, *,
        window: Window | None = None, batch: int = 200, lease: timedelta = timedelta(minutes=2),
    ) -> None:
        self.db = db
        self.sender = sender
        self.scenarios = scenarios
        self.tz = tz
        self.window = window or Window()
        self.batch = batch
        self.lease = lease

    async def run_once(self, now: datetime) -> Report:
        """Push everything due at `now`, batch by batch, until nothing due is left."""
        report = Report()
        while True:
            claimed = await self._claim(now)
            if not claimed:
                return report
            for row in claimed:
                await self._handle(row, now, report)

    async def _claim(self, now: datetime) -> list[_Claimed]:
        async with self.db.transaction() as session:
            query = (
                select(Reminder, User.status)
                .join(User, User.id == Reminder.user_id)
                .where(
                    Reminder.status == "pending",
                    Reminder.next_attempt_at <= now,
                    or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now),
                )
                .order_by(Reminder.next_attempt_at)
                .limit(self.batch)
                .with_for_update(of=Reminder, skip_locked=True)
            )
            rows = (await session.execute(query)).all()
            claimed = []
            for reminder, user_status in rows:
                reminder.claimed_until = now + self.lease
                claimed.append(_Claimed(
                    reminder.id, reminder.user_id, reminder.kind, reminder.given,
                    reminder.deadline, reminder.retry_key, reminder.attempts,
                    _maybe_utc(reminder.first_attempt_at), _utc(reminder.next_attempt_at),
                    user_status == "blocked",
                ))
            return claimed

    async def _handle(self, row: _Claimed, now: datetime, report: Report) -> None:
        if row.user_blocked:
            await self._finish(row.id, status="skipped", error="the person blocked the bot")
            report.skipped += 1
            return
        allowed = due_now(row.next_attempt_at, now, self.tz, self.window)
        if allowed > now:
            await self._update(row.id, next_attempt_at=allowed, claimed_until=None)
            report.deferred += 1
            return
        messages = self._messages(row)
        result = await self.sender.push(row.user_id, messages, retry_key=row.retry_key)
        first = row.first_attempt_at or now
        if result.ok:
            await self._finish(row.id, status="sent", sent_at=now, attempts=row.attempts + 1,
                               first_attempt_at=first)
            report.sent += 1
            return
        error = f"{result.status or 'no answer'}: {result.error or ''}"[:255]
        retryable = result.status is None or result.status >= 500 or result.status == 429
        if retryable and now - first < RETRY_KEY_LIFETIME:
            backoff = min(timedelta(seconds=30 * 2 ** row.attempts), timedelta(hours=1))
            await self._update(
                row.id, attempts=row.attempts + 1, first_attempt_at=first, error=error,
                next_attempt_at=now + backoff, claimed_until=None,
            )
            report.retried += 1
            return
        await self._finish(row.id, status="failed", attempts=row.attempts + 1,
                           first_attempt_at=first, error=error)
        report.failed += 1
        report.errors.append(error)
        if result.status == 400 and _BLOCKED.search(result.error or ""):
            await self._block_user(row.user_id, now)

    def _messages(self, row: _Claimed) -> list[OutText]:
        return render(self.scenarios, row.kind, row.given, row.deadline)

    async def _finish(self, reminder_id: str, **values: object) -> None:
        await self._update(reminder_id, claimed_until=None, **values)

    async def _update(self, reminder_id: str, **values: object) -> None:
        async with self.db.transaction() as session:
            await session.execute(
                update(Reminder).where(Reminder.id == reminder_id).values(**values)
            )

    async def _block_user(self, user_id: str, now: datetime) -> None:
        """LINE says this person can no longer be reached: mark them, skip their other pushes."""
        async with self.db.transaction() as session:
            await session.execute(
                update(User).where(User.id == user_id).values(status="blocked", blocked_at=now)
            )
            await session.execute(
                update(Reminder)
                .where(and_(Reminder.user_id == user_id, Reminder.status == "pending"))
                .values(status="skipped", error="the person blocked the bot")
            )


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _maybe_utc(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)
