"""What an attack on the running server found (issue 14): inputs a person can type or a forged
body can carry that crashed a turn, stopped the reminders for everyone, or made LINE redeliver
forever. Each is sent through the signed webhook, as LINE would send it, and must get an
ordinary answer with a 200."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from supportnavi.simulator.signing import BOT_USER_ID, sign
from supportnavi.store.models import Reminder, StepRecord, User
from tests.support.db import session_at
from tests.support.line_user import SECRET, LineUser, reach, texts

BAD_DATE = "日付が読み取れませんでした"


async def rows(bot, model, user_id: str) -> list:
    column = model.id if model is User else model.user_id
    async with session_at(bot.db_url) as session:
        return list((await session.execute(select(model).where(column == user_id))).scalars())


async def at(bot, route: str, node: str) -> LineUser:
    user = bot.user()
    await user.say(user.follow())
    await reach(user, route, node)
    return user


# --- 1. a date a person can type ---------------------------------------------------------

FAR = ["9999/12/31", "9999年12月31日", "０００１/０１/０１", "2200-1-1"]
REMIND_NODES = [("returns", "remind"), ("account_close", "remind"),
                ("prime_cancel", "renewal"), ("trial_cancel", "remind")]


@pytest.mark.parametrize("route,node", REMIND_NODES)
async def test_a_date_the_bot_cannot_use_gets_the_bad_date_answer(bot, route, node):
    user = await at(bot, route, node)
    for typed in FAR:
        said = texts(await user.say(user.text(typed)))
        assert BAD_DATE in said, (typed, said)
    assert await rows(bot, Reminder, user.user_id) == []


@pytest.mark.parametrize("route,node", REMIND_NODES[:2])
async def test_a_picked_date_past_the_horizon_gets_the_bad_date_answer(bot, route, node):
    user = await at(bot, route, node)
    for day in ("9999-12-31", "0001-01-01", (datetime.now(UTC) + timedelta(days=800)).date()
                .isoformat()):
        action = user.button("日付を選ぶ（カレンダー）")
        said = texts(await user.say(user.postback(action["data"], date=day)))
        assert BAD_DATE in said, (day, said)
    assert await rows(bot, Reminder, user.user_id) == []


# --- 2. forged postbacks ----------------------------------------------------------------

FORGED = ["v=1&k=do:window:99-3", "v=1&k=do:window:9-21>start", "v=1&k=remind:return_window",
          "v=1&k=remind:", "v=1&k=do:bogus", "v=1&k=do:stop_all", "v=1&k=do:stop_all>list",
          "v=1&k=resolved:yes", "v=1&k=resolved:no", "v=1&k=to:start", "v=1&k=stop:x:y",
          "v=1&k=menu:99", "v=1&k=action:explode",
          "v=1&k=route:nowhere", "v=1&k=to:" + "n" * 100]


@pytest.mark.parametrize("data", FORGED)
async def test_button_data_no_screen_showed_changes_nothing(bot, data):
    user = await at(bot, "reminders", "start")
    before = await rows(bot, User, user.user_id)
    said = texts(await user.say(user.postback(data, date="2026-12-31")))
    assert said  # an answer: the stale-button notice and where they are
    after = await rows(bot, User, user.user_id)
    assert [(u.push_start_hour, u.push_end_hour) for u in after] == \
        [(u.push_start_hour, u.push_end_hour) for u in before]
    steps = await rows(bot, StepRecord, user.user_id)
    assert not any(s.kind in ("resolved_yes", "resolved_no", "window", "reminder_stop")
                   for s in steps), [s.kind for s in steps]


async def test_a_forged_window_never_reaches_the_dispatcher(bot):
    """It did: hours 99-3 were stored, and every dispatcher pass then failed for everyone."""
    from tests.routes.test_reminders import at_trial_remind

    victim = await at_trial_remind(bot)
    await victim.say(victim.text("12月31日"))
    attacker = await at(bot, "reminders", "start")
    await attacker.say(attacker.postback("v=1&k=do:window:99-3"))
    (row,) = await rows(bot, User, attacker.user_id)
    assert (row.push_start_hour, row.push_end_hour) == (None, None)


# --- 3. poison events ---------------------------------------------------------------------


def raw_body(*events: dict) -> bytes:
    """Made by hand: json.dumps would refuse nothing, but these carry what LINE never sends
    (a lone surrogate, written as the escape a body would hold)."""
    return json.dumps({"destination": BOT_USER_ID, "events": list(events)}).encode()


async def post_raw(user: LineUser, body: bytes):
    return await user.post(body, signature=sign(SECRET, body))


async def test_a_lone_surrogate_in_text_gets_an_answer(bot):
    user = bot.user()
    await user.say(user.follow())
    event = user.text("プライム\ud800やめたい")
    user.seen_tokens.add(event["replyToken"])
    response = await post_raw(user, raw_body(event))
    assert response.status_code == 200, response.text
    assert await user.wait_for_reply(event)


async def test_a_timestamp_past_the_year_9999_does_not_hold_up_anyone(bot):
    poison, other = bot.user(), bot.user()
    late = poison.text("メニュー")
    late["timestamp"] = 10 ** 20
    hello = other.follow()
    after = poison.text("メニュー")
    for e in (late, hello, after):
        (poison if e is not hello else other).seen_tokens.add(e["replyToken"])
    response = await post_raw(poison, raw_body(late, hello, after))
    assert response.status_code == 200, response.text
    assert await other.wait_for_reply(hello)
    assert await poison.wait_for_reply(after)
    # and a redelivery of the same body changes nothing
    again = await post_raw(poison, raw_body(late, hello, after))
    assert again.status_code == 200


async def test_a_long_node_name_or_a_nul_in_postback_data_is_not_a_500(bot):
    """On PostgreSQL a node name over 64 characters, or a NUL, in a stored column was a 500
    on every redelivery."""
    user = await at(bot, "returns", "start")
    for data in ("v=1&k=to:" + "x" * 80, "v=1&k=to:steps_1\x00", "v=1&k=route:returns\x00&x=1",
                 "v=1&k=to:steps_1&r=returns&n=" + "y" * 80,
                 "v=1&k=to:steps_1&r=returns\x00&n=start"):
        said = texts(await user.say(user.postback(data)))
        assert said, data


# --- one bad row never stops the dispatcher -------------------------------------------------


async def test_a_bad_row_fails_alone_and_the_others_still_go(bot):
    from sqlalchemy import update

    from supportnavi.store.models import Incident
    from tests.reminders.test_dispatcher import TOKYO, dispatcher, jst, rows, schedule

    good = await schedule(bot.db_url, "U" + "1" * 32, "trial_cancel", datetime(2026, 12, 5).date())
    bad = await schedule(bot.db_url, "U" + "2" * 32, "trial_cancel", datetime(2026, 12, 5).date())
    hours = await schedule(bot.db_url, "U" + "3" * 32, "trial_cancel", datetime(2026, 12, 5).date())
    async with session_at(bot.db_url) as session:
        # rows written before anything was checked: a kind no rule knows, hours out of range
        await session.execute(update(Reminder).where(Reminder.retry_key == bad[0])
                              .values(kind="no_such_kind"))
        await session.execute(update(User).where(User.id == "U" + "3" * 32)
                              .values(push_start_hour=99, push_end_hour=3))
        await session.commit()
    d = dispatcher(bot)
    report = await d.run_once(jst(12, 2, 9, 0))
    assert report.sent == 2 and report.failed == 1
    state = await rows(bot.db_url)
    assert state[good[0]].status == state[hours[0]].status == "sent"
    assert state[bad[0]].status == "failed" and state[bad[0]].error.startswith("bad row")
    sent_to = {to for r in bot.fake.records if r.path.endswith(("/push", "/multicast"))
               for to in (r.body["to"] if isinstance(r.body["to"], list) else [r.body["to"]])}
    assert sent_to == {"U" + "1" * 32, "U" + "3" * 32}
    async with session_at(bot.db_url) as session:
        codes = {i.code for i in (await session.execute(select(Incident))).scalars()}
    assert any(code.startswith("bad row") for code in codes), codes
    assert TOKYO  # the dispatcher's zone, as the reminder tests use


async def test_healthz_says_when_the_dispatcher_passes_fail(db_url, fake_line):
    import asyncio

    import httpx

    from supportnavi.app import create_app
    from tests.conftest import Served, bot_settings

    _, line_url = fake_line
    app = create_app(bot_settings(db_url, line_url, SUPPORTNAVI_DISPATCHER=True,
                                  SUPPORTNAVI_DISPATCH_INTERVAL=0.05))
    async with Served(app) as served:
        dispatcher = app.state.services.dispatcher

        async def broken(*_: object) -> None:
            raise RuntimeError("the pass fails")

        dispatcher._claim = broken
        async with httpx.AsyncClient(timeout=10) as client:
            for _ in range(200):
                health = (await client.get(f"{served.url}/healthz")).json()
                if health["reminders"]["failing"]:
                    break
                await asyncio.sleep(0.05)
            assert health["status"] == "degraded"
            assert health["reminders"]["last_error"] == "RuntimeError"
            metrics = (await client.get(f"{served.url}/metrics")).text
            assert 'supportnavi_dispatch_passes_total{result="failed"}' in metrics
