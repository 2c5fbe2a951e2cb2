"""A fast fake LINE Messaging API for benchmarks: reply, push and multicast, answered as LINE
answers them, with nothing recorded but counters.

`fake_line_server.py` serves the FastAPI `FakeLine`, which keeps every request, and its own
routing and validation cost more per request than the bot being measured: on 2 cores it tops
out at 700-2,600 requests/s. This one is an `asyncio.Protocol` over `httptools` on uvloop: one
parse, one dict lookup and one `transport.write` per request, so what a benchmark measures is
the bot, not the fake.

It behaves like LINE where the bot depends on it (`tests/support/test_fast_fake_line.py`
checks each answer against `FakeLine`'s):

- a reply token works once: a reuse, or none, is 400 "Invalid reply token";
- a push or multicast retry key is accepted once: the next request with it is 409, with
  `x-line-accepted-request-id`;
- when asked (`--line-limits`, or `limits` in `/_harness/config`), more than LINE's per-second
  requests in any one-second window answer 429 "The API rate limit has been exceeded. Try
  again later."; `quota_exhausted` answers 429 "You have reached your monthly limit.";
- no `Authorization: Bearer …` is 401.

Counters, at `GET /_harness/stats` (the shape `fake_line_server`'s has, so the same harness
reads both): requests by path and status, accepted requests, people reached, duplicate
deliveries (a person reached twice), duplicate keys (a retry key accepted twice), reply tokens
tried more than once, the first and last answer's time, and requests per tenth of a second
(where a sender stalled). `POST /_harness/reset` zeroes them;
`POST /_harness/config` takes `{"limits": {"push": 2000, "multicast": 200} | null, "delay": S,
"quota_exhausted": bool}`.

    python -m tests.support.fast_fake_line [--port 0] [--line-limits] [--delay S]

prints `READY http://127.0.0.1:PORT` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, cast

import httptools

from supportnavi.simulator.fake_line import (
    LINE_RATE_LIMITS,
    MONTHLY_LIMIT_MESSAGE,
    RATE_LIMIT_MESSAGE,
)

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"
_OPS = {REPLY: "reply", PUSH: "push", MULTICAST: "multicast"}
INVALID_REPLY_TOKEN = "Invalid reply token"
RETRY_KEY_ACCEPTED = "The retry key is already accepted"

_REASONS = {200: b"OK", 400: b"Bad Request", 401: b"Unauthorized", 404: b"Not Found",
            409: b"Conflict", 429: b"Too Many Requests", 500: b"Internal Server Error"}


def _response(status: int, body: bytes, keep_alive: bool, extra: bytes = b"") -> bytes:
    return b"".join((
        b"HTTP/1.1 %d %s\r\n" % (status, _REASONS.get(status, b"Unknown")),
        b"content-type: application/json\r\ncontent-length: %d\r\n" % len(body),
        b"" if keep_alive else b"connection: close\r\n",
        extra, b"\r\n", body,
    ))


def _message(text: str) -> bytes:
    return json.dumps({"message": text}).encode()


_INVALID_TOKEN = _message(INVALID_REPLY_TOKEN)
_AUTH_FAILED = _message("Authentication failed")
_RATE = _message(RATE_LIMIT_MESSAGE)
_MONTHLY = _message(MONTHLY_LIMIT_MESSAGE)
_KEY_ACCEPTED = _message(RETRY_KEY_ACCEPTED)


def _sent(count: int) -> bytes:
    """A reply's or push's answer: the SDK checks it has one `sentMessages` entry each."""
    return json.dumps({"sentMessages": [{"id": f"{i + 1}", "quoteToken": f"q{i + 1}"}
                                        for i in range(max(count, 1))]}).encode()


_SENT = [_sent(n) for n in range(6)]  # LINE takes at most 5 messages per request


@dataclass
class Counters:
    requests: dict[str, Counter[int]] = field(default_factory=dict)
    reply_tokens: Counter[str] = field(default_factory=Counter)  # every try, answered or not
    used_tokens: set[str] = field(default_factory=set)
    accepted_keys: Counter[str] = field(default_factory=Counter)
    delivered_to: Counter[str] = field(default_factory=Counter)  # people pushed or multicast to
    replies_accepted: int = 0
    without_key: int = 0
    first_at: float | None = None
    last_at: float | None = None
    per_tenth: Counter[int] = field(default_factory=Counter)  # requests per 0.1 s of time.time()

    def summary(self) -> dict[str, Any]:
        accepted = sum(n.get(200, 0) for n in self.requests.values())
        return {
            "requests": {path: {str(s): n for s, n in by.items()}
                         for path, by in self.requests.items()},
            "accepted_requests": accepted,
            "replies_accepted": self.replies_accepted,
            "delivered": sum(self.delivered_to.values()),
            "recipients": len(self.delivered_to),
            "duplicate_deliveries": sum(n - 1 for n in self.delivered_to.values() if n > 1),
            "duplicate_keys": sum(n - 1 for n in self.accepted_keys.values() if n > 1),
            "reply_tokens_tried_twice": sum(1 for n in self.reply_tokens.values() if n > 1),
            "without_key": self.without_key,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "per_tenth_second": sorted(self.per_tenth.items()),
        }


class FastFakeLine:
    """What the fake knows and how it answers; `Connection` only parses HTTP around it."""

    def __init__(self, limits: dict[str, float] | None = None, delay: float = 0.0) -> None:
        self.limits = limits
        self.delay = delay
        self.quota_exhausted = False
        self.counters = Counters()
        self._recent: dict[str, deque[float]] = {}

    def reset(self) -> None:
        self.counters = Counters()
        self._recent.clear()

    def _over_rate(self, op: str, now: float) -> bool:
        """LINE's limits are per second: a sliding one-second window per endpoint."""
        limit = (self.limits or {}).get(op)
        if limit is None:
            return False
        recent = self._recent.get(op)
        if recent is None:
            recent = self._recent[op] = deque()
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= limit:
            return True
        recent.append(now)
        return False

    def answer(self, method: str, path: str, headers: dict[bytes, bytes], body: bytes,
               keep_alive: bool) -> bytes:
        op = _OPS.get(path) if method == "POST" else None
        if op is None:
            return self._control(method, path, body, keep_alive)
        status, payload, extra = self._message_api(op, headers, body)
        c = self.counters
        now = time.time()
        if c.first_at is None:
            c.first_at = now
        c.last_at = now
        c.per_tenth[int(now * 10)] += 1
        by_status = c.requests.get(path)
        if by_status is None:
            by_status = c.requests[path] = Counter()
        by_status[status] += 1
        return _response(status, payload, keep_alive, extra)

    def _message_api(self, op: str, headers: dict[bytes, bytes], body: bytes,
                     ) -> tuple[int, bytes, bytes]:
        if not headers.get(b"authorization", b"").startswith(b"Bearer "):
            return 401, _AUTH_FAILED, b""
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            parsed = {}
        messages = parsed.get("messages")
        count = len(messages) if isinstance(messages, list) else 1
        c = self.counters
        if op == "reply":
            token = parsed.get("replyToken")
            if not isinstance(token, str) or not token:
                return 400, _INVALID_TOKEN, b""
            c.reply_tokens[token] += 1
            if token in c.used_tokens:
                return 400, _INVALID_TOKEN, b""
            c.used_tokens.add(token)
            c.replies_accepted += 1
            return 200, _SENT[min(count, 5)], b""
        if self._over_rate(op, time.monotonic()):
            return 429, _RATE, b""
        if self.quota_exhausted:
            return 429, _MONTHLY, b""
        raw_key = headers.get(b"x-line-retry-key")
        key = raw_key.decode("latin-1") if raw_key is not None else None
        if key is not None:
            if key in c.accepted_keys:
                return 409, _KEY_ACCEPTED, b"x-line-accepted-request-id: %s\r\n" % raw_key
            c.accepted_keys[key] += 1
        else:
            c.without_key += 1
        to = parsed.get("to")
        for person in ([to] if isinstance(to, str) else to if isinstance(to, list) else []):
            c.delivered_to[str(person)] += 1
        return 200, (_SENT[min(count, 5)] if op == "push" else b"{}"), b""

    def _control(self, method: str, path: str, body: bytes, keep_alive: bool) -> bytes:
        if path == "/_harness/stats" and method == "GET":
            payload: Any = self.counters.summary()
        elif path == "/_harness/reset" and method == "POST":
            self.reset()
            payload = {"reset": True}
        elif path == "/_harness/config" and method == "POST":
            try:
                config = json.loads(body or b"{}")
            except ValueError:
                return _response(400, _message("config is not JSON"), keep_alive)
            if "limits" in config:
                self.limits = config["limits"]
                self._recent.clear()
            if "delay" in config:
                self.delay = float(config["delay"])
            if "quota_exhausted" in config:
                self.quota_exhausted = bool(config["quota_exhausted"])
            payload = {"limits": self.limits, "delay": self.delay,
                       "quota_exhausted": self.quota_exhausted}
        else:
            return _response(404, _message(f"the fast fake LINE API has no {method} {path}"),
                             keep_alive)
        return _response(200, json.dumps(payload).encode(), keep_alive)


