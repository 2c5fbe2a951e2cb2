"""The reminder dispatcher: claims due rows, sends them, records how it went. (Over 450 lines:
the claim, the grouping into requests and the recording of LINE's answer share the claimed
rows' form and the rule of which key a row may go with; its rate is reminders/rate.py.)

Rows due in the same minute with the same text (same kind and dates, same push window) go out
together as one multicast of up to 500 people; a row whose message nobody shares goes alone by
push. Which way a row goes is written in the claim, before the first try: a multicast batch
gets a `batch_key` (its X-Line-Retry-Key, on every row of it), a lone row keeps its own
`retry_key`. A retry after a 5xx, a timeout or a crash therefore sends the very same request
with the very same key, and LINE answers 409 if the first one got through.

Safe to run as several processes (`FOR UPDATE SKIP LOCKED` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite, plus a claim lease), and safe to kill at any moment: a row claimed by a process that
died is claimed again when its lease runs out.

Requests go out concurrently, under a rate that never goes over LINE's limit in any second
(aiolimiter's leaky bucket). A 429 for the rate halves it for a while; a 429 for the monthly
message quota pauses the dispatcher.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.conversation.events import RETRY_KEY_LIFETIME, LineAnswer, SendResult
from supportnavi.conversation.ports import Sender
from supportnavi.edition import Live
from supportnavi.engine import OutText, Scenarios
from supportnavi.engine.hours import PushHours
from supportnavi.metrics import DISPATCH_PASSES, REMINDERS
from supportnavi.reminders.messages import render
from supportnavi.reminders.rate import Rate
from supportnavi.reminders.rules import due_now
from supportnavi.store import incidents, repo
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import Reminder, User

log = logging.getLogger(__name__)

MULTICAST_MAX = 500  # recipients per multicast request (LINE's limit)
QUOTA_PAUSE_REASON = "monthly quota"


@dataclass
class Report:
    sent: int = 0  # rows (people) delivered, by push or multicast
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # due outside the person's push window: moved to its next opening
    skipped: int = 0  # the person has blocked the bot
    released: int = 0  # claimed, then left for later because sending was paused
    pushes: int = 0  # push requests made
    multicasts: int = 0  # multicast requests made
    paused: str | None = None  # why sending stopped (the monthly quota), if it did
    errors: list[str] = field(default_factory=list)
    bad_rows: Counter[str] = field(default_factory=Counter)  # failed before any try, by code

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
    attempts: int
    first_attempt_at: datetime | None  # as it was before this claim
    next_attempt_at: datetime
    error: str | None


@dataclass(frozen=True)
class _Unit:
    """One request: a push of one row, or a multicast of a batch's rows."""

    rows: tuple[_Claimed, ...]
    key: str  # its X-Line-Retry-Key
    multicast: bool


