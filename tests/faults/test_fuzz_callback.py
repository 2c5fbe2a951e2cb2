"""Fuzzing `POST /callback` with hypothesis: random bodies (bytes, non-UTF-8, non-JSON, JSON of
the wrong shape, empty, huge), random headers (no, wrong, doubled signatures; odd content
types), and events generated from LINE's webhook.yml with random field values, correctly
signed (hypothesis-jsonschema).

- Bad input never gets a 500: only 200, 400 or 413.
- A missing, wrong or doubled signature is always a 400 (a body over the size limit is 413
  first: it is refused before it is read whole).
- Nothing is processed without a valid signature: no row in any table, nothing sent to LINE.
- A correctly signed body that webhook.yml allows is a 200.

CI runs a fixed, derandomised set of examples (`SUPPORTNAVI_FUZZ=ci`, the default); for a
longer hunt, `SUPPORTNAVI_FUZZ=long` runs twenty times as many, at random.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import time
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from supportnavi.simulator.signing import BOT_USER_ID, sign
from tests.faults.checks import row_counts
from tests.faults.conftest import ThreadedBot
from tests.support.line_spec import _spec, webhook_errors
from tests.support.line_user import SECRET

_HEALTH = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
           HealthCheck.data_too_large, HealthCheck.filter_too_much]
settings.register_profile("supportnavi-fuzz-ci", deadline=None, derandomize=True,
                          database=None, print_blob=True, suppress_health_check=_HEALTH)
settings.register_profile("supportnavi-fuzz-long", deadline=None, suppress_health_check=_HEALTH)
PROFILE = os.environ.get("SUPPORTNAVI_FUZZ", "ci")
SCALE = 20 if PROFILE == "long" else 1


def fuzz(examples: int) -> settings:
    return settings(settings.get_profile(f"supportnavi-fuzz-{PROFILE}"),
                    max_examples=examples * SCALE)


# --- events from webhook.yml ----------------------------------------------------------------


def _event_branches() -> dict[str, dict[str, Any]]:
    """One schema per event type: the branches of `Event` once its discriminator is made
    explicit (tests/support/line_spec.py), each requiring its own `type`."""
    components = _spec("webhook.yml")["components"]
    choice = components["schemas"]["Event"]["allOf"][1]["anyOf"]
    return {branch["properties"]["type"]["enum"][0]: {**branch, "components": components}
            for branch in choice}


EVENT_SCHEMAS = _event_branches()
# the events this bot acts on come up more often than the rest
COMMON = ("message", "postback", "follow", "unfollow")
events = st.one_of(
    st.sampled_from(COMMON).flatmap(lambda t: from_schema(EVENT_SCHEMAS[t])),
    st.sampled_from(sorted(EVENT_SCHEMAS)).flatmap(lambda t: from_schema(EVENT_SCHEMAS[t])),
)
webhook_bodies = st.fixed_dictionaries({
    "destination": st.one_of(st.just(BOT_USER_ID), st.text(max_size=40)),
    "events": st.lists(events, max_size=3),
})


def encoded(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


# --- bodies and signatures that LINE would never send ------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)
wrong_shapes = st.one_of(
    json_values,
    st.fixed_dictionaries({"events": json_values}),
    st.fixed_dictionaries({"destination": json_values, "events": st.lists(json_values)}),
    st.fixed_dictionaries({"events": st.lists(st.dictionaries(
        st.sampled_from(["type", "source", "timestamp", "mode", "webhookEventId",
                         "deliveryContext", "replyToken", "message", "postback"]),
        json_values))}),
)
raw_bodies = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(str.encode),
    st.text(max_size=200).map(lambda t: t.encode("utf-16")),  # not UTF-8
    wrong_shapes.map(encoded),
    webhook_bodies.map(encoded),
)
bad_signatures = st.one_of(
    st.text(max_size=60),
    st.binary(min_size=32, max_size=32).map(lambda b: base64.b64encode(b).decode()),
)
content_types = st.sampled_from([None, "application/json", "text/plain", "application/x-www-form-urlencoded",
                                 "application/json; charset=shift_jis", "multipart/form-data",
                                 "", "*/*"])


def _headers(content_type: str | None) -> list[tuple[str, str]]:
    return [] if content_type is None else [("content-type", content_type)]


def raw_post(url: str, headers: list[tuple[str, bytes]], body: bytes) -> tuple[int, bytes]:
    """POST /callback over a plain socket: header bytes as they are (an HTTP client library
    refuses to send control bytes), one request per connection. The status and the body."""
    host, port = url.removeprefix("http://").split(":")
    head = b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers)
    request = (b"POST /callback HTTP/1.1\r\nHost: bot\r\nConnection: close\r\n"
               + f"Content-Length: {len(body)}\r\n".encode() + head + b"\r\n" + body)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    return int(status_line.split(b" ")[1]), rest.partition(b"\r\n\r\n")[2]


def _bot_on_a_copy(tmp_path_factory, sqlite_template, name: str):
    path = tmp_path_factory.mktemp("fuzz") / f"{name}.db"
    shutil.copy(sqlite_template, path)
    bot = ThreadedBot(f"sqlite+aiosqlite:///{path}")
    yield bot
    bot.close()


@pytest.fixture(scope="module")
def quiet_bot(tmp_path_factory, sqlite_template):
    """One bot for every test that must leave it untouched (each checks it still is)."""
    yield from _bot_on_a_copy(tmp_path_factory, sqlite_template, "quiet")


@pytest.fixture(scope="module")
def busy_bot(tmp_path_factory, sqlite_template):
    yield from _bot_on_a_copy(tmp_path_factory, sqlite_template, "busy")


def _nothing_happened(bot: ThreadedBot) -> None:
    assert set(bot.run(row_counts(bot.db_url)).values()) == {0}
    assert bot.fake.records == []


@fuzz(120)
@given(body=raw_bodies, signature=st.one_of(st.none(), bad_signatures),
       content_type=content_types)
@example(body=b"", signature=None, content_type=None)
@example(body=b"", signature="", content_type="application/json")
@example(body=b'{"destination": "x", "events": []}', signature="", content_type=None)
def test_without_a_valid_signature_nothing_happens(quiet_bot, body, signature, content_type):
    assume(signature is None or signature != sign(SECRET, body))
    headers = [(name, value.encode()) for name, value in _headers(content_type)]
    if signature is not None:
        # any bytes but a line break (which would be a second header, tested apart)
        value = signature.encode("utf-8").replace(b"\r", b"").replace(b"\n", b"")
        headers.append(("x-line-signature", value))
    status, answer = raw_post(quiet_bot.url, headers, body)
    # uvicorn itself refuses a header it cannot parse (control bytes) in plain text; the
    # bot's own refusals say why in JSON
    assert status == 400, answer
    assert b"Traceback" not in answer
    _nothing_happened(quiet_bot)


A_FOLLOW = encoded({"destination": BOT_USER_ID, "events": [{
    "type": "follow", "timestamp": 1, "source": {"type": "user", "userId": "U" + "0" * 32},
    "mode": "active", "webhookEventId": "01" + "A" * 24, "replyToken": "0" * 32,
    "deliveryContext": {"isRedelivery": False}, "follow": {"isUnblocked": False}}]})


@fuzz(40)
@given(body=st.one_of(st.just(A_FOLLOW), wrong_shapes.map(encoded)), wrong=bad_signatures,
       right_first=st.booleans())
def test_a_doubled_signature_header_is_refused_whatever_its_values(
    quiet_bot, body, wrong, right_first
):
    """LINE sends one x-line-signature; two are refused, even when one of them is right."""
    right = sign(SECRET, body)
    wrong_bytes = wrong.encode().replace(b"\r", b"").replace(b"\n", b"")
    pair = [right.encode(), wrong_bytes] if right_first else [wrong_bytes, right.encode()]
    headers = [("content-type", b"application/json"), *(("x-line-signature", s) for s in pair)]
    status, answer = raw_post(quiet_bot.url, headers, body)
    assert status == 400, answer
    _nothing_happened(quiet_bot)


def test_a_huge_body_is_413_signed_or_not(quiet_bot):
    huge = encoded({"destination": BOT_USER_ID, "events": [], "pad": "x" * 1_100_000})
    for signature in (None, "bad", sign(SECRET, huge)):
        headers = {} if signature is None else {"x-line-signature": signature}
        response = httpx.post(f"{quiet_bot.url}/callback", content=huge, headers=headers,
                              timeout=30)
        assert response.status_code == 413, response.text

        def chunks():
            yield huge[:500_000]
            yield huge[500_000:]

        streamed = httpx.post(f"{quiet_bot.url}/callback", content=chunks(), headers=headers,
                              timeout=30)  # no Content-Length: chunked, counted as it comes
        assert streamed.status_code == 413, streamed.text
    _nothing_happened(quiet_bot)


# --- signed bodies -------------------------------------------------------------------------------


@fuzz(30)
@given(payload=webhook_bodies, content_type=content_types)
def test_a_signed_body_that_webhook_yml_allows_is_200(threaded_bot, payload, content_type):
    assume(webhook_errors(payload) == [])
    body = encoded(payload)
    headers = [*_headers(content_type), ("x-line-signature", sign(SECRET, body))]
    response = httpx.post(f"{threaded_bot.url}/callback", content=body, headers=headers,
                          timeout=30)
    assert response.status_code == 200, (response.text, payload)


DEEP = b"[" * 5000 + b"]" * 5000  # deeper than Python's recursion limit


@fuzz(80)
@given(body=st.one_of(wrong_shapes.map(encoded), st.binary(max_size=500),
                      st.text(max_size=300).map(str.encode)))
@example(body=DEEP)
@example(body=b'{"events": [{"type": "message", "x": ' + DEEP + b"}]}")
@example(body=b'{"destination": "U", "events": [{"type": "message"}]}')
@example(body=b'{"destination": "U", "events": [null, 1, "x"]}')
@example(body=b"\xef\xbb\xbf{}")  # a byte-order mark
@example(body=b'{"events": [], "destination": 1e999}')
def test_a_signed_body_of_any_shape_is_200_or_400_never_500(busy_bot, body):
    headers = {"content-type": "application/json", "x-line-signature": sign(SECRET, body)}
    response = httpx.post(f"{busy_bot.url}/callback", content=body, headers=headers,
                          timeout=30)
    assert response.status_code in (200, 400), response.text
    assert "Traceback" not in response.text


# --- what httpx will not send: odd Content-Length values, by hand ---------------------------------


def _raw(url: str, head: str, body: bytes, *, close_early: bool = False) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        if close_early:
            sock.shutdown(socket.SHUT_WR)  # the body it promised never comes
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if b"\r\n\r\n" in answer and not close_early:
                    break
        except TimeoutError:
            pass
        return answer


@pytest.mark.parametrize("length", ["abc", "-1", "+5", "1e3", " 5", "99999999999999999999",
                                    "5, 5", "0x10"])
def test_a_nonsense_content_length_is_400(quiet_bot, length):
    body = b'{"destination": "U", "events": []}'
    head = (f"POST /callback HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"X-Line-Signature: {sign(SECRET, body)}\r\nContent-Length: {length}")
    answer = _raw(quiet_bot.url, head, body)
    status = answer.split(b" ", 2)[1] if answer else b""
    assert status in (b"400", b"413"), answer[:300]
    _nothing_happened(quiet_bot)


def test_a_body_shorter_than_its_content_length_is_never_processed(quiet_bot):
    body = b'{"destination": "U", "events": []}'
    head = (f"POST /callback HTTP/1.1\r\nHost: x\r\nX-Line-Signature: {sign(SECRET, body)}"
            f"\r\nContent-Length: {len(body) + 10}")
    answer = _raw(quiet_bot.url, head, body, close_early=True)
    assert b" 500 " not in answer[:20], answer[:300]
    _nothing_happened(quiet_bot)
    # and the bot is fine afterwards
    assert httpx.get(f"{quiet_bot.url}/healthz", timeout=10).status_code == 200


# --- poison: what a person can type or a forged body can carry (issue 14) ---------------------

LONE_SURROGATES = ["\ud800", "\udbff", "\udc00", "\udfff"]
typed = st.one_of(
    st.text(max_size=40),
    # dates, readable and not: far years, impossible days, the IME's dashes
    st.builds(lambda y, m, d, sep: f"{y}{sep}{m}{sep}{d}", st.integers(0, 99999),
              st.integers(0, 99), st.integers(0, 99), st.sampled_from(["/", "-", "‐", "ー", "."])),
    st.builds(lambda y, m, d: f"{y}年{m}月{d}日", st.integers(0, 99999), st.integers(0, 13),
              st.integers(0, 32)),
    # lone surrogates anywhere
    st.builds(lambda a, s, b: a + s + b, st.text(max_size=10), st.sampled_from(LONE_SURROGATES),
              st.text(max_size=10)),
    # long texts, beyond LINE's 5,000 characters
    st.builds(lambda unit, n: unit * n, st.sampled_from(["1-", "あ", "http://a.", "パスワード",
                                                          "0120", "．"]),
              st.integers(1000, 12000)),
    st.sampled_from(["4111 1111 1111 1111", "0120-999-373", "https://amazon.co.jp.evil.example/",
                     "\x00", "メニュー", "戻る", "１", "9999年12月31日"]),
)
KEY_KINDS = ["to", "route", "menu", "action", "do", "resolved", "remind", "stop", "revive", "tab",
             "x", ""]
forged_data = st.one_of(
    st.text(max_size=50),
    st.builds(lambda kind, arg, where: f"v=1&k={kind}:{arg}{where}", st.sampled_from(KEY_KINDS),
              st.one_of(st.text(max_size=20), st.sampled_from([
                  "window:99-3>start", "window:9-21>start", "stop_all>list", "yes", "no",
                  "menu", "help", "back", "returns", "trial_cancel:9999-12-31", "99", "-1"])),
              st.one_of(st.just(""), st.builds(lambda r, n: f"&r={r}&n={n}", st.text(max_size=70),
                                               st.text(max_size=70)),
                        st.sampled_from(["&r=returns&n=start", "&r=reminders&n=start"]))),
    st.builds(lambda n: "v=1&k=to:" + "x" * n, st.integers(60, 400)),
)
timestamps = st.one_of(st.integers(-(2 ** 63), 2 ** 63 - 1), st.just(10 ** 20),
                       st.just(1_700_000_000_000))


@st.composite
def poison_events(draw) -> dict[str, Any]:
    user = draw(st.sampled_from([f"U{i:032x}" for i in range(4)]))
    event: dict[str, Any] = {
        "timestamp": draw(timestamps), "source": {"type": "user", "userId": user},
        "mode": "active", "webhookEventId": "01" + draw(st.text(
            alphabet="0123456789ABCDEFGHJKMNPQRSTVWXYZ", min_size=24, max_size=24)),
        "deliveryContext": {"isRedelivery": draw(st.booleans())},
        "replyToken": draw(st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
    }
    kind = draw(st.sampled_from(["text", "postback", "follow"]))
    if kind == "text":
        event.update(type="message", message={"type": "text", "id": "1", "text": draw(typed),
                                              "quoteToken": "q"})
    elif kind == "postback":
        postback: dict[str, Any] = {"data": draw(forged_data)}
        if draw(st.booleans()):
            postback["params"] = {"date": draw(typed)}
        event.update(type="postback", postback=postback)
    else:
        event.update(type="follow", follow={"isUnblocked": False})
    return event


@fuzz(30)
@given(events=st.lists(poison_events(), min_size=1, max_size=12), big=st.integers(0, 3))
def test_no_poison_input_is_a_500_or_holds_up_a_good_event(threaded_bot, events, big):
    """Dates, lone surrogates, impossible timestamps, long texts, forged button data and big
    bodies, signed as LINE would: every body is a 200, every event is recorded as handled
    (none left for a redelivery that would fail again), and a good event in the same body is
    answered."""
    good = {"type": "message", "timestamp": 1_700_000_000_000, "mode": "active",
            "source": {"type": "user", "userId": "U" + "f" * 32},
            "webhookEventId": "01" + uuid.uuid4().hex.upper()[:24], "replyToken": uuid.uuid4().hex,
            "deliveryContext": {"isRedelivery": False},
            "message": {"type": "text", "id": "2", "text": "メニュー", "quoteToken": "q"}}
    body_events = [*events * (1 + 40 * big)][:200]
    while True:
        # ensure_ascii: a lone surrogate goes as the escape \ud800, as JSON allows
        body = json.dumps({"destination": BOT_USER_ID, "events": [*body_events, good]}).encode()
        if len(body) < 1_000_000 or len(body_events) == 1:  # under the size limit (413)
            break
        body_events = body_events[: len(body_events) // 2]
    ids = {e["webhookEventId"] for e in body_events}
    response = httpx.post(f"{threaded_bot.url}/callback", content=body, timeout=60,
                          headers={"x-line-signature": sign(SECRET, body)})
    assert response.status_code == 200, response.text
    handled = threaded_bot.run(_processed(threaded_bot.db_url))
    assert (ids | {good["webhookEventId"]}) <= handled
    for _ in range(200):
        if any(r.body.get("replyToken") == good["replyToken"] for r in threaded_bot.fake.records):
            break
        time.sleep(0.02)
    else:
        raise AssertionError("the good event was not answered")


async def _processed(db_url: str) -> set[str]:
    from sqlalchemy import select

    from supportnavi.store.models import ProcessedEvent
    from tests.support.db import session_at

    async with session_at(db_url) as session:
        return set((await session.execute(select(ProcessedEvent.webhook_event_id))).scalars())
