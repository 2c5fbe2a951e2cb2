"""The dispatcher's requests, against the fake LINE API on 127.0.0.1, on SQLite and PostgreSQL:
same-minute same-text reminders as one multicast with a stored retry key, a retried multicast
delivered once, LINE's two 429s (rate: slow down; monthly quota: pause, shown on /healthz),
and each person's own push window."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import update

from supportnavi.reminders.dispatcher import MULTICAST_MAX, Dispatcher
from supportnavi.reminders.rules import Plan, plan
from supportnavi.simulator.fake_line import MONTHLY_LIMIT_MESSAGE, RATE_LIMIT_MESSAGE
from supportnavi.store import repo
from supportnavi.store.db import Database
from supportnavi.store.models import Reminder, User
from tests.support.db import all_reminders, lock_user
from tests.support.line_spec import request_errors

TOKYO = ZoneInfo("Asia/Tokyo")
SCHEDULED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


@pytest.fixture(autouse=True)
def every_request_is_valid(bot):
    """Whatever else a test checks, every request the bot sent must fit LINE's OpenAPI spec."""
    yield
    for r in bot.fake.records:
        assert request_errors(r.method, r.path, r.body) == [], (r.path, r.body)


def user_ids(n: int, tag: str) -> list[str]:
    return [f"U{tag}{i:031x}" for i in range(n)]


async def schedule(db_url: str, users: list[str], kind: str, given: date) -> None:
    """What the conversation does when each of `users` gives `given`, in one transaction."""
    result = plan(kind, given, SCHEDULED_AT, TOKYO)  # type: ignore[arg-type]
    assert isinstance(result, Plan)
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            for user_id in users:
                await lock_user(session, user_id, SCHEDULED_AT)
                repo.add_reminders(session, user_id, kind, given, result.deadline,
                                   result.pushes, SCHEDULED_AT)
    finally:
        await db.dispose()


async def rows(db_url: str) -> dict[str, Reminder]:
    return {r.user_id: r for r in await all_reminders(db_url)}


def dispatcher(bot, **kwargs) -> Dispatcher:
    services = bot.app.state.services
    return Dispatcher(services.db, services.sender, services.scenarios, TOKYO, **kwargs)


def sent(bot, op: str) -> list:
    return [r for r in bot.fake.records if r.path == f"/v2/bot/message/{op}"]


def assert_valid(records: list) -> None:
    for r in records:
        assert request_errors(r.method, r.path, r.body) == [], r.body


async def test_same_minute_same_text_is_one_multicast_and_a_personal_one_a_push(bot):
    together = user_ids(3, "a")
    alone = user_ids(1, "b")
    await schedule(bot.db_url, together, "return_window", date(2026, 12, 19))
    await schedule(bot.db_url, alone, "prime_renewal", date(2026, 12, 18))  # another text
    report = await dispatcher(bot).run_once(jst(12, 15, 9, 0))
    assert (report.sent, report.multicasts, report.pushes) == (4, 1, 1)
    [multicast] = sent(bot, "multicast")
    [push] = sent(bot, "push")
    assert_valid([multicast, push])
    assert sorted(multicast.body["to"]) == together
    assert "12月19日" in multicast.body["messages"][0]["text"]  # the deadline given
    state = await rows(bot.db_url)
    # the retry key was stored on every row of the batch before the try
    assert {state[u].batch_key for u in together} == {multicast.retry_key}
    assert push.body["to"] == alone[0]
    assert push.retry_key == state[alone[0]].retry_key and state[alone[0]].batch_key is None
    assert {r.status for r in state.values()} == {"sent"}
    assert (await dispatcher(bot).run_once(jst(12, 15, 9, 5))).sent == 0  # never twice


async def test_a_multicast_never_takes_more_than_500(bot):
    people = user_ids(MULTICAST_MAX + 2, "c")
    await schedule(bot.db_url, people, "return_window", date(2026, 12, 19))
    report = await dispatcher(bot).run_once(jst(12, 15, 9, 0))
    assert report.sent == len(people) and report.multicasts == 2
    sizes = sorted(len(r.body["to"]) for r in sent(bot, "multicast"))
    assert sizes == [2, MULTICAST_MAX]
    assert len({r.retry_key for r in sent(bot, "multicast")}) == 2
    assert_valid(sent(bot, "multicast")[:1])
    assert dict(bot.fake.delivered_to) == {u: 1 for u in people}


