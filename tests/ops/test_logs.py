"""Logs are JSON lines with no channel secret, no token, no message text and no full user id,
even at DEBUG with SQLAlchemy echoing every statement and its parameters."""

from __future__ import annotations

import io
import json
import logging

import pytest

from supportnavi import logs
from supportnavi.settings import Settings
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET
from tests.support.line_user import texts


def test_redact_hides_ids_secrets_and_bearer_credentials():
    user = "U" + "0123456789abcdef" * 2
    line = f'to {user}, group C{"a" * 32}; secret s3cr3t-value; "Authorization": "Bearer abc.def"'
    out = logs.redact(line, ("s3cr3t-value",))
    assert user not in out and "C" + "a" * 32 not in out
    assert logs.pseudonym(user) in out  # the same person reads the same in every line
    assert "s3cr3t-value" not in out and "abc.def" not in out
    assert out.count(logs.REDACTED) == 2
    # a 33-digit run is no LINE id, and an order number is left as it is
    assert logs.redact("U" + "1" * 33) == "U" + "1" * 33
    assert logs.redact("250-1234567-1234567") == "250-1234567-1234567"


def test_json_lines_carry_level_logger_time_and_the_traceback(monkeypatch):
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "a-channel-secret")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    logger = logging.getLogger("supportnavi.test.json")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        raise ValueError("failed with a-channel-secret inside")
    except ValueError:
        logger.exception("クラッシュ %s", "U" + "f" * 32)
    line = json.loads(stream.getvalue())
    assert line["level"] == "ERROR" and line["logger"] == "supportnavi.test.json"
    assert line["message"] == f"クラッシュ {logs.pseudonym('U' + 'f' * 32)}"
    assert "time" in line and "ValueError" in line["exc_info"]
    assert "a-channel-secret" not in stream.getvalue()


def test_the_config_routes_uvicorn_through_the_same_formatter():
    config = logs.config(Settings(SUPPORTNAVI_LOG_LEVEL="debug"))
    assert config["root"]["level"] == "DEBUG"
    assert config["loggers"]["uvicorn.access"] == {"handlers": [], "propagate": True,
                                                   "level": "DEBUG"}
    assert config["formatters"]["redacted"]["kind"] == "json"
    text = logs.config(Settings(SUPPORTNAVI_LOG_FORMAT="text"))
    assert text["formatters"]["redacted"]["kind"] == "text"


@pytest.fixture
def all_logs(monkeypatch):
    """Every log line of the process at DEBUG, SQL statements and parameters included, through
    the formatter `serve` uses, with the test channel's secrets."""
    monkeypatch.setenv("LINE_CHANNEL_SECRET", CHANNEL_SECRET)
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", ACCESS_TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    root = logging.getLogger()
    # the levels serve's config gives its named loggers, at DEBUG
    named = {name: spec["level"] for name, spec in
             logs.config(Settings(SUPPORTNAVI_LOG_LEVEL="debug"))["loggers"].items()}
    named["sqlalchemy.engine"] = "INFO"  # every statement, and what SQLAlchemy shows of it
    levels = {name: logging.getLogger(name).level for name in ["", *named]}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name, level in named.items():
        logging.getLogger(name).setLevel(level)
    yield stream
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


async def test_a_conversation_leaves_no_id_secret_or_words_in_the_logs(bot, all_logs):
    user = bot.user()
    await user.say(user.follow())
    marker = "ログに残ってはいけない言葉ZQX"
    said = texts(await user.say(user.text(marker)))
    assert said  # answered
    await user.say(user.text("パスワードは hunter2hunter2 です"))
    await user.open("prime_cancel")

    out = all_logs.getvalue()
    lines = [line for line in out.splitlines() if line.strip()]
    assert len(lines) > 20, "the run should have logged SQL at least"
    for line in lines:
        json.loads(line)  # every line is one JSON object
    assert user.user_id not in out and logs.pseudonym(user.user_id) not in out
    assert marker not in out and "hunter2hunter2" not in out
    assert CHANNEL_SECRET not in out and ACCESS_TOKEN not in out
    assert "[SQL parameters hidden" in out  # the statements were logged, their values not


async def test_a_database_error_in_the_logs_carries_no_values(db_url, all_logs):
    """A statement that fails (here: a person's row twice) is logged with its traceback, and
    SQLAlchemy's message would name the statement's values: the engine hides them."""
    from datetime import UTC, datetime

    from supportnavi.store.db import Database
    from supportnavi.store.models import User

    # the value rides in a column that is not the key: PostgreSQL's own DETAIL names a
    # duplicated key (a LINE id, which the formatter replaces), never the other columns
    value = "tok-" + "7" * 12
    now = datetime.now(UTC)
    db = Database(db_url)
    try:
        for _ in range(2):
            try:
                async with db.transaction() as session:
                    session.add(User(id="U" + "c" * 32, status=value, first_seen=now,
                                     last_seen=now))
            except Exception:
                logging.getLogger("supportnavi.test").exception("insert failed")
    finally:
        await db.dispose()
    out = all_logs.getvalue()
    assert "IntegrityError" in out and "insert failed" in out
    assert value not in out
