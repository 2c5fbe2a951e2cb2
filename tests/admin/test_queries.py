"""The dashboard's numbers against conversations held through the real webhook, on SQLite and
PostgreSQL: every count is what those people did, on a clock the test moves."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from supportnavi.admin.queries import Reader, Summary, summary
from supportnavi.reminders.dispatcher import Dispatcher
from supportnavi.store.models import Incident
from tests.support.db import session_at
from tests.support.line_user import LineUser, walk

TOKYO = ZoneInfo("Asia/Tokyo")
PICK = "日付を選ぶ（カレンダー）"
PHONE_TO_END = ["電話で解約する", "かける前の準備へ", "かけ方（音声ガイド）へ", "解約できた"]


def jst(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=TOKYO).astimezone(UTC)


class Clock:
    def __init__(self, bot: Any) -> None:
        self.now = jst(30, 10)
        bot.app.state.services.conversation.clock = lambda: self.now

    def at(self, when: datetime) -> Clock:
        self.now = when
        return self


async def numbers(bot: Any, now: datetime) -> Summary:
    services = bot.app.state.services
    reader = Reader(services.db)
    try:
        return await summary(reader, services.scenarios, now, TOKYO)
    finally:
        await reader.dispose()


async def friend(bot: Any) -> LineUser:
    user = bot.user()
    await user.say(user.follow())
    return user


async def remind_trial(user: LineUser, day: str) -> None:
    await user.open("trial_cancel")
    await walk(user, ["終了日の調べ方へ", "期限の前に知らせてほしい"])
    await user.pick_date(PICK, day)


async def incidents_now(bot: Any) -> list[tuple[str, str, int]]:
    async with session_at(bot.db_url) as session:
        rows = (await session.execute(select(Incident))).scalars()
        return sorted((r.place, r.code, r.count) for r in rows)


async def wait_for(check: Callable[[], Any], seconds: float = 10.0) -> Any:
    for _ in range(int(seconds / 0.05)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_every_number_is_what_the_conversations_did(bot, monkeypatch):
    clock = Clock(bot)
    # Sunday 23:30 in Tokyo: last week. Monday 00:30 in Tokyo is still Sunday in UTC: this week.
    clock.at(jst(29, 23, 30))
    await friend(bot)
    clock.at(jst(30, 0, 30))
    early = await friend(bot)
    await early.open("prime_cancel")
    await early.tap("ウェブで解約する")
    clock.at(jst(30, 1, 40))  # 70 minutes idle: the next tap begins a second visit
    await walk(early, ["次へ（手順4・5）", "押せた（解約後の確認）"])

    clock.at(jst(30, 10))
    yes = await friend(bot)
    await yes.open("prime_cancel")
    await walk(yes, [*PHONE_TO_END, "はい、解決した"])
    no = await friend(bot)
    await no.open("prime_cancel")
    await walk(no, [*PHONE_TO_END, "いいえ、まだ"])
    left = await friend(bot)
    await left.open("prime_cancel")
    await left.tap("ウェブで解約する")
    bot.fake.fail_next_reply(500, accepted=True)  # LINE shows it, but answers 500
    await left.tap("メニュー")
    await left.open("prime_cancel")  # back at once: a visit of its own, since the first left
    quitter = await friend(bot)
    await quitter.open("contact")
    await quitter.tap("メニュー")  # left, and nothing since: given up, not in progress
    clock.at(jst(30, 10, 5))
    halfway = await friend(bot)
    await halfway.open("prime_cancel")
    await halfway.tap("アプリで解約する")
    mover = await friend(bot)
    await mover.open("prime_cancel")
    await mover.tap("無料体験中の解約へ")  # on to another route: this visit is over

    blocker = await friend(bot)
    await remind_trial(blocker, "2026-12-10")
    await blocker.send(blocker.unfollow())
    reminded = await friend(bot)
    await remind_trial(reminded, "2026-12-05")  # pushes 12/2 and 12/5, 9:00
    await reminded.pick_date(PICK, "2026-12-20")  # pushes 12/17 and 12/20

    # a webhook that fails, and an engine that crashes on a text it must never repeat
    service = bot.app.state.services.conversation
    real_handle = service.handle_all

    async def broken(events: Any) -> Any:
        return [ConnectionError("database went away") for _ in events]

    service.handle_all = broken
    crash = bot.user()
    assert (await crash.post(crash.body(crash.follow()))).status_code == 500
    service.handle_all = real_handle

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise KeyError("my password is hunter2")

    monkeypatch.setattr("supportnavi.conversation.service.advance", explode)
    # answered with an apology (and counted), not a 500 on every redelivery
    assert (await crash.post(crash.body(crash.text("パスワードはhunter2")))).status_code == 200
    monkeypatch.undo()
    await wait_for(lambda: _has_places(bot, {"webhook", "engine", "delivery"}))

    # ten minutes on, the person in the app's steps is still there: in progress
    during = await numbers(bot, jst(30, 10, 15))
    prime = during.funnel("prime_cancel")
    assert prime.in_progress == 2  # the app's steps, and back at start
    assert prime.gave_up == 3  # idle since 0:31, left by the menu, moved to trial_cancel
    assert (during.funnel("contact").gave_up, during.funnel("contact").in_progress) == (1, 0)

    dispatcher = Dispatcher(bot.app.state.services.db, bot.app.state.services.sender,
                            bot.app.state.services.scenarios, TOKYO)
    bot.fake.fail_next_push(400, "The request body has 1 error(s)")
    assert (await dispatcher.run_once(jst(2, 9, month=12))).failed == 1

    after = await numbers(bot, jst(2, 10, month=12))
    prime = after.funnel("prime_cancel")
    assert (prime.started, prime.reached_end, prime.gave_up, prime.in_progress) == (8, 3, 5, 0)
    visits = prime.counts()
    assert {n: visits[n] for n in ("start", "web_1", "web_2", "app_1", "phone_1", "phone_2",
                                   "phone_3", "after", "callback_1")} == {
        "start": 7, "web_1": 2, "web_2": 1, "app_1": 1, "phone_1": 2, "phone_2": 2,
        "phone_3": 2, "after": 3, "callback_1": 0}
    assert {n.node: n.gave_up for n in prime.nodes if n.gave_up} == {
        "web_1": 2, "app_1": 1, "start": 2}
    assert (prime.yes, prime.no, prime.yes_rate) == (1, 1, 0.5)
    assert prime.nodes[0].node == "start" and prime.nodes[-1].node in prime.counts()
    trial = after.funnel("trial_cancel")
    assert (trial.started, trial.reached_end, trial.gave_up) == (3, 0, 3)
    assert after.funnel("contact").started == 1
    assert after.funnel("returns").started == 0

    users = after.users
    # the crashed one's follow never committed, but the apology for the engine's crash did;
    # the blocker unfollowed
    assert (users.active, users.blocked) == (10, 1)
    assert users.new_this_week == 10  # the Sunday one is last week's
    assert str(users.week_starts) == "2026-11-30"
    by_day = {str(d.day): (d.new, d.blocked) for d in users.days}
    assert by_day["2026-11-29"] == (1, 0)
    assert by_day["2026-11-30"] == (10, 1)
    assert by_day["2026-12-02"] == (0, 0)
    assert len(users.days) == 28 and str(users.days[-1].day) == "2026-12-02"

    reminders = after.reminders
    assert reminders.by_kind == {"trial_cancel": {
        "pending": 3, "sent": 0, "failed": 1, "skipped": 2, "cancelled": 0}}
    assert reminders.next_due is not None
    assert (reminders.next_due.at, reminders.next_due.kind) == (jst(5, 9, month=12),
                                                                "trial_cancel")

    recent = {(i.place, i.code): i.count for i in after.incidents.last_24h}
    week = {(i.place, i.code): i.count for i in after.incidents.last_7d}
    assert recent == {("reminder", "400 The request body has 1 error(s)"): 1}
    assert week == {
        ("reminder", "400 The request body has 1 error(s)"): 1,
        ("delivery", "500 fake error 500"): 1,
        ("webhook", "ConnectionError"): 1,
        ("engine", "KeyError in advance()"): 1,
    }
    assert "hunter2" not in repr(await incidents_now(bot))


async def _has_places(bot: Any, places: set[str]) -> bool:
    return {p for p, _, _ in await incidents_now(bot)} >= places
