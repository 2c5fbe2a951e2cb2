"""Safety checks through the real webhook: a secret is warned about and leaves no trace in the
database, the logs or the bot's answer; a phone number or a link written anywhere gets its
verdict."""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import supportnavi.conversation.service as service_module
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT
from supportnavi.simulator.signing import sign
from tests.engine.test_sensitive import (
    card_code_sentences,
    mistyped_cards,
    password_sentences,
    pin_sentences,
)
from tests.faults.conftest import ThreadedBot
from tests.routes.test_reminders import at_trial_remind
from tests.support.db import every_row
from tests.support.line_spec import request_errors
from tests.support.line_user import SECRET, LineUser, opened, texts

# Each secret as typed, and the strings of it that must never be found anywhere.
SECRETS = [
    ("カード番号は 4111 1111 1111 1111 です", ["4111111111111111", "4111 1111 1111 1111"],
     "カード会社"),
    ("パスワードは Zq8hunter77", ["Zq8hunter77"], "パスワードを変えて"),
    ("確認コードは 482913 です", ["482913"], "コードをほかの人に"),
    ("マイナンバーは 1234 5678 9018", ["123456789018", "1234 5678 9018"], "市区町村"),
]
LOGGERS = ["", "uvicorn", "uvicorn.error", "uvicorn.access", "supportnavi", "sqlalchemy",
           "aiosqlite"]