class Connection(asyncio.Protocol):
    """One client connection: httptools calls back as it parses; each complete request is
    answered at once (or after the fake's delay), in order."""

    def __init__(self, fake: FastFakeLine) -> None:
        self.fake = fake
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self._url = b""
        self._headers: dict[bytes, bytes] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if self.transport is not None:
                self.transport.write(_response(400, _message("bad HTTP"), False))
                self.transport.close()

    # httptools' callbacks
    def on_message_begin(self) -> None:
        self._url, self._headers, self._body = b"", {}, []

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.lower()] = value

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        keep_alive = self.parser.should_keep_alive()
        path = self._url.split(b"?", 1)[0].decode("latin-1")
        method = self.parser.get_method().decode("latin-1")
        answer = self.fake.answer(method, path, self._headers, b"".join(self._body), keep_alive)
        if self.fake.delay > 0:
            asyncio.get_running_loop().call_later(self.fake.delay, self._write, answer,
                                                  keep_alive)
        else:
            self._write(answer, keep_alive)

    def _write(self, answer: bytes, keep_alive: bool) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.transport.write(answer)
        if not keep_alive:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


def listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted sockets inherit it: an answer is one write, but the client's next request
    # must not wait for a delayed ACK either (see fake_line_server.py)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(4096)
    return sock


async def serve(fake: FastFakeLine, sock: socket.socket) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: Connection(fake), sock=sock, backlog=4096)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--line-limits", action="store_true",
                        help=f"answer 429 beyond LINE's limits, requests/s: {LINE_RATE_LIMITS}")
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds to hold every answer (LINE's own latency)")
    args = parser.parse_args(argv)
    fake = FastFakeLine(dict(LINE_RATE_LIMITS) if args.line_limits else None, args.delay)
    sock = listening_socket(args.port)

    async def run() -> None:
        server = await serve(fake, sock)
        print(f"READY http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        async with server:
            await server.serve_forever()

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvicorn[standard] brings it
        asyncio.run(run())
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run())


if __name__ == "__main__":
    sys.exit(main())
