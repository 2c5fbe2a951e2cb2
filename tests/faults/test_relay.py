"""The outbox relay against the fake LINE API on 127.0.0.1, on SQLite and PostgreSQL: what a
crash or LINE's trouble left pending goes out, and never twice.

Each test sets up an outbox row as a crash would leave it (the reply not tried, or taken by
LINE just before the process died, or switched to a push that may have gone), runs the relay
at a chosen instant, and counts what the person got from the fake: the reply with the row's
token, and pushes with the outbox id as X-Line-Retry-Key."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from supportnavi.conversation.codec import dump_messages
from supportnavi.conversation.events import Delivery
from supportnavi.conversation.relay import MAX_AGE, REPLY_TOKEN_MINUTE, Relay
from supportnavi.conversation.service import ConversationService
from supportnavi.engine import OutText
from supportnavi.line.sender import LineSender
from supportnavi.simulator.fake_line import FakeLine
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import Outbox
from tests.conftest import ACCESS_TOKEN
from tests.support.db import lock_user, session_at
from tests.support.line_spec import request_errors

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # when the event committed
GRACE = timedelta(seconds=5)
MESSAGES = [OutText("こんにちは")]


class Line:
    """The fake, the bot's sender pointed at it, and the database."""

    def __init__(self, fake: FakeLine, url: str, db_url: str) -> None:
        self.fake = fake
        self.sender = LineSender(url, ACCESS_TOKEN, timeout=2.0)
        self.db = Database(db_url)
        self.db_url = db_url

    def relay(self, now: datetime, db: Database | None = None) -> Relay:
        return Relay(db or self.db, self.sender, grace=GRACE, lease=timedelta(seconds=30),
                     clock=lambda: now)

    async def row(self, token: str | None = "token", *, created: datetime = T0,
                  event_at: datetime | None = None) -> Outbox:
        """An outbox row as the webhook's transaction left it, for a new person."""
        user_id = "U" + uuid.uuid4().hex
        row = Outbox(id=str(uuid.uuid4()), user_id=user_id, event_id=uuid.uuid4().hex,
                     reply_token=token and f"{token}-{uuid.uuid4().hex}",
                     messages=dump_messages(MESSAGES), created_at=created,
                     event_at=event_at)
        async with self.db.transaction() as session:
            await lock_user(session, user_id, created)
            session.add(row)
        return row

    async def state(self, row: Outbox) -> Outbox:
        async with session_at(self.db_url) as session:
            found = await session.get(Outbox, row.id)
            assert found is not None
            return found

    def replies(self, row: Outbox) -> list:
        return [r for r in self.fake.records
                if r.path.endswith("/reply") and r.body["replyToken"] == row.reply_token]

    def pushes(self, row: Outbox) -> list:
        return [r for r in self.fake.records
                if r.path.endswith("/push") and r.retry_key == row.id]

    def received(self, row: Outbox) -> int:
        """How many times the person got this row's messages."""
        return len(self.replies(row)) + len(self.pushes(row))

    async def close(self) -> None:
        await self.sender.close()
        await self.db.dispose()


@pytest.fixture
async def line(db_url, fake_line) -> AsyncIterator[Line]:
    fake, url = fake_line
    line = Line(fake, url, db_url)
    yield line
    await line.close()
    for record in fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


async def test_a_reply_never_tried_is_sent_with_its_token(line):
    row = await line.row()
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert report.replied == 1
    assert line.received(row) == 1 and len(line.replies(row)) == 1
    stored = await line.state(row)
    assert stored.status == "sent" and stored.sent_at is not None


async def test_a_reply_line_took_before_the_crash_is_not_sent_again(line):
    row = await line.row()
    # the crash came after LINE took the reply, before the row was marked
    assert (await line.sender.reply(row.reply_token, MESSAGES)).ok
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert report.used == 1 and report.pushed == 0
    assert line.received(row) == 1
    stored = await line.state(row)
    assert stored.status == "sent" and "already used" in (stored.error or "")


async def test_a_row_is_left_alone_during_its_grace_period(line):
    row = await line.row()
    report = await line.relay(T0 + GRACE - timedelta(seconds=1)).run_once()
    assert report.handled == 0 and line.received(row) == 0
    assert (await line.state(row)).status == "pending"