@pytest.fixture
def every_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record at DEBUG, from the app, uvicorn (which does not propagate), SQLAlchemy and
    aiosqlite (whose line per operation carries the statement and its values; the app's own
    logging caps it at INFO, and a test that ran earlier may have applied that cap, so it is
    lifted here explicitly: the SQLite group commit's statements are only seen through it)."""
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        if name and caplog.handler not in logger.handlers:
            logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    yield caplog
    for logger, level in saved:
        logger.setLevel(level)
        if logger.name != "root" and caplog.handler in logger.handlers:
            logger.removeHandler(caplog.handler)


def _strings(value: object) -> Iterator[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    lines = []
    for record in caplog.records:
        lines.append(record.getMessage())
        if record.exc_info:
            lines.append(logging.Formatter().formatException(record.exc_info))
    return "\n".join(lines)


async def test_a_secret_is_warned_about_and_never_stored_or_logged(bot, every_log):
    user, _ = await opened(bot, "delivery")
    for typed, traces, what_now in SECRETS:
        said = texts(await user.say(user.text(typed)))
        assert "必要とすることはありません" in said and "送信取消" in said and what_now in said
        user.button("届かない・遅れている")  # the warning moved nobody: delivery's buttons
        for trace in traces:
            assert trace not in said
    said = texts(await user.tap("届かない・遅れている"))  # and they still work
    assert "必要とすることはありません" not in said

    rows = await every_row(bot.db_url)
    assert "secret:card" in rows and "secret:my_number" in rows  # the rows are there
    logged = _logged(every_log)
    assert "INSERT INTO step_history" in logged  # SQL parameters were logged, and searched
    sent = str([r.body for r in bot.fake.records])
    for _, traces, _ in SECRETS:
        for trace in traces:
            assert trace not in rows
            assert trace not in logged
            assert trace not in sent
    for record in bot.fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


# Forms the guard once missed (issue 14): joints other than one space or hyphen, and invisible
# characters. Each as sent, the strings of it that must not come back, and the advice it gets.
MISSED_FORMS = [
    ("4111  1111  1111  1111", ["4111111111111111", "4111  1111"], "カード会社"),
    ("4111\t1111\t1111\t1111", ["4111111111111111", "4111\t1111"], "カード会社"),
    ("4111/1111/1111/1111", ["4111111111111111", "4111/1111"], "カード会社"),
    ("カード 4111,1111,1111,1111 です", ["4111111111111111", "4111,1111"], "カード会社"),
    ("4111\u200b1111\u200b1111\u200b1111", ["4111111111111111", "4111\u200b1111"],
     "カード会社"),
    ("パス\u200bワードは Zq8hunter77", ["Zq8hunter77"], "パスワードを変えて"),
]


@pytest.mark.parametrize(("typed", "traces", "what_now"), MISSED_FORMS,
                         ids=["two-spaces", "tabs", "slashes", "commas", "zwsp", "zwsp-password"])
async def test_a_secret_written_with_other_joints_is_warned_about(bot, typed, traces, what_now):
    # Where the bot asks for a phone number, digits were read as one (a verdict, or 「読み取れ
    # ませんでした」); at the menu, as a message it does not understand.
    user, _ = await opened(bot, "number_check")
    said = texts(await user.say(user.text(typed)))
    assert "必要とすることはありません" in said and "送信取消" in said and what_now in said
    assert "読み取れませんでした" not in said and "ガイドにも載っていない" not in said
    await user.say(user.text("メニュー"))
    said = texts(await user.say(user.text(typed)))
    assert "必要とすることはありません" in said and what_now in said
    assert "ご案内できません" not in said
    # every string the bot sent, as sent: a repr would escape a tab or a zero-width space
    sent = "\n".join(_strings([r.body for r in bot.fake.records]))
    rows = await every_row(bot.db_url)
    for trace in [*traces, typed]:
        assert trace not in sent and trace not in rows
    assert ("secret:password" if "パス" in typed else "secret:card") in rows  # rows were read


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_secret_in_a_body_the_bot_refuses_is_not_echoed_or_logged(bot, every_log):
    user = bot.user()
    event = user.text("カード 4111111111111111")
    broken = dict(event, message=dict(event["message"], type="text", id=None))
    for body in (
        b'{"destination": "U1", "events": [{"type": "message", "text": "4111111111111111"',
        b'{"destination": "U1", "events": {"text": "4111111111111111"}}',
        LineUser.body(event).replace(b'"events": [', b'"events": [7, '),
        str(broken).encode(),
    ):
        response = await user.post(body, signature=sign(SECRET, body))
        assert response.status_code == 400
        assert "4111111111111111" not in response.text
    assert "4111111111111111" not in _logged(every_log)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_crash_on_a_secret_logs_where_but_not_what(bot, every_log, monkeypatch):
    def crash(scenarios, state, event, now, context=None):
        raise ValueError(f"cannot handle {event!r}")

    monkeypatch.setattr(service_module, "advance", crash)
    user = bot.user()
    response = await user.post(user.body(user.text("パスワードは Zq8hunter77")))
    assert response.status_code == 200  # answered with an apology, never redelivered
    logged = _logged(every_log)
    assert "ValueError" in logged and "advance" in logged
    assert "Zq8hunter77" not in logged and "Zq8hunter77" not in response.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("where", ["menu", "delivery", "reminders"])
async def test_a_phone_number_written_anywhere_gets_number_checks_verdict(bot, where):
    if where == "menu":
        user = bot.user()
        await user.say(user.follow())
    else:
        user, _ = await opened(bot, where)
    said = texts(await user.say(user.text("０１２０－９９９－３７３から電話が来た、アマゾン？")))
    assert "0120-999-373" in said and "使われていない" in said and "かけないで" in said
    said = texts(await user.say(user.text("03-1234-9876 って本物？")))  # and the next number too
    assert "03-1234-9876" in said and "どのガイドにも載っていない" in said
    for record in bot.fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_menu_numbers_order_numbers_and_dates_are_not_taken_for_phone_numbers(bot):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text("250-1234567-1234567")))
    assert "番号は" not in said and "ガイドにも載っていない" not in said
    said = texts(await user.say(user.text("9")))  # the menu's 9th route
    assert "ガイドにも載っていない" not in said and "読み取れませんでした" not in said
    for typed in ("12月5日", "2026-12-05"):
        user = await at_trial_remind(bot)
        said = texts(await user.say(user.text(typed)))
        assert "12月2日(水) 9:00" in said and "ガイドにも載っていない" not in said  # scheduled


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_link_anywhere_gets_its_domains_verdict(bot):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text("このSMSのリンク https://amazon.co.jp.evil.example/signin?id=1 は本物？")))
    assert "amazon.co.jp.evil.example は、Amazonではありません" in said
    assert "evil.example" in said and "開かないでください" in said
    said = texts(await user.tap("押してしまった（対処へ）"))
    assert "パスワードを変える" in said
    said = texts(await user.tap("戻る"))  # back to the verdict: the link is no longer at hand
    assert "そのリンク は、Amazonではありません" in said and "evil.example" not in said

    said = texts(await user.say(user.text("ｈｔｔｐｓ：／／ｐａｙ．ａｍａｚｏｎ．ｃｏ．ｊｐ／")))
    assert "pay.amazon.co.jp は、Amazonのドメインとして扱っています" in said and "アプリ" in said
    said = texts(await user.say(user.text("https://example.com/amazon")))
    assert "Amazonのドメインではありません" in said
    for record in bot.fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_asks_for_a_link_and_reads_only_its_address(bot):
    user, said = await opened(bot, "security")
    said = texts(await user.tap("リンクを確かめる"))
    assert "開かずにコピーして" in said
    said = texts(await user.say(user.text("まだコピーしていない")))
    assert "リンクが見つかりませんでした" in said
    said = texts(await user.say(user.text("amzn.asia/d/5Hq0Ztp")))
    # a short domain no guide names: ours, and said to be ours
    assert "amzn.asia は、Amazonのドメインとして扱っています" in said
    assert "このボットがAmazonのものとして扱っています" in said
    said = texts(await user.say(user.text("http://аmazon.co.jp/")))  # Cyrillic а
    assert "Amazonに似せた、偽物" in said
    await asyncio.sleep(0)
    assert not [r for r in bot.fake.records if "amzn.asia" in r.path]  # nothing was fetched


