"""What the bot keeps, and for how long: rows past their retention are deleted.

- `processed_events`: a handled event's id, kept so that LINE's redelivery of it is skipped.
  LINE does not publish how long it keeps redelivering; past `event_ids` (7 days by default)
  a redelivery would be handled again.
- `outbox`: a reply once sent or failed keeps only its bookkeeping (its words are cleared at
  once, `models.CLEARED_MESSAGES`); the row goes with its event's id. A pending row stays
  until the relay has sent it or given up on it.
- `step_history`: what each input resolved to, for the dashboard; kept `steps` (90 days by
  default, the dashboard's longest window).
- `reminders`: a finished row (sent, failed, cancelled, skipped) whose deadline is `steps`
  past; pending ones always stay.
- `unmatched`: the operators' inbox (issue 18), a group last typed `unmatched` ago (30 days
  by default); with `unmatched` 0 (keeping off), every row.

Each table is pruned in chunks, each its own short transaction, so that on SQLite a prune never
holds the write lock the webhook needs for long. Safe in several processes at once: a row two
of them delete is simply gone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, delete, select

from supportnavi.store.db import Database
from supportnavi.store.models import Outbox, ProcessedEvent, Reminder, StepRecord, UnmatchedText

log = logging.getLogger(__name__)

FINISHED_REMINDERS = ("sent", "failed", "cancelled", "skipped")


@dataclass(frozen=True)
class Retention:
    event_ids: timedelta = timedelta(days=7)
    steps: timedelta = timedelta(days=90)
    unmatched: timedelta = timedelta(days=30)  # 0: none kept

    @classmethod
    def days(cls, event_ids: int, steps: int, unmatched: int = 30) -> Retention:
        return cls(timedelta(days=event_ids), timedelta(days=steps), timedelta(days=unmatched))


class Housekeeper:
    def __init__(self, db: Database, retention: Retention, *, chunk: int = 5000,
                 before: Sequence[Callable[[datetime], Awaitable[object]]] = ()) -> None:
        self.db = db
        # what else each pass does first: the dashboard's rollups (admin/rollups.py), written
        # before the steps they are read from are pruned
        self.before = list(before)
        self.retention = retention
        self.chunk = chunk
        self.last_run: datetime | None = None

    async def run_once(self, now: datetime) -> dict[str, int]:
        """Delete what is past its retention at `now`; rows deleted, by table."""
        for task in self.before:
            await task(now)
        events_before = now - self.retention.event_ids
        steps_before = now - self.retention.steps
        deleted = {
            "processed_events": await self._prune(
                ProcessedEvent.webhook_event_id, ProcessedEvent.processed_at < events_before),
            "outbox": await self._prune(
                Outbox.id, Outbox.status.in_(("sent", "failed")),
                Outbox.created_at < events_before),
            "step_history": await self._prune(StepRecord.id, StepRecord.at < steps_before),
            "reminders": await self._prune(
                Reminder.id, Reminder.status.in_(FINISHED_REMINDERS),
                Reminder.deadline < steps_before.date()),
            "unmatched": await self._prune(
                UnmatchedText.id, UnmatchedText.last_seen < now - self.retention.unmatched
                if self.retention.unmatched else UnmatchedText.id.is_not(None)),
        }
        self.last_run = now
        if any(deleted.values()):
            log.info("housekeeping: deleted %s", ", ".join(
                f"{n} {table}" for table, n in deleted.items() if n))
        return deleted

    async def _prune(self, key: Any, *where: ColumnElement[bool]) -> int:
        table = key.table
        total = 0
        while True:
            ids = select(key).where(*where).limit(self.chunk).scalar_subquery()
            async with self.db.transaction() as session:
                result = await session.execute(delete(table).where(key.in_(ids)))
            count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            total += count
            if count < self.chunk:
                return total

    async def run_forever(
        self, interval: float, now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`serve`'s background task: a pass soon after start, then every `interval` s."""
        await asyncio.sleep(min(interval, 60.0))
        while True:
            try:
                await self.run_once(now())
            except Exception:
                log.exception("a housekeeping pass failed; the next one is in %.0f s", interval)
            await asyncio.sleep(interval)