async def test_a_500_after_delivery_then_409_on_a_multicast_is_one_delivery(bot):
    people = user_ids(2, "d")
    await schedule(bot.db_url, people, "prime_renewal", date(2026, 12, 20))
    bot.fake.fail_next_multicast(500, "Internal server error", accepted=True)
    d = dispatcher(bot)
    first = await d.run_once(jst(12, 17, 9, 0))
    assert (first.sent, first.retried, first.multicasts) == (0, 2, 1)
    assert (await d.run_once(jst(12, 17, 9, 0) + timedelta(seconds=10))).handled == 0
    second = await d.run_once(jst(12, 17, 9, 0) + timedelta(seconds=31))
    assert (second.sent, second.multicasts) == (2, 1)
    [key, again] = bot.fake.multicast_attempt_keys
    assert key == again  # the same key: LINE answered 409
    assert len(sent(bot, "multicast")) == 1 and bot.fake.duplicates() == 0
    assert dict(bot.fake.delivered_to) == {u: 1 for u in people}
    state = await rows(bot.db_url)
    assert {(r.status, r.attempts, r.batch_key) for r in state.values()} == {("sent", 2, key)}


async def test_a_batch_cut_by_the_page_still_goes_whole_with_its_key(bot):
    people = user_ids(5, "e")
    await schedule(bot.db_url, people, "prime_renewal", date(2026, 12, 20))
    bot.fake.fail_next_multicast(503, "busy")
    start = jst(12, 17, 9, 0)
    assert (await dispatcher(bot).run_once(start)).retried == 5
    [key] = bot.fake.multicast_attempt_keys
    # a page of 2 rows cuts the batch; the claim brings in the other 3 before sending
    report = await dispatcher(bot, batch=2).run_once(start + timedelta(seconds=31))
    assert (report.sent, report.multicasts, report.pushes) == (5, 1, 0)
    assert bot.fake.multicast_attempt_keys == [key, key]
    [multicast] = sent(bot, "multicast")
    assert sorted(multicast.body["to"]) == people


async def test_a_rate_429_halves_the_rate_and_retries_with_the_same_key(bot):
    [person] = user_ids(1, "f")
    await schedule(bot.db_url, [person], "prime_renewal", date(2026, 12, 20))
    clock = [1000.0]
    d = dispatcher(bot, push_rate=2000, slowdown=timedelta(seconds=60), clock=lambda: clock[0])
    full_burst = d.push_rate.limiter.max_rate
    bot.fake.fail_next_push(429, RATE_LIMIT_MESSAGE)
    start = jst(12, 17, 9, 0)
    report = await d.run_once(start)
    assert (report.retried, report.paused) == (1, None)
    assert (d.push_rate.current, d.push_rate.slowdowns) == (1000, 1)
    assert d.push_rate.limiter.max_rate < full_burst  # the bucket itself was made smaller
    assert (await d.run_once(start + timedelta(seconds=31))).sent == 1
    key = (await rows(bot.db_url))[person].retry_key
    assert bot.fake.push_attempt_keys == [key, key]
    assert d.push_rate.current == 1000  # still slow: the while has not passed
    clock[0] += 61
    await d.push_rate.acquire()
    assert d.push_rate.current == 2000 and d.push_rate.limiter.max_rate == full_burst


async def test_a_429_storm_halves_once_a_second_and_never_below_a_64th(bot):
    clock = [0.0]
    d = dispatcher(bot, push_rate=640, clock=lambda: clock[0])
    for _ in range(5):  # requests in flight together all answer 429
        await d.push_rate.slow_down()
    assert d.push_rate.current == 320
    for _ in range(20):
        clock[0] += 1.5
        await d.push_rate.slow_down()
    assert d.push_rate.current == 10


async def test_the_fake_enforces_a_rate_and_the_dispatcher_recovers_without_duplicates(bot):
    people = user_ids(12, "9")
    for i, person in enumerate(people):  # a date each: personal texts, so pushes
        await schedule(bot.db_url, [person], "return_window", date(2026, 12, 19) + timedelta(i))
    bot.fake.rate_limits = {"push": 4}
    d = dispatcher(bot, push_rate=1000)
    now = jst(12, 26, 9, 0)  # every one of them is due
    report = await d.run_once(now)
    assert report.pushes == 12 and bot.fake.rate_limited["push"] == report.retried > 0
    assert d.push_rate.current < 1000
    bot.fake.rate_limits = None
    again = await d.run_once(now + timedelta(minutes=1))
    assert report.sent + again.sent == 12
    assert dict(bot.fake.delivered_to) == {u: 1 for u in people}
    assert_valid(sent(bot, "push")[:1])


