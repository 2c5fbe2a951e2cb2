"""What the bot keeps, and for how long (issue 14, point 4): a reply's words are gone once it is
sent, and nothing the person typed (a phone number, a link) is left in any table; processed
event ids, finished replies, the step history and finished reminders are deleted past their
retention; a pending reply or reminder never is."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from supportnavi.store.db import Database
from supportnavi.store.models import (
    CLEARED_MESSAGES,
    Outbox,
    ProcessedEvent,
    Reminder,
    StepRecord,
    User,
)
from supportnavi.store.retention import Housekeeper, Retention
from tests.support.db import every_row, session_at
from tests.support.line_user import opened, texts

TYPED_NUMBER = "03-5555-0178"  # no guide's: the verdict is "unknown"
TYPED_HOST = "amaz0n-account-verify.example"


async def settled(bot, user) -> None:
    """Wait until every reply of this person is marked sent (after the 200, in the background)."""
    for _ in range(300):
        async with session_at(bot.db_url) as session:
            pending = (await session.execute(
                select(func.count()).select_from(Outbox)
                .where(Outbox.user_id == user.user_id, Outbox.status == "pending"))).scalar_one()
        if pending == 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("replies still pending")


async def test_nothing_typed_is_kept_once_the_replies_are_sent(bot):
    user, _ = await opened(bot, "number_check")
    said = texts(await user.say(user.text(f"{TYPED_NUMBER}から電話がありました")))
    assert "03-5555-0178" in said  # the answer names the number, as the person wrote it
    said = texts(await user.say(user.text(f"このリンク https://{TYPED_HOST}/login は本物？")))
    assert TYPED_HOST in said
    await settled(bot, user)
    rows = await every_row(bot.db_url)
    assert "verdict:unknown" in rows and "link:" in rows  # what they resolved to is there
    for trace in ("5555", "0178", "amaz0n", "account-verify"):
        assert trace not in rows, trace
    async with session_at(bot.db_url) as session:
        bodies = (await session.execute(
            select(Outbox.messages).where(Outbox.user_id == user.user_id))).scalars().all()
    assert bodies and all(b == CLEARED_MESSAGES for b in bodies)


async def test_a_pending_reply_keeps_its_words_until_it_is_sent(bot):
    """The relay needs them: a reply LINE could not take yet is still whole."""
    user, _ = await opened(bot, "returns")
    bot.fake.fail_next_reply(500, "fake trouble")
    await user.send(user.text("メニュー"))
    await asyncio.sleep(0.5)
    async with session_at(bot.db_url) as session:
        rows = (await session.execute(
            select(Outbox).where(Outbox.user_id == user.user_id))).scalars().all()
    pending = [r for r in rows if r.status == "pending"]
    assert pending and all(r.messages["messages"] for r in pending)


async def test_housekeeping_deletes_what_is_past_its_retention_and_nothing_else(bot):
    user, _ = await opened(bot, "returns")
    await settled(bot, user)
    now = datetime.now(UTC)
    db = Database(bot.db_url)
    try:
        async with db.transaction() as session:
            session.add_all([
                Reminder(id="r-old", user_id=user.user_id, kind="return_window",
                         given=now.date(), deadline=now.date(), due_at=now,
                         next_attempt_at=now, status="sent", retry_key="k1", attempts=1,
                         created_at=now),
                Reminder(id="r-pending", user_id=user.user_id, kind="return_window",
                         given=now.date(), deadline=now.date(), due_at=now,
                         next_attempt_at=now, status="pending", retry_key="k2", attempts=0,
                         created_at=now),
                Outbox(id="o-pending", user_id=user.user_id, event_id="e", reply_token=None,
                       messages={"messages": [{"text": "x", "quick_replies": []}]},
                       status="pending", attempts=0, created_at=now - timedelta(days=30)),
            ])
        keeper = Housekeeper(db, Retention.days(7, 90))
        assert set((await keeper.run_once(now)).values()) == {0}  # everything is recent

        deleted = await keeper.run_once(now + timedelta(days=8))
        assert deleted["processed_events"] >= 2 and deleted["outbox"] >= 2
        assert deleted["step_history"] == deleted["reminders"] == 0

        deleted = await keeper.run_once(now + timedelta(days=92))
        assert deleted["step_history"] >= 2
        assert deleted["reminders"] == 1  # the sent one, its deadline 90 days past
        async with session_at(bot.db_url) as session:
            left = {r.id for r in (await session.execute(select(Reminder))).scalars()}
            outbox = {o.id for o in (await session.execute(select(Outbox))).scalars()}
            assert (await session.execute(select(func.count()).select_from(
                ProcessedEvent))).scalar_one() == 0
            assert (await session.execute(select(func.count()).select_from(
                StepRecord))).scalar_one() == 0
            assert await session.get(User, user.user_id) is not None  # where they are stays
        assert left == {"r-pending"} and outbox == {"o-pending"}
    finally:
        await db.dispose()


async def test_pruning_goes_in_chunks(bot):
    user, _ = await opened(bot, "returns")
    for word in ("返品", "メニュー", "返品", "メニュー"):
        await user.say(user.text(word))
    db = Database(bot.db_url)
    try:
        keeper = Housekeeper(db, Retention.days(7, 90), chunk=2)
        deleted = await keeper.run_once(datetime.now(UTC) + timedelta(days=100))
        assert deleted["step_history"] >= 5 and deleted["processed_events"] >= 5
    finally:
        await db.dispose()
