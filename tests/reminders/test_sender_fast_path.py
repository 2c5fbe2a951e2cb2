"""The dispatcher's pushes and multicasts skip the SDK's request models: their bodies must still
be, byte for byte, what the SDK sends, and LINE's answers must mean what they mean through
the SDK (409: the retry key was accepted before, so it went)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from linebot.v3.messaging import MulticastRequest, PushMessageRequest, ReplyMessageRequest

from supportnavi.engine import OutText, QuickReply
from supportnavi.line.sender import LineSender, proxy_for, to_sdk
from tests.support.line_spec import request_errors

MESSAGES = [
    OutText("12月5日(土)までに解約すると料金はかかりません。", (
        QuickReply("解約手順へ", "postback", data="node=trial_cancel"),
        QuickReply("Amazonで開く", "uri", uri="https://www.amazon.co.jp/gp/primecentral?a=1"),
        QuickReply("日付を変える", "date", data="remind=trial_cancel", initial="2026-12-05",
                   min="2026-11-23", max="2027-11-23"),
    )),
    OutText("もう一通"),
]
PERSON = "U" + "a" * 32


@dataclass
class Line:
    """A stand-in LINE API: records every request's raw body and headers, answers as told."""

    url: str = ""
    bodies: list[bytes] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    answer: tuple[int, dict[str, object]] = (200, {"sentMessages": []})


