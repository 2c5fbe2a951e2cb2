"""The operators' inbox (issue 18) in the database: what the bot could not place is kept
grouped, redacted and without who typed it, written in the event's own transaction, on SQLite
and PostgreSQL; pruned past SUPPORTNAVI_UNMATCHED_DAYS; nothing at all when that is 0."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import inspect, select

from supportnavi.conversation.service import ConversationService
from supportnavi.engine import Text
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import UnmatchedText
from supportnavi.store.retention import Housekeeper, Retention
from tests.engine.test_redact import EMAILS, FILLER, SECRETS, phone_numbers
from tests.support.db import session_at
from tests.support.line_user import texts
from tests.test_group_commit import NOW, Sender, event


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO_ROOT / "scenarios")


UNKNOWN = "ぴよぴよ ぽよぽよ 12345 をください"


async def rows(db_url: str) -> list[UnmatchedText]:
    async with session_at(db_url) as session:
        found = await session.execute(select(UnmatchedText).order_by(UnmatchedText.id))
        return list(found.scalars())


async def _handle(db_url, scenarios, said: list[tuple[str, str]], days: int = 30,
                  clock=lambda: NOW) -> None:
    """Each (person, text) through the conversation service, all at once (one group commit)."""
    db = Database(db_url)
    service = ConversationService(db, scenarios, Sender(), clock=clock, unmatched_days=days)
    try:
        await asyncio.gather(*(service.handle(event(u, Text(t))) for u, t in said))
    finally:
        await service.close()
        await db.dispose()


async def test_grouped_by_where_and_redacted_text_without_who(db_url, scenarios):
    people = [f"U{i:032x}" for i in range(3)]
    # the same sentence from three people, in one transaction and in a later one; full-width
    # and spaced as typed, it reads as one; another number masks the same way
    await _handle(db_url, scenarios, [(people[0], UNKNOWN),
                                      (people[1], "ぴよぴよ　ぽよぽよ　１２３４５ をください"),
                                      (people[2], "解約")])
    await _handle(db_url, scenarios, [(people[2], "ぴよぴよ ぽよぽよ 99999 をください")],
                  clock=lambda: NOW + timedelta(hours=1))
    found = {r.text: r for r in await rows(db_url)}
    assert set(found) == {"ぴよぴよ ぽよぽよ <数字> をください", "解約"}
    row = found["ぴよぴよ ぽよぽよ <数字> をください"]
    assert (row.count, row.route, row.node, row.status) == (3, None, None, "new")
    assert as_utc(row.first_seen) == NOW and as_utc(row.last_seen) == NOW + timedelta(hours=1)
    asked = found["解約"]
    assert asked.count == 1
    assert [g["route"] for g in asked.guesses] == ["prime_cancel", "trial_cancel", "order_cancel"]
    assert all(set(g) == {"route", "node", "score"} for g in asked.guesses)

    async with session_at(db_url) as session:
        columns = await (await session.connection()).run_sync(
            lambda c: [col["name"] for col in inspect(c).get_columns("unmatched")])
    assert not [c for c in columns if "user" in c]
    every = str([(r.text, r.key, r.guesses) for r in found.values()])
    assert not any(p in every or p[1:] in every for p in people)


async def test_nothing_is_kept_when_keeping_is_off(db_url, scenarios):
    await _handle(db_url, scenarios, [("U" + "a" * 32, UNKNOWN)], days=0)
    assert await rows(db_url) == []


async def test_retention_deletes_groups_last_seen_too_long_ago(db_url, scenarios):
    await _handle(db_url, scenarios, [("U" + "a" * 32, UNKNOWN)])
    await _handle(db_url, scenarios, [("U" + "a" * 32, "解約")],
                  clock=lambda: NOW + timedelta(days=20))
    db = Database(db_url)
    try:
        keeper = Housekeeper(db, Retention.days(7, 90, 30))
        deleted = await keeper.run_once(NOW + timedelta(days=30, seconds=1))
        assert deleted["unmatched"] == 1
        assert [r.text for r in await rows(db_url)] == ["解約"]  # seen 20 days later: stays
        off = Housekeeper(db, Retention.days(7, 90, 0))  # keeping turned off: none stays
        assert (await off.run_once(NOW + timedelta(days=21)))["unmatched"] == 1
        assert await rows(db_url) == []
    finally:
        await db.dispose()


@settings(max_examples=25, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_no_generated_secret_phone_number_or_email_reaches_the_table(db_url, scenarios, data):
    """Whatever the sentence holds, through the bot's own path (advance, redaction, the group
    commit's upsert): the table never holds the secret, the number or the address."""
    before, after = data.draw(FILLER), data.draw(FILLER)
    secret, number, address = data.draw(SECRETS), data.draw(phone_numbers()), data.draw(EMAILS)
    run = data.draw(st.from_regex(r"[0-9]{4,9}", fullmatch=True))  # reaches the table, masked
    said = [f"{before}{secret}{after}", f"{before}{number}{after}", f"{before}{address} {after}",
            f"{before}{run}{after}"]
    # each from a person at the menu (one's link would leave the next on a screen asking for one)
    asyncio.run(_handle(db_url, scenarios, [("U" + uuid.uuid4().hex, s) for s in said]))
    stored = asyncio.run(rows(db_url))
    for row in stored:
        assert sum(c.isdigit() for c in row.text) < 4, row.text
        assert "@" not in row.text and address.rpartition("@")[2].casefold() not in row.text
    assert any("<数字>" in r.text for r in stored)  # the run of digits did reach it, masked


async def test_through_the_signed_webhook(bot):
    """Typed twice by one person, once by another: one row, counted 3, no user id; the help
    says for how long such questions are kept."""
    first, second = bot.user(), bot.user()
    for user in (first, first, second):
        said = texts(await user.say(user.text("ぴよぴよ ぽよぽよ")))
        assert "ご案内できません" in said or "読み取れ" in said or "ご相談" in said
    said = texts(await first.say(first.text("ヘルプ")))
    assert "30日間保存" in said
    [row] = await rows(bot.db_url)
    assert (row.text, row.count, row.route) == ("ぴよぴよ ぽよぽよ", 3, None)
    every = str(await rows(bot.db_url)) + str(row.__dict__)
    assert first.user_id not in every and second.user_id not in every
