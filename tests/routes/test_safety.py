"""Safety checks through the real webhook: a secret is warned about and leaves no trace in the
database, the logs or the bot's answer; a phone number or a link written anywhere gets its
verdict."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

import supportnavi.conversation.service as service_module
from supportnavi.simulator.signing import sign
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
