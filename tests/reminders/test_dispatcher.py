"""The dispatcher against the fake LINE API on 127.0.0.1, on SQLite and PostgreSQL: a push at
the right instant, once, with its retry key; quiet hours; retries that reuse the key; a person
who blocked the bot; two dispatchers at once."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from supportnavi.conversation.events import LineAnswer
from supportnavi.line.sender import classify
from supportnavi.reminders.dispatcher import Dispatcher
from supportnavi.reminders.rules import Plan, plan
from supportnavi.store import repo
from supportnavi.store.db import Database
from supportnavi.store.models import Reminder, User
from tests.support.db import all_reminders, lock_user
from tests.support.line_spec import request_errors

TOKYO = ZoneInfo("Asia/Tokyo")
SCHEDULED_AT = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)


def jst(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


async def schedule(db_url: str, user_id: str, kind: str, given: date) -> list[str]:
    """What the conversation will do when a person gives a date: plan, then one row a push."""
    result = plan(kind, given, SCHEDULED_AT, TOKYO)  # type: ignore[arg-type]
    assert isinstance(result, Plan)
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await lock_user(session, user_id, SCHEDULED_AT)
            rows = repo.add_reminders(session, user_id, kind, given, result.deadline,
                                      result.pushes, SCHEDULED_AT)
            return [r.retry_key for r in rows]
    finally:
        await db.dispose()


async def rows(db_url: str) -> dict[str, Reminder]:
    return {r.retry_key: r for r in await all_reminders(db_url)}


def dispatcher(bot) -> Dispatcher:
    services = bot.app.state.services
    return Dispatcher(services.db, services.sender, services.scenarios, TOKYO)


def pushes(bot) -> list:
    return [r for r in bot.fake.records if r.path.endswith("/push")]


async def test_a_push_goes_out_once_at_its_instant_with_its_retry_key(bot):
    keys = await schedule(bot.db_url, "U" + "a" * 32, "trial_cancel", date(2026, 12, 5))
    assert len(keys) == 2  # 3 days before, and the morning of the last day
    d = dispatcher(bot)
    assert (await d.run_once(jst(12, 2, 8, 59))).sent == 0
    report = await d.run_once(jst(12, 2, 9, 0))
    assert report.sent == 1
    assert (await d.run_once(jst(12, 2, 9, 5))).sent == 0  # never twice
    [push] = pushes(bot)
    assert push.retry_key == keys[0]
    assert push.body["to"] == "U" + "a" * 32
    assert "12月5日(土)" in push.body["messages"][0]["text"]
    labels = [i["action"]["label"] for i in push.body["messages"][0]["quickReply"]["items"]]
    assert labels[0] == "無料体験の解約手順へ"
    assert request_errors(push.method, push.path, push.body) == []
    assert (await d.run_once(jst(12, 5, 9, 0))).sent == 1  # the last day's
    state = await rows(bot.db_url)
    assert {r.status for r in state.values()} == {"sent"}


async def test_a_push_found_due_in_the_quiet_hours_waits_for_the_morning(bot):
    [key] = await schedule(bot.db_url, "U" + "b" * 32, "return_window", date(2026, 12, 19))
    d = dispatcher(bot)
    report = await d.run_once(jst(12, 15, 23, 30))  # the dispatcher was down all day
    assert (report.sent, report.deferred) == (0, 1)
    assert pushes(bot) == []
    assert (await d.run_once(jst(12, 16, 8, 59))).sent == 0
    assert (await d.run_once(jst(12, 16, 9, 0))).sent == 1
    assert [p.retry_key for p in pushes(bot)] == [key]


async def test_a_500_after_delivery_then_409_is_one_delivery_with_one_key(bot):
    [key] = await schedule(bot.db_url, "U" + "c" * 32, "prime_renewal", date(2026, 12, 20))
    bot.fake.fail_next_push(500, "Internal server error", accepted=True)
    d = dispatcher(bot)
    first = await d.run_once(jst(12, 17, 9, 0))
    assert (first.sent, first.retried) == (0, 1)
    second = await d.run_once(jst(12, 17, 9, 0) + timedelta(seconds=31))
    assert second.sent == 1
    assert bot.fake.push_attempt_keys == [key, key]  # the same key both times
    assert len(pushes(bot)) == 1  # LINE delivered it once
    [row] = (await rows(bot.db_url)).values()
    assert (row.status, row.attempts) == ("sent", 2)


async def test_a_timeout_or_5xx_backs_off_and_gives_up_before_the_key_expires(bot):
    [key] = await schedule(bot.db_url, "U" + "d" * 32, "prime_renewal", date(2026, 12, 20))
    d = dispatcher(bot)
    start = jst(12, 17, 9, 0)
    bot.fake.fail_next_push(503, "busy")
    assert (await d.run_once(start)).retried == 1
    bot.fake.fail_next_push(503, "busy")
    assert (await d.run_once(start + timedelta(seconds=10))).handled == 0  # not yet: backoff
    assert (await d.run_once(start + timedelta(seconds=30))).retried == 1
    bot.fake.push_script.clear()
    bot.fake.fail_next_push(503, "busy")
    night = start + timedelta(hours=23, minutes=1)  # 8:01 next day: quiet hours, so it waits
    assert (await d.run_once(night)).deferred == 1
    morning = start + timedelta(hours=24)  # the key is now older than 23 hours
    assert (await d.run_once(morning)).failed == 1  # a retry now could deliver twice
    assert set(bot.fake.push_attempt_keys) == {key}
    [row] = (await rows(bot.db_url)).values()
    assert row.status == "failed" and "503" in (row.error or "")


async def test_a_400_for_a_blocked_person_fails_the_row_and_marks_them(bot):
    user_id = "U" + "e" * 32
    await schedule(bot.db_url, user_id, "account_close_mail", date(2026, 11, 23))
    bot.fake.fail_next_push(400, "Failed to send messages: the user has blocked the account")
    report = await dispatcher(bot).run_once(jst(11, 24, 9, 0))
    assert report.failed == 1
    state = await rows(bot.db_url)
    assert sorted(r.status for r in state.values()) == ["failed", "skipped"]  # day 4 skipped
    db = Database(bot.db_url)
    try:
        async with db.sessions() as session:
            assert (await session.get(User, user_id)).status == "blocked"
    finally:
        await db.dispose()


async def test_after_unfollow_nothing_is_sent(bot):
    user = bot.user()
    await user.say(user.follow())
    await schedule(bot.db_url, user.user_id, "trial_cancel", date(2026, 12, 5))
    await user.send(user.unfollow())
    report = await dispatcher(bot).run_once(jst(12, 5, 12, 0))
    assert report.sent == 0
    assert pushes(bot) == []
    assert {r.status for r in (await rows(bot.db_url)).values()} == {"skipped"}


async def test_two_dispatchers_at_once_send_each_reminder_once(bot):
    users = [f"U{i:032x}" for i in range(60)]
    keys = []
    for user_id in users:
        keys += await schedule(bot.db_url, user_id, "return_window", date(2026, 12, 19))
    services = bot.app.state.services
    a, b = (Dispatcher(services.db, services.sender, services.scenarios, TOKYO, batch=7)
            for _ in range(2))
    reports = await asyncio.gather(a.run_once(jst(12, 15, 9, 0)), b.run_once(jst(12, 15, 9, 0)))
    assert sum(r.sent for r in reports) == len(keys) == 60
    # the same text at the same minute: multicasts of each claim's rows; none twice, none missed
    assert dict(bot.fake.delivered_to) == {u: 1 for u in users}
    assert bot.fake.duplicates() == 0
    state = await rows(bot.db_url)
    assert {r.status for r in state.values()} == {"sent"}
    tried = bot.fake.multicast_attempt_keys + bot.fake.push_attempt_keys
    assert len(tried) == len(set(tried))  # no request tried twice, not even one LINE would 409
    assert set(tried) == {r.batch_key or r.retry_key for r in state.values()}


async def _cli(bot, *args: str) -> tuple[int, str]:
    """`supportnavi reminders dispatch ...` as its own process, against this bot's database
    and fake LINE API (the fake runs in this event loop, so the process is awaited, not run)."""
    services = bot.app.state.services
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SUPPORTNAVI_"))}
    env.update(
        DATABASE_URL=bot.db_url, LINE_CHANNEL_SECRET="test-channel-secret",
        LINE_CHANNEL_ACCESS_TOKEN="test-access-token",
        LINE_API_BASE_URL=services.settings.line_api_base_url,
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "supportnavi", "reminders", "dispatch", *args, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode()


async def test_the_command_dispatches_once_at_a_fixed_now(bot):
    [key, _] = await schedule(bot.db_url, "U" + "f" * 32, "trial_cancel", date(2026, 12, 5))
    code, out = await _cli(bot, "--once", "--now", "2026-12-02T08:59:00+09:00")
    assert code == 0 and "sent 0" in out, out
    code, out = await _cli(bot, "--once", "--now", "2026-12-02T09:00:00+09:00")
    assert code == 0 and "sent 1" in out, out
    assert [p.retry_key for p in pushes(bot)] == [key]
    for bad in ("tomorrow", "2026-12-02T09:00:00"):  # not ISO 8601 / no offset
        code, out = await _cli(bot, "--once", "--now", bad)
        assert code == 2 and "--now" in out, out


class _ChangesMindInFlight:
    """LINE's side of a push during which the person stops the reminder (or blocks the bot),
    then LINE answers as told."""

    def __init__(self, db: Database, user_id: str, change: str, answer: int) -> None:
        self.db, self.user_id, self.change, self.answer = db, user_id, change, answer
        self.pushes = 0

    async def push(self, to: str, messages: object, retry_key: str) -> object:
        from supportnavi.conversation.events import SendResult

        self.pushes += 1
        if self.pushes == 1:
            async with self.db.transaction() as session:
                if self.change == "stop":
                    await repo.cancel_reminders(session, self.user_id)
                else:
                    await repo.block(session, self.user_id, datetime.now(UTC))
        if self.answer == 200:
            return SendResult(LineAnswer.OK, status=200)
        return SendResult(classify("push", self.answer, "LINE is busy"), status=self.answer,
                          error="LINE is busy")

    async def multicast(self, to: list[str], messages: object, retry_key: str) -> object:
        return await self.push(to[0], messages, retry_key)


@pytest.mark.parametrize(("change", "answer", "after"), [
    ("stop", 503, "cancelled"), ("stop", 400, "cancelled"), ("block", 503, "skipped"),
    ("stop", 200, "sent"),  # it went out before the stop could matter: it was sent
])
async def test_a_stop_or_block_during_the_push_is_not_undone_by_its_outcome(
    bot, change, answer, after
):
    user = "U" + "e" * 32
    await schedule(bot.db_url, user, "prime_renewal", date(2026, 12, 20))
    services = bot.app.state.services
    line = _ChangesMindInFlight(services.db, user, change, answer)
    d = Dispatcher(services.db, line, services.scenarios, TOKYO)  # type: ignore[arg-type]
    await d.run_once(jst(12, 17, 9, 0))
    assert [r.status for r in (await rows(bot.db_url)).values()] == [after]
    await d.run_once(jst(12, 17, 9, 0) + timedelta(minutes=5))  # a retry would be due by now
    assert line.pushes == 1
