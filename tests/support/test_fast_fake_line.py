"""The fast fake LINE API answers as the recording fake (`FakeLine`) does, for every case the
bot and the benchmarks depend on, and the SDK accepts its answers."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from supportnavi.engine import OutText
from supportnavi.line.sender import LineSender
from supportnavi.simulator.fake_line import FakeLine
from tests.conftest import Served
from tests.support.fast_fake_line import FastFakeLine, listening_socket, serve

AUTH = {"Authorization": "Bearer t"}
REPLY, PUSH, MULTICAST = "/v2/bot/message/reply", "/v2/bot/message/push", \
    "/v2/bot/message/multicast"
TEXT = [{"type": "text", "text": "hi"}]


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeLine, FastFakeLine, str, str]]:
    slow, fast = FakeLine(), FastFakeLine()
    sock = listening_socket()
    server = await serve(fast, sock)
    try:
        async with Served(slow.app()) as served:
            yield slow, fast, served.url, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


async def _both(urls: tuple[str, str], path: str, body: Any, headers: dict[str, str],
                ) -> list[tuple[int, Any, str | None]]:
    answers = []
    async with httpx.AsyncClient(timeout=10) as client:
        for url in urls:
            r = await client.post(url + path, json=body, headers=headers)
            answers.append((r.status_code, r.json(), r.headers.get("x-line-accepted-request-id")))
    return answers


def _same(answers: list[tuple[int, Any, str | None]], status: int) -> None:
    (slow_status, slow_body, slow_id), (fast_status, fast_body, fast_id) = answers
    assert slow_status == fast_status == status, answers
    if status >= 400:  # an error's message is what the bot reads
        assert slow_body == fast_body, answers
    else:
        assert set(slow_body) == set(fast_body), answers
    assert slow_id == fast_id, answers


async def test_a_reply_token_works_once_and_a_retry_key_is_accepted_once(fakes):
    _, _, slow_url, fast_url = fakes
    urls = (slow_url, fast_url)
    reply = {"replyToken": "tok-1", "messages": TEXT}
    _same(await _both(urls, REPLY, reply, AUTH), 200)
    _same(await _both(urls, REPLY, reply, AUTH), 400)  # "Invalid reply token"
    _same(await _both(urls, REPLY, {"messages": TEXT}, AUTH), 400)
    for path, body in [(PUSH, {"to": "U1", "messages": TEXT}),
                       (MULTICAST, {"to": ["U1", "U2"], "messages": TEXT})]:
        keyed = {**AUTH, "X-Line-Retry-Key": f"key-{path}"}
        _same(await _both(urls, path, body, keyed), 200)
        _same(await _both(urls, path, body, keyed), 409)  # with x-line-accepted-request-id
        _same(await _both(urls, path, body, {}), 401)


async def test_rate_limit_and_monthly_quota_429s_carry_lines_messages(fakes):
    slow, fast, slow_url, fast_url = fakes
    urls = (slow_url, fast_url)
    slow.rate_limits = fast.limits = {"push": 3, "multicast": 2}
    for path, allowed in [(PUSH, 3), (MULTICAST, 2)]:
        for i in range(allowed):
            body = {"to": ["U1"] if path == MULTICAST else "U1", "messages": TEXT}
            _same(await _both(urls, path, body, {**AUTH, "X-Line-Retry-Key": f"{path}{i}"}), 200)
        _same(await _both(urls, path, {"to": "U1", "messages": TEXT},
                          {**AUTH, "X-Line-Retry-Key": f"{path}-over"}), 429)
    slow.rate_limits = fast.limits = None
    slow.quota_exhausted = fast.quota_exhausted = True
    _same(await _both(urls, PUSH, {"to": "U1", "messages": TEXT},
                      {**AUTH, "X-Line-Retry-Key": "quota"}), 429)


async def test_its_counters_find_duplicates(fakes):
    _, fast, _, fast_url = fakes
    async with httpx.AsyncClient(base_url=fast_url, timeout=10) as client:
        for key, to in [("a", "U1"), ("b", "U1"), ("c", "U2"), ("c", "U2")]:
            await client.post(PUSH, json={"to": to, "messages": TEXT},
                              headers={**AUTH, "X-Line-Retry-Key": key})
        await client.post(MULTICAST, json={"to": ["U2", "U3"], "messages": TEXT},
                          headers={**AUTH, "X-Line-Retry-Key": "d"})
        for _ in range(2):
            await client.post(REPLY, json={"replyToken": "r", "messages": TEXT}, headers=AUTH)
        stats = (await client.get("/_harness/stats")).json()
        assert stats["requests"][PUSH] == {"200": 3, "409": 1}
        assert stats["accepted_requests"] == 5  # 3 pushes, 1 multicast, 1 reply
        assert stats["delivered"] == 5 and stats["recipients"] == 3
        assert stats["duplicate_deliveries"] == 2  # U1 twice, U2 twice (key c once, d once)
        assert stats["reply_tokens_tried_twice"] == 1
        assert (await client.post("/_harness/reset")).json() == {"reset": True}
        assert (await client.get("/_harness/stats")).json()["accepted_requests"] == 0
    assert fast.counters.replies_accepted == 0


async def test_the_sdk_and_the_fast_push_path_accept_its_answers(fakes):
    _, fast, _, fast_url = fakes
    sender = LineSender(fast_url, "token")
    messages = [OutText("one"), OutText("two")]
    try:
        assert (await sender.reply("tok", messages)).ok
        refused = await sender.reply("tok", messages)
        assert refused.token_invalid and not refused.ok
        assert (await sender.push("U1", messages, retry_key="k")).ok
        assert (await sender.push("U1", messages, retry_key="k")).status == 409
    finally:
        await sender.close()
    assert fast.counters.replies_accepted == 1


def test_it_runs_as_its_own_process_and_says_where():
    proc = subprocess.Popen([sys.executable, "-m", "tests.support.fast_fake_line",
                             "--line-limits"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready[0] == "READY"
        config = httpx.post(ready[1] + "/_harness/config", json={}, timeout=10).json()
        assert config["limits"] == {"push": 2000, "multicast": 200}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
