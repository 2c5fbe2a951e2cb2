"""Incident counts: nothing personal in a code, one row per hour, place and code, and a
recording that fails (the database is what failed) never turns a handled event into a failure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from supportnavi.store import incidents
from supportnavi.store.db import Database
from supportnavi.store.models import Incident, Outbox
from tests.support.db import session_at


def test_a_code_is_a_class_name_or_a_status_with_lines_words_masked():
    assert incidents.code_of(KeyError("my password is hunter2")) == "KeyError"
    user = "U" + "0123456789abcdef" * 2
    code = incidents.code_of_send(400, f"Failed to send to {user}: order 250-1234567-1234567")
    assert code == "400 Failed to send to <id>: order 250-#-#"
    assert incidents.code_of_send(None, "TimeoutError") == "no answer TimeoutError"
    assert incidents.code_of_send(500, None) == "500"
    assert len(incidents.code_of_send(400, "x" * 500)) <= incidents.CODE_MAX


async def test_counts_add_up_per_hour_place_and_code(db_url):
    db = Database(db_url)
    try:
        at = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
        await incidents.record(db, "delivery", "500 fake error 500", at=at)
        await incidents.record(db, "delivery", "500 fake error 500", at=at.replace(minute=55))
        await incidents.record_many(db, "reminder", {"400 bad": 3, "500 down": 1}, at=at)
        await incidents.record(db, "delivery", "500 fake error 500", at=at.replace(hour=10))
    finally:
        await db.dispose()
    async with session_at(db_url) as session:
        rows = (await session.execute(select(Incident))).scalars().all()
        found = sorted((r.hour.hour, r.place, r.code, r.count) for r in rows)
    assert found == [(9, "delivery", "500 fake error 500", 2), (9, "reminder", "400 bad", 3),
                     (9, "reminder", "500 down", 1), (10, "delivery", "500 fake error 500", 1)]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_database_that_fails_is_only_logged(db_url, caplog):
    db = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        await incidents.record(db, "webhook", "ConnectionError")  # returns, does not raise
    finally:
        await db.dispose()
    assert "could not record webhook incident(s) ['ConnectionError']" in caplog.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_failed_recording_leaves_the_event_handled(bot, monkeypatch, caplog):
    async def broken(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the incidents table is gone")

    monkeypatch.setattr(incidents, "add", broken)
    user = bot.user()
    bot.fake.fail_next_reply(500, accepted=True)
    await user.say(user.follow())  # 200 (send() checks it), and the reply was made
    for _ in range(200):
        if "could not record delivery incident" in caplog.text:
            break
        await asyncio.sleep(0.05)
    assert "could not record delivery incident(s) ['500 fake error 500']" in caplog.text
    async with session_at(bot.db_url) as session:
        outbox = (await session.execute(select(Outbox))).scalars().one()
    # the try was written down all the same: a 500 leaves the row to the relay (LINE may have
    # taken the reply), with how it went
    assert (outbox.status, outbox.attempts, outbox.error) == ("pending", 1, "fake error 500")
    assert outbox.reply_maybe_sent is True
    assert len(await user.say(user.text("メニュー"))) >= 1  # and the bot goes on
