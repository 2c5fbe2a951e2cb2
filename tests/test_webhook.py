"""The webhook end to end: signed bodies in, the fake LINE API's recorded requests out."""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

from sqlalchemy import func, select

from supportnavi.store.db import Database
from supportnavi.store.models import ConversationState, ProcessedEvent, StepRecord, User
from tests.support.line_spec import request_errors
from tests.support.line_user import texts


async def _count(db_url: str, model: type, **where: object) -> int:
    db = Database(db_url)
    try:
        async with db.sessions() as s:
            q = select(func.count()).select_from(model)
            for k, v in where.items():
                q = q.where(getattr(model, k) == v)
            return int((await s.execute(q)).scalar_one())
    finally:
        await db.dispose()


async def test_follow_greets_says_unofficial_and_shows_menu(bot):
    user = bot.user()
    messages = await user.say(user.follow())
    said = texts(messages)
    assert "非公式" in said
    assert "パスワード" in said and "カード番号" in said
    labels = [i["action"]["label"] for i in user.last_quick_replies]
    assert labels[0] == "プライム会員をやめる"
    assert labels[-2:] == ["トラブルのメニュー", "ヘルプ（使い方）"]  # the menu's other page
    assert "1. プライム会員をやめる" in said  # numbered, so a number may be typed instead


async def test_wrong_or_missing_signature_is_400_and_nothing_happens(bot):
    user = bot.user()
    body = user.body(user.follow())
    wrong = await user.post(body, signature="c2lnbmF0dXJl")
    assert wrong.status_code == 400
    assert "signature" in wrong.json()["detail"]
    missing = await user.post(body, signature="")
    assert missing.status_code == 400
    await asyncio.sleep(0.2)
    assert bot.fake.records == []
    assert await _count(bot.db_url, ProcessedEvent) == 0
    assert await _count(bot.db_url, User) == 0


async def test_verification_request_with_no_events_is_200(bot):
    user = bot.user()
    response = await user.post(json.dumps({"destination": "U" + "0" * 32, "events": []}).encode())
    assert response.status_code == 200


async def test_malformed_json_is_400_and_oversized_body_is_413(bot):
    user = bot.user()
    broken = b'{"events": [ '
    assert (await user.post(broken)).status_code == 400
    not_webhook = b'{"hello": 1}'
    response = await user.post(not_webhook)
    assert response.status_code == 400 and "events" in response.json()["detail"]
    huge = b'{"events": [], "pad": "' + b"x" * 1_100_000 + b'"}'
    assert (await user.post(huge)).status_code == 413
    assert (await user.post(b"\xff\xfe")).status_code == 400


async def _raw(url: str, head: bytes) -> bytes:
    """A request written by hand: headers httpx would not send as they are."""
    target = urlsplit(url)
    reader, writer = await asyncio.open_connection(target.hostname, target.port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.read(300), 10)
    finally:
        writer.close()


async def test_a_content_length_int_cannot_read_is_4xx_not_500(bot):
    # 5,001 digits are more than int() reads, though they say 1 (then the signature is
    # wrong: 400); fifteen nines are too large; 「１」 and a sign are no length at all
    for declared, status in ((b"0" * 5000 + b"1", b"400"), (b"9" * 15, b"413"),
                             (b"-1", b"400"), (b"\xef\xbc\x91", b"400")):
        head = (b"POST /callback HTTP/1.1\r\nHost: bot\r\nContent-Length: " + declared
                + b"\r\nX-Line-Signature: c2ln\r\nConnection: close\r\n\r\nx")
        answer = await _raw(bot.url, head)
        assert answer.split(b"\r\n")[0].split(b" ")[1] == status, (declared[:8], answer[:60])
    assert bot.fake.records == []


async def test_same_webhook_event_id_twice_gets_one_reply(bot):
    user = bot.user()
    event = user.follow()
    user.seen_tokens.add(event["replyToken"])
    await user.send(event)
    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    await user.send(redelivered)
    await asyncio.gather(user.send(event), user.send(event))
    await asyncio.sleep(0.3)
    assert len(user.replies()) == 1
    assert await _count(bot.db_url, ProcessedEvent) == 1
    assert await _count(bot.db_url, StepRecord, kind="follow") == 1