# --- issue 17, point 6: secrets inside sentences ---------------------------------------------

# The forms reported missed or misnamed, each as sent; the strings of it that must never come
# back (digits alone are looked for where nothing else could hold them, see _without_ids); the
# name the warning must give it, the advice, and the kind kept.
IN_SENTENCES = [
    ("わたしのパスワード hanako55 でログインできない", ["hanako55"], "パスワードのようなもの",
     "パスワードを変えて", "password"),
    ("パスワード hanako55", ["hanako55"], "パスワードのようなもの", "パスワードを変えて",
     "password"),
    ("パスは hanako55", ["hanako55"], "パスワードのようなもの", "パスワードを変えて", "password"),
    ("4111 1111 1111 1112", ["4111111111111112", "4111 1111 1111 1112"],
     "カード番号のようなもの", "カード会社", "card"),
    ("暗証番号は1234です", ["1234"], "暗証番号のようなもの", "暗証番号を変えて", "pin"),
    ("セキュリティコードは123", ["123"], "カードのセキュリティコードのようなもの",
     "カードを止めて", "security_code"),
]
WRONG_NAMES = ["カード番号のようなもの", "パスワードのようなもの", "暗証番号のようなもの",
               "カードのセキュリティコードのようなもの", "確認コードのようなもの"]
# What a row or a log line holds that is no one's words: times (ISO or as a datetime's
# repr), UUIDs, event ids, reply tokens and user ids (20 characters or more: longer than any
# card number), the schema's version. A secret's digits stored or logged would stand outside
# them, as a run of digits of their own (the words around them hold no digits).
_IDS = re.compile(r"\d{4}-\d{2}-\d{2}[ T][\d:.+]+|datetime\.datetime\([^)]*\)"
                  r"|[0-9a-fA-F-]{20,}|[0-9A-Z]{26}|alembic_version: \S+\n\S+")


