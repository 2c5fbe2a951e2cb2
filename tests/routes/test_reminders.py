"""Reminders from the conversation, through the real webhook: a date picked or typed where a
route offers a reminder schedules rows; a date gone or too close is refused with the reason;
the reminders route lists, stops and changes the hours; a push's own stop button works; and a
person back after blocking is asked before anything resumes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from supportnavi.store.models import Reminder, User
from tests.support.db import all_reminders, session_at
from tests.support.line_user import LineUser, texts, walk

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)  # a Monday morning
PICK = "日付を選ぶ（カレンダー）"


def jst(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=TOKYO).astimezone(UTC)


def utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


async def rows_of(bot: Any, user_id: str) -> list[Reminder]:
    found = [r for r in await all_reminders(bot.db_url) if r.user_id == user_id]
    return sorted(found, key=lambda r: utc(r.due_at))


async def user_row(bot: Any, user_id: str) -> User:
    async with session_at(bot.db_url) as session:
        found = await session.get(User, user_id)
        assert found is not None
        return found


async def at_trial_remind(bot: Any) -> LineUser:
    """A friend at trial_cancel's reminder offer, with the bot's clock at NOW."""
    bot.app.state.services.conversation.clock = lambda: NOW.astimezone(UTC)
    user = bot.user()
    await user.say(user.follow())
    await user.open("trial_cancel")
    said = await walk(user, ["終了日の調べ方へ", "期限の前に知らせてほしい"])
    assert "終わる日を教えてください" in said
    return user


async def test_a_picked_date_schedules_the_right_rows(bot):
    user = await at_trial_remind(bot)
    picker = user.button(PICK)
    assert (picker["initial"], picker["min"]) == ("2026-11-23", "2026-11-23")  # ahead only
    said = texts(await user.pick_date(PICK, "2026-12-05"))
    assert "無料体験の終わり" in said and "12月5日(土)" in said
    assert "12月2日(水) 9:00" in said and "12月5日(土) 9:00" in said  # 3 days before; that day
    assert "9時〜21時" in said
    rows = await rows_of(bot, user.user_id)
    assert [(r.kind, r.given, r.deadline, r.status) for r in rows] == [
        ("trial_cancel", date(2026, 12, 5), date(2026, 12, 5), "pending")] * 2
    assert [utc(r.due_at) for r in rows] == [jst(12, 2, 9), jst(12, 5, 9)]
    assert len({r.retry_key for r in rows}) == 2  # each push its own key, fixed before any try
    # asking again for the same date adds nothing
    assert "もう予定に入っています" in texts(await user.pick_date(PICK, "2026-12-05"))
    assert len(await rows_of(bot, user.user_id)) == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("typed", ["12月5日", "2026/12/5", "１２月５日に終わります"])
async def test_a_typed_date_works_too(bot, typed):
    user = await at_trial_remind(bot)
    said = texts(await user.say(user.text(typed)))
    assert "12月2日(水) 9:00" in said
    assert [r.given for r in await rows_of(bot, user.user_id)] == [date(2026, 12, 5)] * 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_date_gone_or_too_close_is_refused_with_the_reason(bot):
    bot.app.state.services.conversation.clock = lambda: NOW.astimezone(UTC)
    user = bot.user()
    await user.say(user.follow())
    await user.open("returns")
    await walk(user, ["返品の期限を知らせてほしい"])
    picker = user.button(PICK)
    # the deadline the return screen shows lies ahead: the picker offers no past day
    assert (picker["initial"], picker["min"]) == ("2026-11-23", "2026-11-23")
    # typed with last year's date: gone, and the answer says which year it read
    said = texts(await user.say(user.text("2025/10/14")))
    assert "もう過ぎています" in said and "2025年10月14日(火)" in said
    # the deadline is the day after tomorrow: 5 days' notice is impossible
    said = texts(await user.pick_date(PICK, "2026-11-25"))
    assert "間に合いません" in said and "いま手続き" in said
    # not a date at all
    said = texts(await user.say(user.text("先週の3日くらい")))
    assert "日付が読み取れませんでした" in said
    assert await rows_of(bot, user.user_id) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_closure_mail_is_due_on_day_5_counting_its_arrival_as_day_1(bot):
    bot.app.state.services.conversation.clock = lambda: NOW.astimezone(UTC)
    user = bot.user()
    await user.say(user.follow())
    await user.open("account_close")
    said = await walk(user, ["消えるものを見る", "次へ（メールの期限）", "返信の期限を知らせてほしい"])
    assert "届いた日も数に入れて、5日目が返信の期限" in said
    said = texts(await user.pick_date(PICK, "2026-11-23"))  # the mail came today
    assert "11月27日(金)" in said and "11月28日" not in said  # day 5, not a day late
    assert "11月24日(火) 9:00" in said and "11月26日(木) 9:00" in said  # next morning; day 4
    rows = await rows_of(bot, user.user_id)
    assert {r.deadline for r in rows} == {date(2026, 11, 27)}
    assert [utc(r.due_at) for r in rows] == [jst(11, 24, 9), jst(11, 26, 9)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_picker_from_another_screen_is_stale(bot):
    user = await at_trial_remind(bot)
    old = user.button(PICK)
    await user.tap("解約の手順へ")
    said = texts(await user.say(user.postback(old["data"], date="2026-12-05")))
    assert "前の画面のもの" in said
    assert await rows_of(bot, user.user_id) == []


async def test_the_list_shows_and_stops_one_and_all(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    said = texts(await user.open("reminders"))
    assert "1. 無料体験の終わり：期限 12月5日(土)" in said
    assert "次のお知らせ 12月2日(水) 9:00" in said
    # the button names the reminder it stops
    assert "1. 無料体験の終わりを止める" in [q["action"]["label"] for q in user.last_quick_replies]
    said = texts(await user.tap("1. 無料体験の終わりを止める"))
    assert "止めました" in said and "いま予定に入っているお知らせはありません" in said
    assert {r.status for r in await rows_of(bot, user.user_id)} == {"cancelled"}
    # the list is empty now: nothing left to stop, and no "here they are" (issue 17)
    assert "予定に入っているお知らせです" not in said
    assert "すべて止める" not in labels(user)


def labels(user: LineUser) -> list[str]:
    return [item["action"]["label"] for item in user.last_quick_replies]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_an_empty_list_says_so_and_offers_nothing_to_stop(bot):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.open("reminders"))
    assert "いま予定に入っているお知らせはありません" in said
    assert "予定に入っているお知らせです" not in said  # no "here are your reminders"
    assert "番号のボタンで" not in said
    assert "すべて止める" not in labels(user) and "1を止める" not in labels(user)
    assert labels(user)[:2] == ["お知らせを頼むには", "届く時間帯を変える"]
    # typed, the same
    await user.open("contact")
    said = texts(await user.say(user.text("リマインダーの一覧")))
    assert "ありません" in said and "すべて止める" not in labels(user)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_informational_ends_do_not_ask_if_it_was_solved(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    await user.open("reminders")
    for way in (["お知らせを頼むには"], ["届く時間帯を変える", "9時〜18時（昼間だけ）"],
                ["すべて止める", "はい、すべて止める"]):
        await user.open("reminders")
        said = await walk(user, way)
        assert "解決しましたか？" not in said, way
        assert "はい、解決した" not in labels(user) and "いいえ、まだ" not in labels(user)
        assert "メニュー" in labels(user)
    # after stopping them all, the list is the empty one
    said = await walk(user, ["お知らせの一覧へ"])
    assert "ありません" in said and "すべて止める" not in labels(user)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_stop_all_asks_first(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    await user.say(user.text("12月20日"))  # a second trial date, why not
    await user.open("reminders")
    said = await walk(user, ["すべて止める"])
    assert "元に戻せません" in said
    await walk(user, ["やめる（一覧に戻る）"])
    assert {r.status for r in await rows_of(bot, user.user_id)} == {"pending"}
    said = await walk(user, ["すべて止める", "はい、すべて止める"])
    assert "すべて止めました" in said
    rows = await rows_of(bot, user.user_id)
    assert len(rows) == 4 and {r.status for r in rows} == {"cancelled"}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_push_window_can_change(bot):
    user = await at_trial_remind(bot)
    await user.open("reminders")
    said = await walk(user, ["届く時間帯を変える", "18時〜22時（夜だけ）"])
    assert "18時〜22時 にしました" in said
    found = await user_row(bot, user.user_id)
    assert (found.push_start_hour, found.push_end_hour) == (18, 22)
    await user.open("trial_cancel")
    await walk(user, ["終了日の調べ方へ", "期限の前に知らせてほしい"])
    said = texts(await user.pick_date(PICK, "2026-12-05"))
    assert "12月2日(水) 18:00" in said and "18時〜22時" in said
    assert [utc(r.due_at) for r in await rows_of(bot, user.user_id)] == [
        jst(12, 2, 18), jst(12, 5, 18)]


def dispatcher(bot: Any) -> Any:
    from supportnavi.reminders.dispatcher import Dispatcher

    services = bot.app.state.services
    return Dispatcher(services.db, services.sender, services.scenarios, TOKYO)


def pushes_to(bot: Any, user_id: str) -> list[dict[str, Any]]:
    return [r.body for r in bot.fake.records
            if r.path.endswith(("/push", "/multicast"))
            and user_id in ([r.body.get("to")] if r.path.endswith("/push") else r.body["to"])]


async def test_stop_this_reminder_from_a_push(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    assert (await dispatcher(bot).run_once(jst(12, 2, 9))).sent == 1
    [push] = pushes_to(bot, user.user_id)
    message = push["messages"][0]
    assert "12月5日(土)" in message["text"]
    user.last_quick_replies = message["quickReply"]["items"]
    said = texts(await user.tap("このリマインダーを止める"))
    assert "「無料体験の終わり」（期限 12月5日(土)）のお知らせを止めました" in said
    assert [r.status for r in await rows_of(bot, user.user_id)] == ["sent", "cancelled"]
    assert (await dispatcher(bot).run_once(jst(12, 5, 9))).sent == 0  # the last day's: not sent
    assert len(pushes_to(bot, user.user_id)) == 1
    # tapping it again says so, and changes nothing
    user.last_quick_replies = message["quickReply"]["items"]
    assert "もう止まっているか" in texts(await user.tap("このリマインダーを止める"))


async def test_after_unfollow_nothing_is_sent_and_a_new_follow_asks(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    await user.send(user.unfollow())
    assert {r.status for r in await rows_of(bot, user.user_id)} == {"skipped"}
    assert (await dispatcher(bot).run_once(jst(12, 2, 9))).sent == 0
    assert pushes_to(bot, user.user_id) == []
    # back a day later: nothing resumes silently
    bot.app.state.services.conversation.clock = lambda: jst(12, 3, 12)
    said = texts(await user.say(user.follow()))
    assert "止まっていたお知らせが 1件" in said and "無料体験の終わり：期限 12月5日(土)" in said
    assert {r.status for r in await rows_of(bot, user.user_id)} == {"skipped"}
    assert "再開しました" in texts(await user.tap("はい、また知らせて"))
    rows = await rows_of(bot, user.user_id)
    # the push of 12月2日 went by while blocked; the last day's is still ahead and resumes
    assert [r.status for r in rows] == ["skipped", "pending"]
    assert (await dispatcher(bot).run_once(jst(12, 5, 9))).sent == 1
    last_day = pushes_to(bot, user.user_id)[-1]["messages"][0]["text"]
    assert "今日のうちに解約" in last_day and "その前に" not in last_day  # true on the last day
    # asked once: a later follow does not ask again
    bot.app.state.services.conversation.clock = lambda: jst(12, 5, 12)
    assert "止まっていたお知らせ" not in texts(await user.say(user.follow()))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_new_follow_can_drop_what_was_skipped(bot):
    user = await at_trial_remind(bot)
    await user.pick_date(PICK, "2026-12-05")
    await user.send(user.unfollow())
    await user.say(user.follow())
    assert "止めたままにします" in texts(await user.tap("いいえ、止めたままで"))
    assert {r.status for r in await rows_of(bot, user.user_id)} == {"cancelled"}
    assert "止まっていたお知らせ" not in texts(await user.say(user.follow()))