async def test_standby_events_are_ignored(bot):
    user = bot.user()
    event = {**user.follow(), "mode": "standby"}
    user.seen_tokens.add(event["replyToken"])
    await user.send(event)
    await asyncio.sleep(0.2)
    assert user.replies() == []


async def test_unknown_event_type_is_logged_and_200(bot):
    user = bot.user()
    odd = {**user.event("somethingNew"), "extra": {"a": 1}}
    body = json.dumps({"destination": "U" + "0" * 32, "events": [odd]}).encode()
    assert (await user.post(body)).status_code == 200


async def test_sticker_gets_a_friendly_pointer_to_the_buttons(bot):
    user = bot.user()
    await user.say(user.follow())
    messages = await user.say(user.sticker())
    assert "ボタン" in texts(messages)
    assert user.last_quick_replies, "the buttons are shown again"


async def test_unfollow_marks_the_user_blocked(bot):
    user = bot.user()
    await user.say(user.follow())
    await user.send(user.unfollow())
    db = Database(bot.db_url)
    async with db.sessions() as s:
        row = await s.get(User, user.user_id)
        assert row is not None and row.status == "blocked" and row.blocked_at is not None
    await db.dispose()
    await user.say(user.follow())
    async with db.sessions() as s:
        row = await s.get(User, user.user_id)
        assert row is not None and row.status == "active"
    await db.dispose()


async def test_twenty_concurrent_taps_leave_one_consistent_story(bot):
    user = bot.user()
    await user.say(user.follow())
    await user.tap("プライム会員をやめる")
    data = user.button("ウェブで解約する")["data"]
    taps = [user.postback(data) for _ in range(20)]
    for t in taps:
        user.seen_tokens.add(t["replyToken"])
    responses = await asyncio.gather(*(user.post(user.body(t)) for t in taps))
    assert [r.status_code for r in responses] == [200] * 20
    await asyncio.sleep(0.5)

    answers = [texts(r["messages"]) for r in user.replies()[2:]]
    assert len(answers) == 20
    # The first tap to take the user's lock moves on; the other 19 see a button of a screen the
    # person has left, and are told where they are instead of being moved again.
    moved = [a for a in answers if "【ウェブで解約】" in a and "前の画面" not in a]
    stale = [a for a in answers if "前の画面" in a]
    assert len(moved) == 1 and len(stale) == 19

    db = Database(bot.db_url)
    async with db.sessions() as s:
        state = await s.get(ConversationState, user.user_id)
        assert state is not None and (state.route, state.node) == ("prime_cancel", "web_1")
        assert state.version == 1 + 1 + 20  # follow, menu tap, 20 taps: no lost update
        enters = (
            await s.execute(
                select(func.count()).select_from(StepRecord).where(
                    StepRecord.user_id == user.user_id, StepRecord.kind == "enter",
                    StepRecord.node == "web_1",
                )
            )
        ).scalar_one()
        assert enters == 1
    await db.dispose()
    assert await _count(bot.db_url, ProcessedEvent, user_id=user.user_id) == 22


async def test_events_of_one_body_are_handled_in_order(bot):
    user = bot.user()
    first, second = user.follow(), user.text("問い合わせ")
    user.seen_tokens.update({first["replyToken"], second["replyToken"]})
    await user.send(first, second)
    await asyncio.sleep(0.3)
    answers = [texts(r["messages"]) for r in user.replies()]
    assert len(answers) == 2
    assert "友だち追加" in answers[0] and "問い合わせ方法をご案内" in answers[1]


async def test_every_request_the_bot_sends_fits_the_messaging_api_spec(bot):
    user = bot.user()
    await user.say(user.follow())
    for label in ["プライム会員をやめる", "電話で解約する", "かける前の準備へ"]:
        await user.tap(label)
    await user.say(user.text("メニュー"))
    await user.say(user.sticker())
    await user.say(user.text("ヘルプ"))
    assert len(bot.fake.records) >= 7
    for record in bot.fake.records:
        assert record.authorization == "Bearer test-access-token"
        assert request_errors(record.method, record.path, record.body) == [], record.body