async def test_a_monthly_quota_429_pauses_and_healthz_says_so(bot):
    people = user_ids(2, "7")
    await schedule(bot.db_url, people[:1], "prime_renewal", date(2026, 12, 20))
    await schedule(bot.db_url, people[1:], "support_followup", date(2026, 12, 15))
    bot.fake.quota_exhausted = True
    d = dispatcher(bot, quota_pause=timedelta(hours=1))
    bot.app.state.services.dispatcher = d  # the one /healthz reports on
    now = jst(12, 17, 9, 0)
    report = await d.run_once(now)
    assert (report.paused, report.sent, report.released) == ("monthly quota", 0, 2)
    tries = len(bot.fake.push_attempt_keys)
    assert 1 <= tries <= 2  # those already in flight; nothing after the answer
    later = await d.run_once(now + timedelta(minutes=30))
    assert later.paused == "monthly quota" and later.handled == 0
    assert len(bot.fake.push_attempt_keys) == tries  # paused: not one more request
    async with httpx.AsyncClient(base_url=bot.url) as client:
        health = await client.get("/healthz")
    assert health.status_code == 200
    assert health.json()["reminders"]["paused"] == "monthly quota"
    state = await rows(bot.db_url)
    # refused, not accepted: as if never tried, and the reason kept
    assert {(r.status, r.attempts, r.first_attempt_at) for r in state.values()} == {
        ("pending", 0, None)}
    assert any("monthly limit" in (r.error or "") for r in state.values())
    bot.fake.quota_exhausted = False
    resumed = await d.run_once(now + timedelta(hours=1))
    assert (resumed.paused, resumed.sent) == (None, 2)
    assert dict(bot.fake.delivered_to) == {u: 1 for u in people}
    async with httpx.AsyncClient(base_url=bot.url) as client:
        assert (await client.get("/healthz")).json()["reminders"]["paused"] is None


async def _set_window(db_url: str, user_id: str, start: int | None, end: int | None) -> None:
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await session.execute(update(User).where(User.id == user_id)
                                  .values(push_start_hour=start, push_end_hour=end))
    finally:
        await db.dispose()


async def test_each_person_is_pushed_in_their_own_window(bot):
    evening, default = user_ids(2, "5")
    await schedule(bot.db_url, [evening, default], "return_window", date(2026, 12, 19))
    await _set_window(bot.db_url, evening, 18, 20)  # due 9:00, but only 18:00-20:00 for them
    d = dispatcher(bot)
    report = await d.run_once(jst(12, 15, 9, 0))
    assert (report.sent, report.deferred, report.pushes, report.multicasts) == (1, 1, 1, 0)
    state = await rows(bot.db_url)
    assert state[evening].next_attempt_at.replace(tzinfo=UTC) == jst(12, 15, 18, 0)
    assert (await d.run_once(jst(12, 15, 17, 59))).sent == 0
    assert (await d.run_once(jst(12, 15, 18, 0))).sent == 1
    late = await d.run_once(jst(12, 15, 20, 30))
    assert late.handled == 0
    assert [p.body["to"] for p in sent(bot, "push")] == [default, evening]


async def test_a_window_until_midnight_allows_a_late_push(bot):
    [night_owl] = user_ids(1, "4")
    await schedule(bot.db_url, [night_owl], "return_window", date(2026, 12, 19))
    await _set_window(bot.db_url, night_owl, 22, 24)
    d = dispatcher(bot)
    assert (await d.run_once(jst(12, 15, 21, 0))).deferred == 1
    assert (await d.run_once(jst(12, 15, 23, 30))).sent == 1


async def test_a_scripted_quota_429_on_a_multicast_pauses_and_keeps_the_batch_key(bot):
    people = user_ids(3, "3")
    await schedule(bot.db_url, people, "return_window", date(2026, 12, 19))
    bot.fake.fail_next_multicast(429, MONTHLY_LIMIT_MESSAGE)
    d = dispatcher(bot, quota_pause=timedelta(minutes=10))
    now = jst(12, 15, 9, 0)
    report = await d.run_once(now)
    assert (report.paused, report.sent, report.failed, report.retried) == ("monthly quota", 0, 0, 0)
    assert d.status()["paused"] == "monthly quota"
    assert (await d.run_once(now + timedelta(minutes=9))).multicasts == 0
    resumed = await d.run_once(now + timedelta(minutes=10))
    assert (resumed.sent, resumed.multicasts) == (3, 1)
    [key, again] = bot.fake.multicast_attempt_keys
    assert key == again  # the batch went again as the same request
    assert dict(bot.fake.delivered_to) == {u: 1 for u in people}


async def test_one_person_twice_in_a_group_is_never_listed_twice_in_a_multicast(bot):
    people = user_ids(3, "2")
    await schedule(bot.db_url, people, "return_window", date(2026, 12, 19))
    await schedule(bot.db_url, people[:1], "return_window", date(2026, 12, 19))  # set twice
    report = await dispatcher(bot).run_once(jst(12, 15, 9, 0))
    assert (report.sent, report.multicasts, report.pushes) == (4, 1, 1)
    [multicast] = sent(bot, "multicast")
    assert sorted(multicast.body["to"]) == people
    [push] = sent(bot, "push")
    assert push.body["to"] == people[0]