def _assert_nowhere(traces: list[str], *places: str) -> None:
    """No trace in any place. A trace of digits alone is looked for as a run of digits of its
    own, outside ids and times (「1234」 is no trace in 「2026-12-05 17:01:23.461234」)."""
    for trace in traces:
        for place in places:
            if trace.isdecimal():
                place = _IDS.sub(" ", place)
                found = re.search(rf"(?<!\d){trace}(?!\d)", place)
            else:
                found = re.search(re.escape(trace), place)
            assert found is None, (trace, place[max(0, found.start() - 80):found.end() + 80])


@pytest.mark.parametrize(("typed", "traces", "name", "what_now", "kind"), IN_SENTENCES,
                         ids=["my-password", "password", "pass", "card-luhn-fails", "pin",
                              "security-code"])
async def test_a_secret_inside_a_sentence_is_warned_about_by_its_name(
    bot, every_log, typed, traces, name, what_now, kind
):
    # in the login route, where people write such sentences, and again at the menu
    user, _ = await opened(bot, "login")
    for _ in range(2):
        said = texts(await user.say(user.text(typed)))
        assert name in said and "必要とすることはありません" in said and "送信取消" in said
        assert what_now in said
        assert [other for other in WRONG_NAMES if other in said and other != name] == []
        assert "ご案内できません" not in said and "読み取れませんでした" not in said
        await user.say(user.text("メニュー"))
    user.button("プライム会員をやめる")  # the warning moved nobody: the menu's buttons

    rows = await every_row(bot.db_url)
    assert f"secret:{kind}" in rows  # the rows were read
    logged = _logged(every_log)
    assert "INSERT INTO step_history" in logged  # SQL parameters were logged, and searched
    sent = "\n".join(_strings([r.body for r in bot.fake.records]))
    _assert_nowhere([*traces, typed], rows, logged, sent)
    for record in bot.fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("typed", ["パスワードを忘れた", "パスワードが違うと出る", "パスワードの変え方",
                                   "暗証番号を忘れた", "パスワードを10回間違えた"])
async def test_talk_about_a_password_is_no_secret_and_reaches_the_login_route(bot, typed):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text(typed)))
    assert "必要とすることはありません" not in said and "ようなもの" not in said
    login = load_scenarios(REPO_ROOT / "scenarios").routes["login"]
    assert f"「{login.menu_label}」" in said or any(  # asked about, or opened
        bubble.split("\n")[0] in said for node in login.nodes.values() for bubble in node.say
    ), said


# --- the same, as a property over generated sentences, through the webhook --------------------

NAMES = {"password": "パスワードのようなもの", "pin": "暗証番号のようなもの",
         "security_code": "カードのセキュリティコードのようなもの", "card": "カード番号のようなもの"}
sentences = st.one_of(
    password_sentences().map(lambda s: ("password", *s)),
    pin_sentences().map(lambda s: ("pin", *s)),
    card_code_sentences().map(lambda s: ("security_code", *s)),
    mistyped_cards().map(lambda s: ("card", *s)),
)


@pytest.fixture
def served_bot(db_url: str) -> Iterator[ThreadedBot]:
    bot = ThreadedBot(db_url)
    yield bot
    bot.close()


@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(sentence=sentences)
def test_no_generated_secret_is_kept_anywhere_and_each_is_warned_about(
    served_bot, every_log, sentence
):
    kind, typed, token = sentence
    user = LineUser(served_bot, "U" + uuid.uuid4().hex)  # type: ignore[arg-type]
    said = texts(served_bot.run(user.say(user.text(typed))))
    assert NAMES[kind] in said and "必要とすることはありません" in said, (typed, said)
    rows = served_bot.run(every_row(served_bot.db_url))
    assert f"secret:{kind}" in rows
    logged = _logged(every_log)
    assert "INSERT INTO step_history" in logged  # the SQL and its values were logged, and read
    sent = "\n".join(_strings([r.body for r in served_bot.fake.records]))
    _assert_nowhere([token, typed], rows, logged, sent)
