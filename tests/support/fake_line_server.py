"""The fake LINE API as its own process, for tests and benchmarks that run the dispatcher as a
subprocess (and kill it). It serves `FakeLine().app()` behind a thin ASGI harness that can:

- answer pushes and multicasts slowly (`--delay`): the fake accepts the message, records it,
  and only then waits before answering, which is the window a crash test wants to hit (LINE
  has the message, the dispatcher does not know yet); replies likewise (`--reply-delay`), for
  a server killed while LINE holds replies it has not confirmed;
- have a bad day at random (`POST /_harness/config {"faults": {"reply": {...}, "push":
  {...}}}`, the fake's own `Faults`: 500s, 429s, silences and slow answers, taken or not);
- enforce LINE's rate limits (`--line-limits`: the fake's own `enforce_line_rate_limits()`,
  push 2,000 and multicast 200 requests/s; beyond them it answers 429 with LINE's message);
- log every push and multicast it sees (path, status, retry key, recipients, token) and count
  answers per status, at `GET /_harness/deliveries` and `GET /_harness/stats`.

Acceptance itself is the fake's: a delivery is a push or multicast that the fake answered 200.

    python -m tests.support.fake_line_server [--port 0] [--delay 0.05] [--reply-delay 0.2]
                                             [--line-limits]

prints `READY http://127.0.0.1:PORT` on stdout once it serves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from supportnavi.simulator.fake_line import LINE_RATE_LIMITS, FakeLine, Faults

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
MULTICAST = "/v2/bot/message/multicast"
DELIVERY_PATHS = (PUSH, MULTICAST)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass
class Delivery:
    path: str
    status: int
    retry_key: str | None
    to: list[str]
    token: str
    at: float = 0.0  # when the fake answered (before any --delay), time.time()

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "status": self.status, "retry_key": self.retry_key,
                "to": self.to, "token": self.token, "at": self.at}


def recipients(body: Any) -> list[str]:
    to = body.get("to") if isinstance(body, dict) else None
    if isinstance(to, str):
        return [to]
    if isinstance(to, list):
        return [str(t) for t in to]
    return []


def summarize(log: list[Delivery]) -> dict[str, Any]:
    """Delivered: answered 200 by the fake. Each recipient should appear in exactly one accepted
    delivery, and each accepted retry key once; `duplicate_*` count the excess."""
    accepted = [d for d in log if d.status == 200]
    per_recipient = Counter(r for d in accepted for r in d.to)
    per_key = Counter(d.retry_key for d in accepted if d.retry_key is not None)
    statuses: dict[str, dict[str, int]] = {}
    for d in log:
        by_status = statuses.setdefault(d.path, {})
        by_status[str(d.status)] = by_status.get(str(d.status), 0) + 1
    return {
        "requests": statuses,
        "accepted_requests": len(accepted),
        "delivered": sum(per_recipient.values()),
        "recipients": len(per_recipient),
        "duplicate_deliveries": sum(n - 1 for n in per_recipient.values() if n > 1),
        "duplicate_keys": sum(n - 1 for n in per_key.values() if n > 1),
        "without_key": sum(1 for d in accepted if d.retry_key is None),
        "first_at": min((d.at for d in log), default=None),
        "last_at": max((d.at for d in log), default=None),
    }


@dataclass
class Harness:
    delay: float = 0.0
    fake: FakeLine = field(default_factory=FakeLine)
    log: list[Delivery] = field(default_factory=list)
    reply_delay: float = 0.0

    def __post_init__(self) -> None:
        self.inner = self.fake.app()

    def reset(self) -> None:
        """A fresh fake (same rate limits) and an empty log."""
        limits = self.fake.rate_limits
        self.fake = FakeLine(rate_limits=limits)
        self.inner = self.fake.app()
        self.log.clear()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        path = scope["path"]
        if path.startswith("/_harness/"):
            await self._control(scope, receive, send)
            return
        if scope["method"] == "POST" and path == REPLY and self.reply_delay > 0:
            answer = await self._answered(scope, receive)
            await asyncio.sleep(self.reply_delay)  # taken and recorded; the answer is slow
            for message in answer:
                await send(message)
            return
        if scope["method"] != "POST" or path not in DELIVERY_PATHS:
            await self.inner(scope, receive, send)
            return
        body = await _read_body(receive)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        entry = Delivery(path, 0, headers.get("x-line-retry-key"), recipients(parsed),
                         headers.get("authorization", "").removeprefix("Bearer "))
        answer: list[Message] = []
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry.status = int(message["status"])
            answer.append(message)

        await self.inner(scope, replay, capture)
        entry.at = time.time()
        self.log.append(entry)
        if self.delay > 0:
            await asyncio.sleep(self.delay)  # accepted and recorded; the answer is slow
        for message in answer:
            await send(message)

    async def _answered(self, scope: Scope, receive: Receive) -> list[Message]:
        """The fake's whole answer to a request, held back instead of sent."""
        answer: list[Message] = []

        async def capture(message: Message) -> None:
            answer.append(message)

        await self.inner(scope, receive, capture)
        return answer

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path == "/_harness/stats" and method == "GET":
            await _json(send, 200, summarize(self.log))
        elif path == "/_harness/deliveries" and method == "GET":
            await _json(send, 200, {"deliveries": [d.as_dict() for d in self.log]})
        elif path == "/_harness/reset" and method == "POST":
            self.reset()
            await _json(send, 200, {"reset": True})
        elif path == "/_harness/config" and method == "POST":
            config = json.loads(await _read_body(receive) or b"{}")
            if "delay" in config:
                self.delay = float(config["delay"])
            if "limits" in config:  # {"push": 2000, "multicast": 200}, or null for none
                self.fake.rate_limits = config["limits"]
            if "reply_delay" in config:
                self.reply_delay = float(config["reply_delay"])
            if "faults" in config:  # {"reply": {"error": 0.2, ...}, "push": {...}}, {}: none
                try:
                    self.fake.faults = {op: Faults.parse(f) for op, f in config["faults"].items()}
                except (ValueError, TypeError, AttributeError) as exc:
                    await _json(send, 400, {"message": f"bad faults: {exc}"})
                    return
            await _json(send, 200, {"delay": self.delay, "limits": self.fake.rate_limits,
                                    "reply_delay": self.reply_delay,
                                    "faults": sorted(self.fake.faults)})
        else:
            await _json(send, 404, {"message": f"no {method} {path}"})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _json(send: Send, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(data)).encode())]})
    await send({"type": "http.response.body", "body": data})


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0,
                        help="seconds to hold each push/multicast answer after accepting it")
    parser.add_argument("--reply-delay", type=float, default=0.0,
                        help="seconds to hold each reply's answer after taking it")
    parser.add_argument("--line-limits", action="store_true",
                        help=f"answer 429 beyond LINE's limits, requests/s: {LINE_RATE_LIMITS}")
    args = parser.parse_args(argv)
    harness = Harness(delay=args.delay, reply_delay=args.reply_delay)
    if args.line_limits:
        harness.fake.enforce_line_rate_limits()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit this. Without it, uvicorn serving a socket it did not bind
    # itself writes an answer's head and body in two segments, Nagle holds the body until the
    # client's delayed ACK, and every request takes ~40 ms instead of ~1 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", args.port))
    config = uvicorn.Config(harness, log_level="warning", access_log=False, lifespan="off",
                            backlog=4096)
    server = uvicorn.Server(config)

    async def serve() -> None:
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        print(f"READY http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await task

    asyncio.run(serve())


if __name__ == "__main__":
    sys.exit(main())