class Dispatcher:
    def __init__(
        self, db: Database, sender: Sender, scenarios: Scenarios | Live, tz: ZoneInfo, *,
        hours: PushHours | None = None, batch: int = 1000, lease: timedelta = timedelta(minutes=2),
        push_rate: float = 2000.0, multicast_rate: float = 200.0, concurrency: int = 64,
        quota_pause: timedelta = timedelta(hours=1), slowdown: timedelta = timedelta(minutes=1),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.sender = sender
        # the process's edition of the scenarios (edition.py), read once per pass
        self.live = scenarios if isinstance(scenarios, Live) else Live.fixed(scenarios)
        self.tz = tz
        self.hours = hours or PushHours()  # for people who chose none
        self.batch = batch
        self.lease = lease
        self.push_rate = Rate(push_rate, slowdown=slowdown.total_seconds(), clock=clock)
        self.multicast_rate = Rate(multicast_rate, slowdown=slowdown.total_seconds(),
                                   clock=clock)
        self.concurrency = concurrency
        self.quota_pause = quota_pause
        self.paused_until: datetime | None = None
        self.paused_reason: str | None = None
        self.last_run: datetime | None = None
        self.last_report: Report | None = None
        # passes in a row that raised, and the last one's exception class: /healthz says so
        self.failed_passes = 0
        self.last_error: str | None = None
        self._rendered: dict[tuple[str, date, date], list[OutText]] = {}
        self._rendered_from = self.live.current.scenarios  # what _rendered was rendered from

    @property
    def scenarios(self) -> Scenarios:
        return self.live.current.scenarios

    # --- state, for /healthz -------------------------------------------------------------

    def paused(self, now: datetime) -> bool:
        if self.paused_until is not None and now >= self.paused_until:
            log.info("reminder sending resumes (was paused: %s)", self.paused_reason)
            self.paused_until = self.paused_reason = None
        return self.paused_until is not None

    def status(self) -> dict[str, Any]:
        report = self.last_report
        return {
            "running": True,
            "paused": self.paused_reason,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
            "push_rate": self.push_rate.current,
            "multicast_rate": self.multicast_rate.current,
            "last_run": self.last_run.isoformat() if self.last_run else None,
            "last_sent": report.sent if report else None,
            "failing": self.failed_passes > 0,
            "failed_passes": self.failed_passes,
            "last_error": self.last_error,
        }

    def _pause(self, now: datetime, reason: str, error: str) -> None:
        if self.paused_until is None or self.paused_until <= now:
            self.paused_until = now + self.quota_pause
            self.paused_reason = reason
            log.error("LINE refused a reminder (%s): sending paused until %s", error,
                      self.paused_until.isoformat())

    # --- the loop ------------------------------------------------------------------------

    async def run_forever(
        self, interval: float, now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        """`serve`'s background task: a pass every `interval` seconds until cancelled."""
        await asyncio.sleep(min(interval, 1.0))  # let the server start listening first
        while True:
            try:
                report = await self.run_once(now())
                if report.handled or report.paused:
                    log.info("reminders: sent %d, retried %d, failed %d, deferred %d, "
                             "skipped %d%s", report.sent, report.retried, report.failed,
                             report.deferred, report.skipped,
                             f", paused: {report.paused}" if report.paused else "")
            except Exception as exc:
                log.exception("a reminder pass failed; the next one is in %.0f s", interval)
                self.failed_passes += 1
                self.last_error = type(exc).__name__
                DISPATCH_PASSES.labels("failed").inc()
            else:
                self.failed_passes, self.last_error = 0, None
                DISPATCH_PASSES.labels("ok").inc()
            await asyncio.sleep(interval)

    async def run_once(self, now: datetime) -> Report:
        """Send everything due at `now`, page by page, until nothing due is left (or LINE says
        the monthly quota is used up). One page is sent while the next is claimed."""
        report = Report()
        self.last_run = now
        scenarios = self.live.current.scenarios  # one edition for the whole pass
        if scenarios is not self._rendered_from:  # swapped since the last pass: new texts
            self._rendered = {}
            self._rendered_from = scenarios
        semaphore = asyncio.Semaphore(self.concurrency)
        in_flight: list[asyncio.Task[None]] = []
        try:
            while not self.paused(now):
                units, handled = await self._claim(now, report)
                if not units and not handled:
                    break
                if units:
                    in_flight.append(asyncio.create_task(
                        self._send_page(units, now, report, semaphore)
                    ))
                while len(in_flight) >= 2:
                    await in_flight.pop(0)
            while in_flight:
                await in_flight.pop(0)
        finally:
            for task in in_flight:
                task.cancel()
            await asyncio.gather(*in_flight, return_exceptions=True)
        if self.paused_until is not None and self.paused_until > now:
            report.paused = self.paused_reason
        if report.bad_rows:
            await incidents.record_many(self.db, "reminder", report.bad_rows, at=now)
        self.last_report = report
        for outcome in ("sent", "retried", "failed", "deferred", "skipped", "released"):
            REMINDERS.labels(outcome).inc(getattr(report, outcome))
        return report

    # --- claiming ------------------------------------------------------------------------

    async def _claim(self, now: datetime, report: Report) -> tuple[list[_Unit], int]:
        """Take a page of due rows: skip the blocked, defer those outside their window, group
        the rest into requests and write down, before any try, which request each is in."""
        async with self.db.transaction() as session:
            query = (
                select(Reminder, User.status, User.push_start_hour, User.push_end_hour)
                .join(User, User.id == Reminder.user_id)
                .where(
                    Reminder.status == "pending",
                    Reminder.next_attempt_at <= now,
                    or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now),
                )
                # rows that can share a multicast come together, so a page does not cut a
                # 500-person batch into slices
                .order_by(Reminder.next_attempt_at, Reminder.kind, Reminder.given,
                          Reminder.deadline)
                .limit(self.batch)
                .with_for_update(of=Reminder, skip_locked=True)
            )
            found = {r.id: (r, s, a, b) for r, s, a, b in (await session.execute(query)).all()}
            incomplete = await self._complete_batches(session, found, now)
            handled = 0
            batches: dict[str, list[Reminder]] = defaultdict(list)
            fresh: dict[tuple[Any, ...], list[Reminder]] = defaultdict(list)
            alone: list[Reminder] = []
            windows: dict[str, PushHours] = {}
            for reminder, user_status, start_hour, end_hour in found.values():
                if user_status == "blocked":
                    reminder.status, reminder.error = "skipped", repo.BLOCKED
                    reminder.claimed_until = None
                    report.skipped += 1
                    handled += 1
                    continue
                try:
                    window = PushHours.stored(start_hour, end_hour, self.hours)
                    allowed = due_now(as_utc(reminder.next_attempt_at), now, self.tz, window)
                    self._messages(_claimed(reminder))  # a row that cannot be written fails here
                    group_key = _group_key(reminder, window)
                except Exception as exc:
                    # one row nothing can be done with: it fails alone, and the rest go out
                    self._bad_row(reminder, exc, report)
                    handled += 1
                    continue
                windows[reminder.id] = window
                if reminder.batch_key is not None:
                    if reminder.batch_key not in incomplete:
                        batches[reminder.batch_key].append(reminder)
                    continue
                if allowed > now:
                    reminder.next_attempt_at, reminder.claimed_until = allowed, None
                    report.deferred += 1
                    handled += 1
                elif reminder.first_attempt_at is None and reminder.attempts == 0:
                    fresh[group_key].append(reminder)
                else:
                    alone.append(reminder)  # tried alone before: only its own key may go again

            units: list[_Unit] = []
            for key, members in batches.items():
                # a batch goes out whole, when the last of its people may be pushed to
                allowed = max(due_now(as_utc(m.next_attempt_at), now, self.tz, windows[m.id])
                              for m in members)
                if allowed > now:
                    for m in members:
                        m.next_attempt_at, m.claimed_until = allowed, None
                    report.deferred += len(members)
                    handled += len(members)
                else:
                    units.append(self._unit(members, key, True, now))
            for group in fresh.values():
                # one person twice in a group (the same reminder set twice): the second row
                # goes by its own push, so nobody is listed twice in one multicast
                people: set[str] = set()
                members = []
                for m in group:
                    (alone if m.user_id in people else members).append(m)
                    people.add(m.user_id)
                for i in range(0, len(members), MULTICAST_MAX):
                    chunk = members[i:i + MULTICAST_MAX]
                    if len(chunk) == 1:
                        alone.append(chunk[0])
                        continue
                    key = str(uuid.uuid4())
                    for m in chunk:
                        m.batch_key = key
                    units.append(self._unit(chunk, key, True, now))
            units += [self._unit([r], r.retry_key, False, now) for r in alone]
            return units, handled

    async def _complete_batches(
        self, session: AsyncSession, found: dict[str, tuple[Reminder, str, int | None, int | None]],
        now: datetime,
    ) -> set[str]:
        """A batch is sent whole or not at all: sending part of it with its key would make LINE
        answer 409 to the rest later, as if they had been delivered. Bring in the rows of each
        batch that the page cut off; a batch still not whole (another dispatcher holds some of
        it) waits. Returns the keys of the batches that wait."""
        keys = {r.batch_key for r, *_ in found.values() if r.batch_key is not None}
        if not keys:
            return set()
        members = (await session.execute(
            select(Reminder.id, Reminder.batch_key)
            .where(Reminder.batch_key.in_(keys), Reminder.status == "pending")
        )).all()
        missing = [m.id for m in members if m.id not in found]
        if missing:
            more = await session.execute(
                select(Reminder, User.status, User.push_start_hour, User.push_end_hour)
                .join(User, User.id == Reminder.user_id)
                .where(Reminder.id.in_(missing),
                       or_(Reminder.claimed_until.is_(None), Reminder.claimed_until < now))
                .with_for_update(of=Reminder, skip_locked=True)
            )
            for r, s, a, b in more.all():
                found[r.id] = (r, s, a, b)
        return {m.batch_key for m in members if m.id not in found}

    def _bad_row(self, reminder: Reminder, exc: Exception, report: Report) -> None:
        code = f"bad row: {type(exc).__name__}"
        log.error("reminder %s cannot be sent (%s): marked failed", reminder.id, code)
        reminder.status, reminder.error, reminder.claimed_until = "failed", code, None
        report.failed += 1
        report.errors.append(code)
        report.bad_rows[code] += 1

    def _unit(self, members: list[Reminder], key: str, multicast: bool, now: datetime) -> _Unit:
        rows = []
        for m in members:
            rows.append(_claimed(m))
            m.claimed_until = now + self.lease
            # written before the try: from now on this row may only go again with this key
            m.first_attempt_at = m.first_attempt_at or now
        return _Unit(tuple(rows), key, multicast)

    # --- sending -------------------------------------------------------------------------

    async def _send_page(
        self, units: list[_Unit], now: datetime, report: Report, semaphore: asyncio.Semaphore,
    ) -> None:
        outcomes: list[dict[str, Any]] = []
        blocked: list[str] = []
        failures: Counter[str] = Counter()  # failed rows by incident code

        async def send(unit: _Unit) -> None:
            async with semaphore:
                rate = self.multicast_rate if unit.multicast else self.push_rate
                if not self.paused(now):
                    await rate.acquire()
                if self.paused(now):
                    outcomes.extend(_release(r, r.error) for r in unit.rows)
                    report.released += len(unit.rows)
                    return
                messages = self._messages(unit.rows[0])
                result = await self._call(unit, messages, report)
                failed = await self._record(unit, result, now, report, outcomes, blocked)
                if failed:
                    failures[incidents.code_of_send(result.status, result.error)] += failed

        try:
            await asyncio.gather(*(send(u) for u in units))
        finally:  # cancelled (the server stops): what is known is still written down
            if outcomes:
                await self._write_outcomes(outcomes)
        for user_id in blocked:
            await self._block_user(user_id, now)
        await incidents.record_many(self.db, "reminder", failures, at=now)

    async def _write_outcomes(self, outcomes: list[dict[str, Any]]) -> None:
        """Bulk, by primary key. A push that went out is `sent` whatever happened meanwhile;
        any other outcome changes only a row still pending: one the person stopped
        (`cancelled`) or that their block `skipped` while its request was in flight stays so,
        instead of coming back as pending and going out after all."""
        sent = [o for o in outcomes if o["status"] == "sent"]
        rest = [o for o in outcomes if o["status"] != "sent"]
        async with self.db.transaction() as session:
            if sent:
                await session.execute(update(Reminder), sent)
            if rest:
                # no ORM objects of these rows are in this session to keep in step
                await session.execute(
                    update(Reminder).where(Reminder.status == "pending")
                    .execution_options(synchronize_session=None), rest)

    def _call(self, unit: _Unit, messages: list[OutText], report: Report) -> Awaitable[SendResult]:
        if unit.multicast:
            report.multicasts += 1
            return self.sender.multicast([r.user_id for r in unit.rows], messages, unit.key)
        report.pushes += 1
        return self.sender.push(unit.rows[0].user_id, messages, retry_key=unit.key)

    async def _record(
        self, unit: _Unit, result: SendResult, now: datetime, report: Report,
        outcomes: list[dict[str, Any]], blocked: list[str],
    ) -> int:
        """Write down what LINE's answer means for the unit's rows; the number that failed."""
        rows = unit.rows
        first = min(r.first_attempt_at or now for r in rows)
        if result.ok:
            outcomes.extend(
                _outcome(r, status="sent", sent_at=now, attempts=r.attempts + 1,
                         first_attempt_at=r.first_attempt_at or now)
                for r in rows
            )
            report.sent += len(rows)
            return 0
        error = f"{result.status or 'no answer'}: {result.error or ''}"[:255]
        if result.answer is LineAnswer.QUOTA_EXHAUSTED:
            # refused, not accepted: the row goes again later as if never tried
            self._pause(now, QUOTA_PAUSE_REASON, error)
            outcomes.extend(_release(r, error) for r in rows)
            report.released += len(rows)
            return 0
        if result.answer is LineAnswer.RATE_LIMITED:
            await (self.multicast_rate if unit.multicast else self.push_rate).slow_down()
        if result.retryable and now - first < RETRY_KEY_LIFETIME:
            attempts = max(r.attempts for r in rows)
            backoff = min(timedelta(seconds=30 * 2 ** attempts), timedelta(hours=1))
            outcomes.extend(
                _outcome(r, attempts=r.attempts + 1, first_attempt_at=r.first_attempt_at or now,
                         error=error, next_attempt_at=now + backoff)
                for r in rows
            )
            report.retried += len(rows)
            return 0
        outcomes.extend(
            _outcome(r, status="failed", attempts=r.attempts + 1,
                     first_attempt_at=r.first_attempt_at or now, error=error)
            for r in rows
        )
        report.failed += len(rows)
        report.errors.append(error)
        if result.answer is LineAnswer.BLOCKED:
            blocked.append(rows[0].user_id)
        return len(rows)

    def _messages(self, row: _Claimed) -> list[OutText]:
        """Rendered once per text: thousands of rows share a handful of (kind, dates)."""
        key = (row.kind, row.given, row.deadline)
        messages = self._rendered.get(key)
        if messages is None:
            if len(self._rendered) >= 10_000:
                self._rendered.clear()
            messages = self._rendered[key] = render(self._rendered_from, *key)
        return messages

    async def _block_user(self, user_id: str, now: datetime) -> None:
        """LINE says this person can no longer be reached: mark them, skip their other pushes."""
        async with self.db.transaction() as session:
            await repo.block(session, user_id, now)


def _claimed(m: Reminder) -> _Claimed:
    return _Claimed(m.id, m.user_id, m.kind, m.given, m.deadline, m.attempts,
                    _maybeas_utc(m.first_attempt_at), as_utc(m.next_attempt_at), m.error)


def _group_key(reminder: Reminder, window: PushHours) -> tuple[Any, ...]:
    """Rows that may share one multicast: due in the same minute, with the same text (the text
    and its buttons depend only on the kind and the dates), and the same push window."""
    minute = as_utc(reminder.next_attempt_at).replace(second=0, microsecond=0)
    return (minute, reminder.kind, reminder.given, reminder.deadline, window)


def _outcome(row: _Claimed, **values: Any) -> dict[str, Any]:
    """Every outcome sets the same columns, so the page is written as one bulk UPDATE."""
    outcome: dict[str, Any] = {
        "id": row.id, "status": "pending", "attempts": row.attempts,
        "first_attempt_at": row.first_attempt_at, "error": row.error,
        "next_attempt_at": row.next_attempt_at, "claimed_until": None, "sent_at": None,
    }
    outcome.update(values)
    return outcome


def _release(row: _Claimed, error: str | None) -> dict[str, Any]:
    """Not sent (paused), or refused without being accepted: as it was before the claim."""
    return _outcome(row, error=error)


def _maybeas_utc(value: datetime | None) -> datetime | None:
    return None if value is None else as_utc(value)