async def test_a_failure_answers_500_and_the_redelivery_is_handled_once(bot):
    user = bot.user()
    service = bot.app.state.services.conversation
    real_handle = service.handle_all
    calls = {"n": 0}

    async def flaky(events):
        calls["n"] += 1
        if calls["n"] == 1:
            return [ConnectionError("database went away") for _ in events]
        return await real_handle(events)

    service.handle_all = flaky
    event = user.follow()
    user.seen_tokens.add(event["replyToken"])
    failed = await user.post(user.body(event))
    assert failed.status_code == 500
    await asyncio.sleep(0.2)
    assert user.replies() == []
    assert await _count(bot.db_url, ProcessedEvent) == 0

    redelivered = {**event, "deliveryContext": {"isRedelivery": True}}
    assert (await user.post(user.body(redelivered))).status_code == 200
    assert (await user.post(user.body(redelivered))).status_code == 200
    await asyncio.sleep(0.3)
    assert len(user.replies()) == 1



async def test_one_persons_failing_event_does_not_hold_up_the_others_in_the_body(
    bot, monkeypatch
):
    """A's first event fails for a passing reason (the database, for that one step): B, in the
    same body, is answered at once; A's later event waits, so that a redelivery keeps A's
    order; the body is a 500 until A's events go through."""
    from supportnavi.conversation import service

    real = service.ConversationService._handle_one

    async def failing(self, session, batch, event, now):  # type: ignore[no-untyped-def]
        if getattr(event.input, "text", None) == "こわれる":
            raise ConnectionResetError("the connection dropped")
        return await real(self, session, batch, event, now)

    monkeypatch.setattr(service.ConversationService, "_handle_one", failing)
    a, b = bot.user(), bot.user()
    await a.say(a.follow())
    await b.say(b.follow())
    a_breaks, a_then, b_asks = a.text("こわれる"), a.text("メニュー"), b.text("メニュー")
    for event in (a_breaks, a_then, b_asks):
        (a if event is not b_asks else b).seen_tokens.add(event["replyToken"])
    body = a.body(a_breaks, a_then, b_asks)
    assert (await a.post(body)).status_code == 500
    for _ in range(100):
        if len(b.replies()) == 2:
            break
        await asyncio.sleep(0.05)
    assert len(b.replies()) == 2  # B's answer did not wait for A
    assert len(a.replies()) == 1  # the greeting only: A's second event waited
    assert await _count(bot.db_url, ProcessedEvent, webhook_event_id=a_then["webhookEventId"]) == 0

    monkeypatch.setattr(service.ConversationService, "_handle_one", real)  # LINE redelivers
    assert (await a.post(body)).status_code == 200
    for _ in range(100):
        if len(a.replies()) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(a.replies()) == 3 and len(b.replies()) == 2  # B is not answered twice


async def test_an_input_the_engine_fails_on_gets_an_apology_and_a_200(bot, monkeypatch):
    """It was a 500 on every redelivery (as 「፩」 once was): now the person is told, and taken
    to the menu, and their next event in the same body goes through."""
    from supportnavi.conversation import service
    from supportnavi.engine import Text

    real = service.advance

    def failing(scenarios, state, event, now, context):  # type: ignore[no-untyped-def]
        if isinstance(event, Text) and event.text == "こわれる":
            raise ValueError("the engine broke")
        return real(scenarios, state, event, now, context)

    monkeypatch.setattr(service, "advance", failing)
    a = bot.user()
    await a.say(a.follow())
    breaks, then = a.text("こわれる"), a.text("返品")
    a.seen_tokens.update({breaks["replyToken"], then["replyToken"]})
    assert (await a.post(a.body(breaks, then))).status_code == 200
    apology = texts(await a.wait_for_reply(breaks))
    assert "不具合" in apology
    assert "返品" in texts(await a.wait_for_reply(then))
