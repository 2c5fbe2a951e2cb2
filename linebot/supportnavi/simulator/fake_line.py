"""A fake LINE Messaging API. It records every request, and behaves like LINE where the bot
depends on it: a reply token works once, a push retry key is accepted once (409 after)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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
            "seq": self.seq, "method": self.method, "path": self.path, "body": self.body,
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
    push_attempt_keys: list[str | None] = field(default_factory=list)  # every try, answered or not

    def fail_next_push(self, status: int, message: str = "", *, accepted: bool = False) -> None:
        self.push_script.append((status, message or f"fake error {status}", accepted))

    def clear(self) -> None:
        self.records.clear()

    def bodies(self, path: str) -> list[Any]:
        return [r.body for r in self.records if r.path == path]

    def _record(self, request: Request, body: Any) -> None:
        self.records.append(
            Recorded(
                seq=len(self.records) + 1,
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
            if not token or token in self.used_reply_tokens:
                return JSONResponse({"message": "Invalid reply token"}, 400)
            self.used_reply_tokens.add(token)
            self._record(request, body)
            return JSONResponse(self._sent(body))

        @app.post("/v2/bot/message/push")
        async def push(request: Request) -> JSONResponse:
            body = await json_body(request)
            if not request.headers.get("authorization", "").startswith("Bearer "):
                return JSONResponse({"message": "Authentication failed"}, 401)
            key = request.headers.get("x-line-retry-key")
            self.push_attempt_keys.append(key)
            if self.push_script:
                status, message, accepted = self.push_script.pop(0)
                if accepted:
                    if key is not None:
                        self.accepted_retry_keys.add(key)
                    self._record(request, body)
                return JSONResponse({"message": message}, status)
            if key is not None and key in self.accepted_retry_keys:
                return JSONResponse(
                    {"message": "The retry key is already accepted"}, 409,
                    headers={"x-line-accepted-request-id": key},
                )
            if key is not None:
                self.accepted_retry_keys.add(key)
            self._record(request, body)
            return JSONResponse(self._sent(body))

        @app.get("/_records")
        async def records(after: int = 0) -> dict[str, Any]:
            return {"records": [r.as_dict() for r in self.records if r.seq > after]}

        @app.delete("/_records")
        async def clear() -> dict[str, Any]:
            self.clear()
            return {"cleared": True}

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
        async def other(path: str, request: Request) -> JSONResponse:
            self._record(request, await json_body(request))
            return JSONResponse({"message": f"the fake LINE API has no /{path}"}, 404)

        return app
