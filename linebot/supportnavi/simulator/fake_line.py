"""A fake LINE Messaging API. It records every request, and behaves like LINE where the bot
depends on it: a reply token works once, a push or multicast retry key is accepted once (409
after), and, when asked, the per-second rate limits and the monthly quota answer 429 with
LINE's own messages. Counters (`/_stats`) tell a benchmark how many requests came and how many
times each person and each retry key got a message, so duplicates can be counted.

A bad day at LINE, at random (`faults`, per endpoint): 500s, 429s, no answer at all until the
client gives up, and slow answers; a 500 or a silence may come after LINE took the message
all the same (`taken`), which is what makes a retry dangerous."""

from __future__ import annotations

import asyncio
import bisect
import random
import time
from collections import Counter, deque
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from supportnavi.simulator.fake_richmenu import FakeRichMenus, add_richmenu_routes

# LINE's messages for its two kinds of 429
RATE_LIMIT_MESSAGE = "The API rate limit has been exceeded. Try again later."
MONTHLY_LIMIT_MESSAGE = "You have reached your monthly limit."
# LINE's published per-channel limits, in requests per second
LINE_RATE_LIMITS = {"push": 2000, "multicast": 200}


# "error" (500) | "rate_limited" (429) | "timeout" (no answer) | "slow" | "expired" (a reply
# token refused as too old, on its first use)
FaultKind = str


@dataclass
class Faults:
    """How often each kind of trouble comes, drawn per request from its own seeded random."""

    error: float = 0.0  # 500
    rate_limited: float = 0.0  # 429 "The API rate limit has been exceeded."
    timeout: float = 0.0  # no answer until the client hangs up (or `hang_seconds`)
    slow: float = 0.0  # the right answer, `slow_seconds` late
    # replies only, and only at a token's first use: "Invalid reply token", the webhook came too
    # late to answer (LINE keeps a token for a minute, so a later try never finds it expired)
    expired: float = 0.0
    taken: float = 0.5  # of the 500s and timeouts, the share LINE took all the same
    slow_seconds: float = 1.0
    hang_seconds: float = 30.0
    seed: int = 0

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def draw(self) -> tuple[FaultKind | None, bool]:
        """The trouble for one request (None: none), and whether LINE takes it anyway."""
        roll = self._random.random()
        taken = self._random.random() < self.taken
        for kind in ("error", "rate_limited", "timeout", "slow", "expired"):
            chance: float = getattr(self, kind)
            if roll < chance:
                return kind, taken
            roll -= chance
        return None, False

    @classmethod
    def parse(cls, config: dict[str, Any]) -> Faults:
        known = {"error", "rate_limited", "timeout", "slow", "expired", "taken",
                 "slow_seconds", "hang_seconds", "seed"}
        unknown = set(config) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}")
        return cls(**config)


