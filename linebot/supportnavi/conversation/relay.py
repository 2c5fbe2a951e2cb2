"""The outbox relay: sends what a committed event decided and nobody sent.

The webhook answers 200 once an event's transaction commits, and sends the reply afterwards
(`ConversationService.deliver`). If the process dies in between, or LINE cannot take the reply
(5xx, 429, no answer), the event's outbox row stays `pending`; LINE's redelivery cannot help,
since the event is already processed. The relay takes such rows once they are older than a
grace period (the webhook's own try comes first), claims them (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, `BEGIN IMMEDIATE` on SQLite, and a lease, so that several relays never send the same
row and a killed one's rows come back), and sends them.

Nothing twice. A pending row may or may not have gone out before the crash, so the relay only
sends it again in a way LINE accepts once: a reply token works once (a second reply answers 400
"Invalid reply token"), and a push's `X-Line-Retry-Key` is accepted once (409 after).

- A row with its reply token: the relay replies with it. 200: sent now. "Invalid reply token"
  means used or expired, and the row says which it can be: `reply_maybe_sent` is true from the
  start (the webhook's own try goes unrecorded until it is answered), stays true after a 5xx or
  no answer, and is false once every try was refused outright (429). Maybe sent, and within
  the token's minute (LINE promises a token for a minute after the webhook; we count 50 s from
  the event's start): the token was used, so the reply went out before (the crash came after
  LINE took it, or LINE took it and answered 5xx or nothing): `sent`, and no push, which would
  be a second copy. Never sent by us: the token expired, and the row switches to a push; past
  the minute, used and expired read alike, and it switches too. 5xx, 429 or no answer: the
  reply again, after a backoff (if LINE had taken it, the next try hears "Invalid reply
  token"). The claim sets `reply_maybe_sent` before the reply goes, so a relay that dies
  while LINE holds its reply leaves the row saying so.
- A row without a token (the webhook's try found it refused, and wrote that down before it
  pushed), or one switched above: pushed with the outbox id as `X-Line-Retry-Key`. 200 or
  409: sent. 5xx, 429 or no answer: again after a backoff.
- Any other 4xx: `failed`. A row 23 hours old: `failed` too: too late to answer, and LINE
  forgets a retry key after 24 hours, so a push retried later could deliver twice.

The one case it cannot tell: a reply that LINE took without saying so (just before a crash, or
answering 5xx or nothing), come back to only after the token's minute (the server stayed down
longer, or LINE's trouble outlasted the minute through the backoff). The refused token then
reads as expired and the row is pushed: a possible second copy, rather than a question left
without its answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select

from supportnavi.conversation.codec import load_messages
from supportnavi.conversation.events import RETRY_KEY_LIFETIME, SendResult
from supportnavi.conversation.ports import Sender
from supportnavi.store import repo
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import Outbox
from supportnavi.store.outbox import OutboxOutcome

log = logging.getLogger(__name__)

# LINE: a reply token must be used within one minute of the webhook; after that it may or may
# not work. Counted from the event's start, with a margin for the time LINE took to deliver it.
REPLY_TOKEN_MINUTE = timedelta(seconds=50)
# A row older than a retry key's life is too late: a push retried after it could go twice.
MAX_AGE = RETRY_KEY_LIFETIME
MAX_BACKOFF = timedelta(minutes=10)


@dataclass
class RelayReport:
    replied: int = 0  # sent now by reply
    used: int = 0  # the token was used: it had gone out before
    pushed: int = 0  # sent now by push (or LINE had the key: 409)
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.replied + self.used + self.pushed + self.retried + self.failed


@dataclass(frozen=True)
class _Row:
    id: str
    user_id: str
    reply_token: str | None
    messages: dict[str, Any]
    attempts: int
    created_at: datetime
    event_at: datetime | None  # when LINE sent the event: its reply token's minute runs from it
    maybe_sent: bool  # a reply with the token may have reached LINE before this claim


@dataclass(frozen=True)
class _Outcome:
    row: _Row
    outcome: OutboxOutcome
    error: str | None = None
    retry_at: datetime | None = None
    drop_token: bool = False
    maybe_sent: bool | None = None  # after a reply: whether it may have reached LINE


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Relay:
    """Made and closed in the app's lifespan (`run_forever` as a task, cancelled there)."""

    def __init__(
        self, db: Database, sender: Sender, *, grace: timedelta, lease: timedelta,
        page: int = 16, clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.db = db
        self.sender = sender
        self.grace = grace  # younger rows are left to the webhook's own try
        # a claim lasts longer than a page's sends can (each is bounded by the LINE timeout),
        # so a live relay's rows are never taken by another; a killed one's come back after it
        self.lease = lease
        self.page = page  # rows claimed and sent at once
        self.clock = clock
        self.last_report: RelayReport | None = None

    async def run_forever(self, interval: float) -> None:
        """A pass at once (what the last process left), then one every `interval` seconds."""
        while True:
            try:
                report = await self.run_once()
                if report.handled:
                    log.info("outbox relay: replied %d, already sent %d, pushed %d, "
                             "retried %d, failed %d", report.replied, report.used,
                             report.pushed, report.retried, report.failed)
            except Exception as exc:  # the database is down: say so, try again next time
                log.warning("outbox relay pass failed (%s: %s); next in %g s",
                            type(exc).__name__, str(exc).splitlines()[0], interval)
            await asyncio.sleep(interval)

    async def run_once(self) -> RelayReport:
        """Send every pending row past the grace period, a page at a time."""
        report = RelayReport()
        while True:
            rows = await self._claim(self.clock())
            if not rows:
                break
            sends = [asyncio.create_task(self._send(row, report)) for row in rows]
            try:
                done = await asyncio.gather(*sends, return_exceptions=True)
            finally:  # cancelled (the server stops): what is known is still written down
                for task in sends:
                    task.cancel()
                finished = [t.result() for t in sends
                            if t.done() and not t.cancelled() and t.exception() is None]
                if finished:
                    await self._write(finished)
            for row, outcome in zip(rows, done, strict=True):
                if isinstance(outcome, BaseException):  # a bug: the row comes back after its lease
                    log.error("outbox %s: the relay crashed on it", row.id, exc_info=outcome)
        self.last_report = report
        return report

    async def _claim(self, now: datetime) -> list[_Row]:
        async with self.db.transaction() as session:
            found = (await session.execute(
                select(Outbox)
                .where(Outbox.status == "pending", Outbox.created_at <= now - self.grace,
                       or_(Outbox.next_attempt_at.is_(None), Outbox.next_attempt_at <= now))
                .order_by(Outbox.created_at)
                .limit(self.page)
                .with_for_update(skip_locked=True)
            )).scalars().all()
            rows = []
            for outbox in found:
                rows.append(_Row(outbox.id, outbox.user_id, outbox.reply_token,
                                 outbox.messages, outbox.attempts, as_utc(outbox.created_at),
                                 as_utc(outbox.event_at) if outbox.event_at else None,
                                 outbox.reply_maybe_sent))
                outbox.next_attempt_at = now + self.lease
                if outbox.reply_token:
                    # written before the reply goes: if this process dies while LINE holds
                    # it, the next claim knows the token may have been used
                    outbox.reply_maybe_sent = True
            return rows

    async def _send(self, row: _Row, report: RelayReport) -> _Outcome:
        started = self.clock()
        if started - row.created_at >= MAX_AGE:
            report.failed += 1
            return _Outcome(row, "failed", error=f"not sent within {MAX_AGE}")
        messages = load_messages(row.messages)
        switched = False
        if row.reply_token:
            result = await self.sender.reply(row.reply_token, messages)
            if result.ok:
                report.replied += 1
                return _Outcome(row, "sent")
            if not result.token_invalid:
                return self._retry_or_fail(row, result, report, started,
                                           maybe_sent=row.maybe_sent or result.maybe_taken)
            # the token's minute runs from when LINE sent the event, which for a redelivery
            # can be long before the bot made this row
            issued = min(row.event_at or row.created_at, row.created_at)
            if row.maybe_sent and started - issued < REPLY_TOKEN_MINUTE:
                report.used += 1
                return _Outcome(row, "sent", error="reply token already used: sent before")
            # never used by us (every try was refused outright), so expired; or past its
            # minute, used or expired alike: either way, a push
            switched = True
        result = await self.sender.push(row.user_id, messages, retry_key=row.id)
        if result.ok:
            report.pushed += 1
            return _Outcome(row, "sent", drop_token=switched)
        return self._retry_or_fail(row, result, report, started, drop_token=switched)

    def _retry_or_fail(
        self, row: _Row, result: SendResult, report: RelayReport, now: datetime,
        drop_token: bool = False, maybe_sent: bool | None = None,
    ) -> _Outcome:
        error = f"{result.status or 'no answer'}: {result.error or ''}"
        if result.retryable:
            report.retried += 1
            backoff = min(timedelta(seconds=2 ** min(row.attempts, 20)), MAX_BACKOFF)
            return _Outcome(row, "retry", error=error, retry_at=now + backoff,
                            drop_token=drop_token, maybe_sent=maybe_sent)
        log.warning("outbox %s failed for good: %s", row.id, error)
        report.failed += 1
        report.errors.append(error)
        return _Outcome(row, "failed", error=error, drop_token=drop_token,
                        maybe_sent=maybe_sent)

    async def _write(self, outcomes: list[_Outcome]) -> None:
        now = self.clock()
        async with self.db.transaction() as session:
            # in id order, as the group commit locks them: two writers never wait on each other
            for o in sorted(outcomes, key=lambda o: o.row.id):
                await repo.finish_outbox(session, o.row.id, o.outcome, error=o.error, now=now,
                                         retry_at=o.retry_at, by_relay=True,
                                         drop_token=o.drop_token,
                                         reply_maybe_sent=o.maybe_sent)
