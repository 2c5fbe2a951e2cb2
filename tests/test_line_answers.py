"""LINE's answers, read once (issue 15): the adapter classifies each answer as a `LineAnswer`,
and the relay and the dispatcher act on that alone. One test per row of the README's two
"LINE answers" tables (When something fails: the relay; Sending them: the dispatcher), with the
words LINE's own answers carry."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from supportnavi.conversation.events import LineAnswer, SendResult
from supportnavi.conversation.relay import Relay, RelayReport, _Row
from supportnavi.line.sender import _answer
from supportnavi.reminders.dispatcher import Dispatcher, Report, _Claimed, _Unit

NOW = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
INVALID_TOKEN = b'{"message": "Invalid reply token"}'
RATE = b'{"message": "The API rate limit has been exceeded. Try again later."}'
QUOTA = b'{"message": "You have reached your monthly limit."}'
BLOCKED = b'{"message": "Failed to send messages: the user has blocked the account"}'
BAD = b'{"message": "The request body has 1 error(s)"}'


@pytest.mark.parametrize(("op", "status", "body", "answer"), [
    ("reply", 200, b"{}", LineAnswer.OK),
    ("push", 200, b"{}", LineAnswer.OK),
    ("multicast", 200, b"{}", LineAnswer.OK),
    ("push", 409, b'{"message": "The retry key is already accepted"}', LineAnswer.ACCEPTED_BEFORE),
    ("multicast", 409, b"{}", LineAnswer.ACCEPTED_BEFORE),
    ("reply", 409, b"{}", LineAnswer.REFUSED),  # a reply has no retry key
    ("reply", 400, INVALID_TOKEN, LineAnswer.TOKEN_INVALID),
    ("push", 400, INVALID_TOKEN, LineAnswer.REFUSED),
    ("push", 400, BLOCKED, LineAnswer.BLOCKED),
    ("push", 400, BAD, LineAnswer.REFUSED),
    ("reply", 429, RATE, LineAnswer.RATE_LIMITED),
    ("push", 429, QUOTA, LineAnswer.QUOTA_EXHAUSTED),
    ("multicast", 429, RATE, LineAnswer.RATE_LIMITED),
    ("push", 500, b"{}", LineAnswer.SERVER_ERROR),
    ("reply", 503, b"oops", LineAnswer.SERVER_ERROR),
    ("push", 401, b'{"message": "Authentication failed"}', LineAnswer.REFUSED),
])
def test_each_answer_is_classified_once_in_the_adapter(op, status, body, answer):
    assert _answer(op, status, body).answer is answer


def _row(**fields) -> _Row:
    values = {"id": "o1", "user_id": "U" + "1" * 32, "reply_token": "t" * 32,
              "messages": {"messages": [{"text": "x", "quick_replies": []}]}, "attempts": 0,
              "created_at": NOW, "event_at": NOW, "maybe_sent": True}
    values.update(fields)
    return _Row(**values)


class Scripted:
    """A sender that answers as LINE is scripted to."""

    def __init__(self, reply: SendResult, push: SendResult | None = None) -> None:
        self.answers = {"reply": reply, "push": push or reply}
        self.calls: list[str] = []

    async def reply(self, token, messages):  # type: ignore[no-untyped-def]
        self.calls.append("reply")
        return self.answers["reply"]

    async def push(self, to, messages, retry_key):  # type: ignore[no-untyped-def]
        self.calls.append("push")
        return self.answers["push"]


def answer(op: str, status: int | None, body: bytes = b"{}") -> SendResult:
    if status is None:
        return SendResult(LineAnswer.NO_ANSWER, error="TimeoutError")
    return _answer(op, status, body)


# the relay's table: (the row, LINE answers) -> the row becomes
RELAY_ROWS = [
    ("has its reply token: 200", _row(), answer("reply", 200), None, "sent", ["reply"]),
    ("has its token: invalid, ours may have reached LINE, within 50 s",
     _row(), answer("reply", 400, INVALID_TOKEN), None, "sent", ["reply"]),
    ("has its token: invalid, every try refused outright: pushed instead",
     _row(maybe_sent=False), answer("reply", 400, INVALID_TOKEN), answer("push", 200), "sent",
     ["reply", "push"]),
    ("has its token: invalid, later than 50 s: pushed instead",
     _row(event_at=NOW - timedelta(seconds=51)), answer("reply", 400, INVALID_TOKEN),
     answer("push", 200), "sent", ["reply", "push"]),
    ("no token: push, 200", _row(reply_token=None), answer("push", 200), None, "sent",
     ["push"]),
    ("no token: push, 409", _row(reply_token=None),
     answer("push", 409, b'{"message": "The retry key is already accepted"}'), None, "sent",
     ["push"]),
    ("either: 5xx", _row(), answer("reply", 500), None, "retry", ["reply"]),
    ("either: 429", _row(reply_token=None), answer("push", 429, RATE), None, "retry", ["push"]),
    ("either: no answer", _row(), answer("reply", None), None, "retry", ["reply"]),
    ("either: another 4xx", _row(reply_token=None), answer("push", 400, BAD), None, "failed",
     ["push"]),
    ("23 hours old", _row(created_at=NOW - timedelta(hours=23)), answer("reply", 200), None,
     "failed", []),
]


@pytest.mark.parametrize(("row_name", "row", "first", "then", "becomes", "calls"), RELAY_ROWS,
                         ids=[r[0] for r in RELAY_ROWS])
async def test_the_relay_does_what_its_table_says(row_name, row, first, then, becomes, calls):
    sender = Scripted(first, then)
    relay = Relay(None, sender, grace=timedelta(seconds=15), lease=timedelta(seconds=20),  # type: ignore[arg-type]
                  clock=lambda: NOW)
    outcome = await relay._send(row, RelayReport())
    assert outcome.outcome == becomes
    assert sender.calls == calls


def _unit(multicast: bool = False, first_attempt: datetime | None = None) -> _Unit:
    rows = tuple(
        _Claimed(f"r{i}", f"U{i:032x}", "trial_cancel", date(2026, 12, 5), date(2026, 12, 5),
                 0, first_attempt, NOW, None)
        for i in range(3 if multicast else 1))
    return _Unit(rows, "k", multicast)


class NoDatabase:
    pass


# the dispatcher's table: LINE answers -> the rows become (and what else happens)
DISPATCH_ROWS = [
    ("200", answer("push", 200), "sent", None),
    ("409 (the key was accepted before)",
     answer("push", 409, b'{"message": "The retry key is already accepted"}'), "sent", None),
    ("5xx", answer("push", 502), "retry", None),
    ("no answer", answer("push", None), "retry", None),
    ("429 rate", answer("push", 429, RATE), "retry", "slowed"),
    ("429 monthly quota", answer("push", 429, QUOTA), "released", "paused"),
    ("400 blocked", answer("push", 400, BLOCKED), "failed", "blocked"),
    ("other 4xx", answer("push", 400, BAD), "failed", None),
]


@pytest.mark.parametrize(("name", "result", "becomes", "also"), DISPATCH_ROWS,
                         ids=[r[0] for r in DISPATCH_ROWS])
async def test_the_dispatcher_does_what_its_table_says(name, result, becomes, also):
    from zoneinfo import ZoneInfo

    dispatcher = Dispatcher(NoDatabase(), None, None, ZoneInfo("Asia/Tokyo"))  # type: ignore[arg-type]
    outcomes: list[dict] = []
    blocked: list[str] = []
    report = Report()
    failed = await dispatcher._record(_unit(), result, NOW, report, outcomes, blocked)
    [outcome] = outcomes
    kind = {"sent": "sent", "failed": "failed"}.get(outcome["status"])
    if kind is None:  # still pending: retried later, or released as if never tried
        kind = "released" if outcome["attempts"] == 0 else "retry"
    assert kind == becomes
    assert failed == (1 if becomes == "failed" else 0)
    assert (blocked == [_unit().rows[0].user_id]) == (also == "blocked")
    assert (dispatcher.paused_reason is not None) == (also == "paused")
    assert (dispatcher.push_rate.slowdowns == 1) == (also == "slowed")


async def test_a_retry_past_the_retry_keys_life_fails():
    dispatcher = Dispatcher(NoDatabase(), None, None, __import__("zoneinfo").ZoneInfo("UTC"))  # type: ignore[arg-type]
    outcomes: list[dict] = []
    await dispatcher._record(_unit(first_attempt=NOW - timedelta(hours=23)), answer("push", 500),
                             NOW, Report(), outcomes, [])
    assert outcomes[0]["status"] == "failed"