@pytest.fixture
async def line() -> AsyncIterator[Line]:
    state = Line()

    async def handle(request: web.Request) -> web.Response:
        state.bodies.append(await request.read())
        state.headers.append(dict(request.headers))
        status, body = state.answer
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_post("/v2/bot/message/{op}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}"
    try:
        yield state
    finally:
        await runner.cleanup()


async def test_the_fast_bodies_are_the_sdks_byte_for_byte(line: Line):
    sender = LineSender(line.url, "the-token", max_connections=4)
    try:
        assert (await sender.push(PERSON, MESSAGES, retry_key="k1")).ok
        assert (await sender.multicast([PERSON, "U" + "b" * 32], MESSAGES, retry_key="k2")).ok
        # the same requests through the SDK, as every push went before the fast path
        api = sender._api
        await sender._call("push", api.push_message_with_http_info(
            PushMessageRequest(to=PERSON, messages=to_sdk(MESSAGES)), x_line_retry_key="k1"))
        await sender._call("multicast", api.multicast_with_http_info(
            MulticastRequest(to=[PERSON, "U" + "b" * 32], messages=to_sdk(MESSAGES)),
            x_line_retry_key="k2"))
    finally:
        await sender.close()
    fast_push, fast_multicast, sdk_push, sdk_multicast = line.bodies
    assert fast_push == sdk_push
    assert fast_multicast == sdk_multicast
    push = json.loads(fast_push)
    assert request_errors("POST", "/v2/bot/message/push", push) == []
    assert request_errors("POST", "/v2/bot/message/multicast", json.loads(fast_multicast)) == []
    actions = [i["action"]["type"] for i in push["messages"][0]["quickReply"]["items"]]
    assert actions == ["postback", "uri", "datetimepicker"]
    for headers, key in zip(line.headers[:2], ["k1", "k2"], strict=True):
        assert headers["Authorization"] == "Bearer the-token"
        assert headers["Content-Type"] == "application/json"
        assert headers["X-Line-Retry-Key"] == key
    # one serialisation of the messages, for both requests
    assert len(sender._json) == 1


@pytest.mark.parametrize("label, data", [
    ("このリマインダーを止める", "v=1&k=stop%3Atrial_cancel%3A2026-12-05"),
    ('"quoted" \\ back', ""), ("x" * 20, "a=b&c=\u00e9\n"), ("", "data"),
])
async def test_a_postback_button_is_the_sdks_dict(label: str, data: str):
    message = OutText("本文", (QuickReply(label, "postback", data=data),
                             QuickReply("開く", "uri", uri="https://www.amazon.co.jp/")))
    sender = LineSender("http://127.0.0.1:9", "token")
    try:
        fast = json.dumps(sender._message_dict(message))
    finally:
        await sender.close()
    assert fast == json.dumps(to_sdk([message])[0].to_dict())


async def test_a_fast_reply_is_the_sdks_byte_for_byte_and_a_used_token_says_so(line: Line):
    sender = LineSender(line.url, "the-token", max_connections=4)
    try:
        assert (await sender.reply("token-1", MESSAGES)).ok
        await sender._call("reply", sender._api.reply_message_with_http_info(
            ReplyMessageRequest(reply_token="token-1", messages=to_sdk(MESSAGES))))
        line.answer = (400, {"message": "Invalid reply token"})
        refused = await sender.reply("token-1", MESSAGES)
    finally:
        await sender.close()
    fast, sdk, _ = line.bodies
    assert fast == sdk
    assert request_errors("POST", "/v2/bot/message/reply", json.loads(fast)) == []
    assert line.headers[0]["Authorization"] == "Bearer the-token"
    assert "X-Line-Retry-Key" not in line.headers[0]  # a reply has no retry key
    assert (refused.ok, refused.status, refused.token_invalid) == (False, 400, True)


async def test_a_409_is_sent_and_other_answers_keep_lines_message(line: Line):
    sender = LineSender(line.url + "/", "the-token")  # a trailing slash in LINE_API_BASE_URL
    try:
        line.answer = (409, {"message": "The retry key is already accepted"})
        assert (await sender.push(PERSON, MESSAGES, "k")).ok
        result = await sender.multicast([PERSON], MESSAGES, "k")
        assert (result.ok, result.status) == (True, 409)
        line.answer = (429, {"message": "You have reached your monthly limit."})
        result = await sender.push(PERSON, MESSAGES, "k")
        assert (result.ok, result.status, result.error) == (
            False, 429, "You have reached your monthly limit.")
        line.answer = (503, {"message": "busy"})
        result = await sender.multicast([PERSON], MESSAGES, "k")
        assert (result.ok, result.status, result.error) == (False, 503, "busy")
    finally:
        await sender.close()


async def test_no_answer_is_a_failure_without_a_status():
    sender = LineSender("http://127.0.0.1:9", "the-token", timeout=2.0)  # nobody listens
    try:
        result = await sender.push(PERSON, MESSAGES, "k")
    finally:
        await sender.close()
    assert (result.ok, result.status) == (False, None) and result.error


async def test_the_fast_path_goes_through_the_environments_proxy(line: Line, monkeypatch):
    """Behind an egress proxy (HTTP_PROXY/HTTPS_PROXY) every send must reach LINE through it, as
    the SDK's own session would; NO_PROXY names hosts reached directly. The stand-in LINE API
    plays the proxy here: LINE's host does not even resolve, so only the proxy can answer."""
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", line.url)
    sender = LineSender("http://line-api.invalid", "the-token")
    try:
        assert (await sender.push(PERSON, MESSAGES, retry_key="k1")).ok
        assert (await sender.reply("a-reply-token", MESSAGES)).ok
    finally:
        await sender.close()
    assert len(line.bodies) == 2
    assert line.headers[0]["Host"] == "line-api.invalid"  # asked of the proxy, for LINE

    monkeypatch.setenv("NO_PROXY", "line-api.invalid")
    direct = LineSender("http://line-api.invalid", "the-token", timeout=2.0)
    try:
        result = await direct.push(PERSON, MESSAGES, retry_key="k2")
    finally:
        await direct.close()
    assert not result.ok and result.status is None  # straight to a host that does not exist
    assert len(line.bodies) == 2
    # and a LINE API on this machine (the simulator's, the tests') is never behind a proxy
    monkeypatch.delenv("NO_PROXY")
    assert proxy_for("http://127.0.0.1:8000/_fake_line") is None
    assert proxy_for("http://line-api.invalid") == line.url