async def test_past_the_tokens_minute_a_refused_token_switches_to_a_push(line):
    row = await line.row()
    line.fake.used_reply_tokens.add(row.reply_token)  # expired, as LINE would say it
    later = T0 + REPLY_TOKEN_MINUTE + timedelta(seconds=1)
    report = await line.relay(later).run_once()
    assert report.pushed == 1
    [push] = line.pushes(row)
    assert push.body["to"] == row.user_id and push.body["messages"][0]["text"] == "こんにちは"
    stored = await line.state(row)
    assert stored.status == "sent" and stored.reply_token is None


async def test_a_push_that_got_through_before_the_crash_is_not_delivered_twice(line):
    row = await line.row(token=None)  # the first try switched to a push, and it went
    assert (await line.sender.push(row.user_id, MESSAGES, retry_key=row.id)).ok
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert report.pushed == 1  # LINE answered 409: it has the key
    assert line.fake.push_attempt_keys == [row.id, row.id]
    assert line.received(row) == 1
    assert (await line.state(row)).status == "sent"


@pytest.mark.parametrize("accepted", [False, True])
async def test_a_reply_line_failed_is_tried_again_after_a_backoff(line, accepted):
    row = await line.row()
    # a 500: LINE did not take it, or took it and failed to say so
    line.fake.fail_next_reply(500, accepted=accepted)
    first = T0 + timedelta(seconds=10)
    report = await line.relay(first).run_once()
    assert report.retried == 1
    stored = await line.state(row)
    assert stored.status == "pending" and stored.attempts == 1
    assert stored.error and stored.error.startswith("500")
    assert (await line.relay(first).run_once()).handled == 0  # not before its backoff
    second = await line.relay(first + timedelta(seconds=2)).run_once()
    assert second.handled == 1
    # exactly once, either way: a taken token answers "Invalid reply token" to the retry
    assert line.received(row) == 1
    assert (second.used, second.replied) == ((1, 0) if accepted else (0, 1))
    assert (await line.state(row)).status == "sent"


async def test_a_push_line_refused_for_good_fails_and_a_5xx_is_retried(line):
    refused, flaky = await line.row(token=None), await line.row(token=None)
    line.fake.fail_next_push(400, "The request body has 1 error(s)")
    line.fake.fail_next_push(503)
    now = T0 + timedelta(seconds=10)
    report = await line.relay(now).run_once()
    assert (report.failed, report.retried) == (1, 1)
    states = {r.id: (await line.state(r)).status for r in (refused, flaky)}
    assert sorted(states.values()) == ["failed", "pending"]
    assert (await line.relay(now + timedelta(minutes=1)).run_once()).pushed == 1
    assert sum(line.received(r) for r in (refused, flaky)) == 1


async def test_a_row_a_day_old_is_given_up(line):
    row = await line.row(created=T0)
    report = await line.relay(T0 + MAX_AGE).run_once()
    assert report.failed == 1 and line.received(row) == 0
    assert (await line.state(row)).status == "failed"


async def test_two_relays_at_once_send_each_row_once(line):
    rows = [await line.row() for _ in range(40)]
    other = Database(line.db_url)
    now = T0 + timedelta(seconds=10)
    try:
        reports = await asyncio.gather(line.relay(now).run_once(),
                                       line.relay(now, db=other).run_once())
    finally:
        await other.dispose()
    assert sum(r.replied for r in reports) == 40
    assert [line.received(r) for r in rows] == [1] * 40
    # no row tried by both: claims never overlap
    assert sorted(line.fake.reply_attempt_tokens) == sorted(r.reply_token for r in rows)


async def test_the_webhooks_own_try_leaves_a_row_a_relay_has_taken(line):
    """The relay claimed the row and used the token; the webhook's late try hears "Invalid
    reply token" and must not push it as if the token had expired."""
    row = await line.row()
    service = ConversationService(line.db, None, line.sender)  # type: ignore[arg-type]
    await line.relay(T0 + timedelta(seconds=10)).run_once()
    await service.deliver(Delivery(row.id, row.user_id, row.reply_token, MESSAGES))
    assert line.received(row) == 1 and line.fake.push_attempt_keys == []