async def _hang(request: Request, seconds: float) -> None:
    """No answer: wait until the client gives up (or `seconds` pass)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await request.is_disconnected():
            return
        await asyncio.sleep(0.05)


@dataclass
class Recorded:
    seq: int
    method: str
    path: str
    body: Any
    retry_key: str | None
    authorization: str | None
    at: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "method": self.method, "path": self.path,
            "body": {"bytes": len(self.body)} if isinstance(self.body, bytes) else self.body,
            "retry_key": self.retry_key, "at": self.at,
        }


@dataclass
class FakeLine:
    records: list[Recorded] = field(default_factory=list)
    used_reply_tokens: set[str] = field(default_factory=set)
    accepted_retry_keys: set[str] = field(default_factory=set)
    # Answers to force on the next pushes, in order: (status, message, accepted). `accepted`
    # means LINE took the message even though it answered an error (a 500 after delivery).
    push_script: list[tuple[int, str, bool]] = field(default_factory=list)
    reply_script: list[tuple[int, str, bool]] = field(default_factory=list)
    push_attempt_keys: list[str | None] = field(default_factory=list)  # every try, answered or not
    reply_attempt_tokens: list[str | None] = field(default_factory=list)  # likewise
    _tried_tokens: set[str | None] = field(default_factory=set)
    # random trouble per endpoint ("reply", "push", "multicast"); none by default
    faults: dict[str, Faults] = field(default_factory=dict)
    faulted: Counter[str] = field(default_factory=Counter)  # "reply:timeout" -> how many
    multicast_script: list[tuple[int, str, bool]] = field(default_factory=list)
    multicast_attempt_keys: list[str | None] = field(default_factory=list)
    # Requests per second per endpoint ("push", "multicast") beyond which it answers 429 like
    # LINE; None: no limit (the default). `enforce_line_rate_limits()` sets LINE's own.
    rate_limits: dict[str, float] | None = None
    # Once set, every push and multicast answers 429 "You have reached your monthly limit."
    quota_exhausted: bool = False
    # Counters: requests that came (any answer), requests accepted, 429s for the rate, and
    # how many times each person and each retry key got a message (more than 1: a duplicate).
    calls: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    rate_limited: Counter[str] = field(default_factory=Counter)
    delivered_to: Counter[str] = field(default_factory=Counter)
    delivered_by_key: Counter[str] = field(default_factory=Counter)
    _recent: dict[str, deque[float]] = field(default_factory=dict)
    richmenus: FakeRichMenus = field(default_factory=FakeRichMenus)
    # Sequence numbers keep growing across clear(), so a reader's "after" never skips anything.
    _last_seq: int = 0

    def fail_next_reply(self, status: int, message: str = "", *, accepted: bool = False) -> None:
        """The next reply answers `status`; `accepted`: LINE used the token all the same."""
        self.reply_script.append((status, message or f"fake error {status}", accepted))

    def fail_next_push(self, status: int, message: str = "", *, accepted: bool = False) -> None:
        self.push_script.append((status, message or f"fake error {status}", accepted))

    def fail_next_multicast(
        self, status: int, message: str = "", *, accepted: bool = False
    ) -> None:
        self.multicast_script.append((status, message or f"fake error {status}", accepted))

    def enforce_line_rate_limits(self, scale: float = 1.0) -> None:
        """Answer 429 beyond LINE's per-second limits (times `scale`)."""
        self.rate_limits = {op: limit * scale for op, limit in LINE_RATE_LIMITS.items()}

    def duplicates(self) -> int:
        """Messages delivered more than once to the same person under the same retry key."""
        return sum(n - 1 for n in self.delivered_by_key.values() if n > 1)

    def stats(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls), "accepted": dict(self.accepted),
            "rate_limited": dict(self.rate_limited), "faulted": dict(self.faulted),
            "reply_attempts": len(self.reply_attempt_tokens),
            "recipients": sum(self.delivered_to.values()),
            "people": len(self.delivered_to), "duplicates": self.duplicates(),
        }

    def clear(self) -> None:
        self.records.clear()

    def sent_to(
        self, user_id: str, reply_tokens: Container[str], after: int = 0
    ) -> list[Recorded]:
        """What LINE took for `user_id` after record `after`, in order: replies to one of
        the reply tokens its events carried, pushes to it and multicasts that include it."""
        start = bisect.bisect_right(self.records, after, key=lambda r: r.seq)
        return [r for r in self.records[start:] if _reaches(r, user_id, reply_tokens)]

    async def _trouble(
        self, op: str, request: Request, first_use: bool = False,
    ) -> tuple[JSONResponse | None, bool]:
        """The random trouble for this request: the answer to give instead of the right one
        (None: answer normally, maybe late), and whether LINE takes the message anyway."""
        faults = self.faults.get(op)
        if faults is None:
            return None, False
        kind, taken = faults.draw()
        if kind is None or (kind == "expired" and not (op == "reply" and first_use)):
            return None, False
        self.faulted[f"{op}:{kind}"] += 1
        if kind == "slow":
            await asyncio.sleep(faults.slow_seconds)
            return None, False
        if kind == "rate_limited":
            return JSONResponse({"message": RATE_LIMIT_MESSAGE}, 429), False
        if kind == "expired":
            return JSONResponse({"message": "Invalid reply token"}, 400), False
        if kind == "timeout":
            return JSONResponse({"message": "timeout"}, 504), taken  # answered only after _hang
        return JSONResponse({"message": "fake random error 500"}, 500), taken

    def _over_rate(self, op: str) -> bool:
        """A sliding one-second window per endpoint: over the limit answers 429."""
        limit = (self.rate_limits or {}).get(op)
        if limit is None:
            return False
        now = time.monotonic()
        recent = self._recent.setdefault(op, deque())
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        if len(recent) >= limit:
            self.rate_limited[op] += 1
            return True
        recent.append(now)
        return False

    def _deliver(self, op: str, key: str | None, to: list[str]) -> None:
        self.accepted[op] += 1
        for user_id in to:
            self.delivered_to[user_id] += 1
            self.delivered_by_key[f"{key}:{user_id}"] += 1

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.records if r.path == path]

    def _record(self, request: Request, body: Any) -> None:
        self._last_seq += 1
        self.records.append(
            Recorded(
                seq=self._last_seq,
                method=request.method,
                path=request.url.path.removeprefix(request.scope.get("root_path", "")),
                body=body,
                retry_key=request.headers.get("x-line-retry-key"),
                authorization=request.headers.get("authorization"),
                at=time.time(),
            )
        )

    def _sent(self, body: Any) -> dict[str, Any]:
        count = len(body.get("messages", [])) if isinstance(body, dict) else 0
        return {
            "sentMessages": [
                {"id": f"{len(self.records)}{i:03d}", "quoteToken": f"q{len(self.records)}-{i}"}
                for i in range(max(count, 1))
            ]
        }

    def app(self) -> FastAPI:
        app = FastAPI(title="fake LINE Messaging API", openapi_url=None, docs_url=None)

        async def json_body(request: Request) -> Any:
            try:
                return await request.json()
            except ValueError:
                return None

        @app.post("/v2/bot/message/reply")
        async def reply(request: Request) -> JSONResponse:
            body = await json_body(request)
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return JSONResponse({"message": "Authentication failed"}, 401)
            token = body.get("replyToken") if isinstance(body, dict) else None
            first_use = token not in self._tried_tokens
            self._tried_tokens.add(token)
            self.reply_attempt_tokens.append(token)
            if not token or token in self.used_reply_tokens:
                return JSONResponse({"message": "Invalid reply token"}, 400)
            trouble, taken = await self._trouble("reply", request, first_use)
            if trouble is not None and trouble.status_code == 400:  # expired: for good
                self.used_reply_tokens.add(token)
                return trouble
            if trouble is not None:
                if taken and token not in self.used_reply_tokens:
                    self.used_reply_tokens.add(token)
                    self._record(request, body)
                if trouble.status_code == 504:
                    await _hang(request, self.faults["reply"].hang_seconds)
                return trouble
            if token in self.used_reply_tokens:  # taken by a twin request while this one was slow
                return JSONResponse({"message": "Invalid reply token"}, 400)
            if self.reply_script:
                status, message, accepted = self.reply_script.pop(0)
                if accepted:
                    self.used_reply_tokens.add(token)
                    self._record(request, body)
                return JSONResponse({"message": message}, status)
            self.used_reply_tokens.add(token)
            self._record(request, body)
            return JSONResponse(self._sent(body))

        async def send(request: Request, op: str) -> JSONResponse:
            """Push and multicast: the same retry-key, script, rate and quota rules."""
            body = await json_body(request)
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return JSONResponse({"message": "Authentication failed"}, 401)
            self.calls[op] += 1
            key = request.headers.get("x-line-retry-key")
            script = self.push_script if op == "push" else self.multicast_script
            (self.push_attempt_keys if op == "push" else self.multicast_attempt_keys).append(key)
            raw_to = body.get("to") if isinstance(body, dict) else None
            to = [raw_to] if isinstance(raw_to, str) else [str(t) for t in raw_to or []]
            if self._over_rate(op):
                return JSONResponse({"message": RATE_LIMIT_MESSAGE}, 429)
            if self.quota_exhausted:
                return JSONResponse({"message": MONTHLY_LIMIT_MESSAGE}, 429)
            trouble, taken = await self._trouble(op, request)
            if trouble is not None:
                if taken and (key is None or key not in self.accepted_retry_keys):
                    if key is not None:
                        self.accepted_retry_keys.add(key)
                    self._record(request, body)
                    self._deliver(op, key, to)
                if trouble.status_code == 504:
                    await _hang(request, self.faults[op].hang_seconds)
                return trouble
            if script:
                status, message, accepted = script.pop(0)
                if accepted:
                    if key is not None:
                        self.accepted_retry_keys.add(key)
                    self._record(request, body)
                    self._deliver(op, key, to)
                return JSONResponse({"message": message}, status)
            if key is not None and key in self.accepted_retry_keys:
                return JSONResponse(
                    {"message": "The retry key is already accepted"}, 409,
                    headers={"x-line-accepted-request-id": key},
                )
            if key is not None:
                self.accepted_retry_keys.add(key)
            self._record(request, body)
            self._deliver(op, key, to)
            return JSONResponse(self._sent(body) if op == "push" else {})

        @app.post("/v2/bot/message/push")
        async def push(request: Request) -> JSONResponse:
            return await send(request, "push")

        @app.post("/v2/bot/message/multicast")
        async def multicast(request: Request) -> JSONResponse:
            return await send(request, "multicast")

        @app.get("/_stats")
        async def stats() -> dict[str, Any]:
            return self.stats()

        @app.get("/_records")
        async def records(after: int = 0) -> dict[str, Any]:
            return {"records": [r.as_dict() for r in self.records if r.seq > after]}

        @app.delete("/_records")
        async def clear() -> dict[str, Any]:
            self.clear()
            return {"cleared": True}

        add_richmenu_routes(app, self.richmenus, self._record, json_body)

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
        async def other(path: str, request: Request) -> JSONResponse:
            self._record(request, await json_body(request))
            return JSONResponse({"message": f"the fake LINE API has no /{path}"}, 404)

        return app


def _reaches(record: Recorded, user_id: str, reply_tokens: Container[str]) -> bool:
    body = record.body
    if not isinstance(body, dict):
        return False
    if record.path.endswith("/v2/bot/message/reply"):
        return body.get("replyToken") in reply_tokens
    if record.path.endswith("/v2/bot/message/push"):
        return bool(body.get("to") == user_id)
    if record.path.endswith("/v2/bot/message/multicast"):
        to = body.get("to")
        return isinstance(to, list) and user_id in to
    return False