async def test_the_webhooks_try_switches_to_a_push_and_says_so_first(line):
    row = await line.row()
    line.fake.used_reply_tokens.add(row.reply_token)  # expired before the first try
    line.fake.fail_next_push(500)  # and LINE fails the push
    service = ConversationService(line.db, None, line.sender)  # type: ignore[arg-type]
    await service.deliver(Delivery(row.id, row.user_id, row.reply_token, MESSAGES))
    stored = await line.state(row)
    assert stored.status == "pending" and stored.reply_token is None  # only a push from now on
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert report.pushed == 1 and line.received(row) == 1
    assert line.fake.push_attempt_keys == [row.id, row.id]


async def _webhook_try_refused_with_429(line: Line) -> Outbox:
    """A row whose webhook try LINE refused outright (429): no reply of it went out."""
    row = await line.row()
    line.fake.fail_next_reply(429, "The API rate limit has been exceeded. Try again later.")
    service = ConversationService(line.db, None, line.sender)  # type: ignore[arg-type]
    await service.deliver(Delivery(row.id, row.user_id, row.reply_token, MESSAGES))
    stored = await line.state(row)
    assert stored.status == "pending" and stored.reply_maybe_sent is False
    return row


async def test_a_token_refused_after_every_try_was_refused_outright_expired_so_it_is_pushed(line):
    row = await _webhook_try_refused_with_429(line)
    line.fake.used_reply_tokens.add(row.reply_token)  # then LINE calls the token too old
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert (report.pushed, report.used) == (1, 0)
    assert line.received(row) == 1 and len(line.pushes(row)) == 1


async def test_a_relay_killed_while_line_held_its_reply_leaves_the_row_saying_so(line):
    row = await _webhook_try_refused_with_429(line)
    now = T0 + timedelta(seconds=10)
    [claimed] = await line.relay(now)._claim(now)  # the claim, then the process dies...
    assert claimed.maybe_sent is False and (await line.state(row)).reply_maybe_sent is True
    assert (await line.sender.reply(row.reply_token, MESSAGES)).ok  # ...after LINE took it
    report = await line.relay(now + timedelta(seconds=31)).run_once()  # past the lease
    assert (report.used, report.pushed) == (1, 0)
    assert line.received(row) == 1


@pytest.mark.parametrize(("status", "outcome"), [(400, "failed"), (500, "retry")])
async def test_the_webhooks_late_failure_leaves_a_row_a_relay_holds(line, status, outcome):
    """A relay has claimed the row (its lease) and is sending it; the webhook's own try, slower,
    then fails. Its outcome, written in the next events' transaction, must not undo the relay's
    claim or mark the row failed: the relay owns the row from its claim on."""
    row = await line.row()
    lease_until = T0 + timedelta(minutes=5)
    async with line.db.transaction() as session:
        stored = await session.get(Outbox, row.id)
        assert stored is not None
        stored.next_attempt_at = lease_until  # as Relay._claim leaves it
    line.fake.fail_next_reply(status, f"fake {outcome}")
    service = ConversationService(line.db, None, line.sender)  # type: ignore[arg-type]
    try:
        await service.deliver(Delivery(row.id, row.user_id, row.reply_token, MESSAGES))
    finally:
        await service.close()
    after = await line.state(row)
    assert (after.status, after.attempts, after.error) == ("pending", 0, None)
    assert as_utc(after.next_attempt_at) == lease_until


async def test_a_late_redeliverys_refused_token_expired_so_it_is_pushed(line):
    """LINE redelivered the event two minutes after sending it; the bot's own reply got a 5xx
    (so a reply may have gone), and the relay hears "Invalid reply token" ten seconds after
    the row was made. The token's minute ran from the event, long over: it expired, so the reply
    is pushed, not taken for sent (and lost)."""
    row = await line.row(event_at=T0 - timedelta(minutes=2))
    line.fake.used_reply_tokens.add(row.reply_token)  # expired, as LINE answers for it
    report = await line.relay(T0 + timedelta(seconds=10)).run_once()
    assert (report.used, report.pushed) == (0, 1)
    assert line.received(row) == 1 and len(line.pushes(row)) == 1


async def test_the_event_time_on_the_row_is_the_events(bot):
    """The webhook writes when LINE sent the event (its timestamp) on the outbox row."""
    user = bot.user()
    event = user.follow()
    event["timestamp"] -= 90_000  # LINE sent it 90 s ago (a redelivery)
    await user.say(event)
    async with session_at(bot.db_url) as session:
        (row,) = (await session.execute(select(Outbox))).scalars().all()
    assert row.event_at is not None
    assert abs(as_utc(row.event_at).timestamp() * 1000 - event["timestamp"]) < 1
