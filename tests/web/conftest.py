"""The app in simulator mode, served by uvicorn on 127.0.0.1 as `make run` serves it, with
every body POSTed to /callback kept (after it reached the app) so a test can check it against
LINE's webhook.yml. The simulator posts its webhooks to the port it serves on, so the socket
is bound before the app is made."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from supportnavi.app import create_app
from supportnavi.settings import Settings
from tests.conftest import Served, _free_socket

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


@dataclass
class Posted:
    body: bytes
    signature: str | None


@dataclass
class Capture:
    """An ASGI layer that keeps each /callback request's body and signature, then passes the
    request on unchanged."""

    app: Any
    posted: list[Posted] = field(default_factory=list)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        if scope["type"] != "http" or scope["path"] != "/callback":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        self.posted.append(Posted(body, headers.get("x-line-signature")))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class ServedOn(Served):
    """Served, on a socket bound beforehand."""

    def __init__(self, app: Any, sock: Any) -> None:
        super().__init__(app)
        self.sock.close()
        self.sock = sock
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"


class SimApp:
    def __init__(self, url: str, app: Any, capture: Capture) -> None:
        self.url = url
        self.app = app
        self.capture = capture
        self.http = httpx.AsyncClient(base_url=url, timeout=20)

    @property
    def services(self) -> Any:
        return self.app.state.services

    async def new_user(self) -> SimPerson:
        response = await self.http.post("/simulator/api/users", json={})  # as the page posts
        assert response.status_code == 201, response.text
        return SimPerson(self, response.json()["id"])


class SimPerson:
    """A person using the page, through the page's own API."""

    def __init__(self, sim: SimApp, user_id: str) -> None:
        self.sim = sim
        self.id = user_id
        self.cursor = 0
        self.entries: list[dict[str, Any]] = []

    async def act(self, **body: Any) -> httpx.Response:
        return await self.sim.http.post("/simulator/api/events", json={"user": self.id, **body})

    async def do(self, **body: Any) -> list[dict[str, Any]]:
        """Act, expect it to go through, and return the chat entries it added."""
        response = await self.act(**body)
        assert response.status_code == 200, response.text
        return await self.read()

    async def read(self) -> list[dict[str, Any]]:
        response = await self.sim.http.get(
            "/simulator/api/messages", params={"user": self.id, "after": self.cursor})
        assert response.status_code == 200, response.text
        new = response.json()["entries"]
        self.cursor = response.json()["cursor"]
        self.entries += new
        return list(new)

    def chips(self) -> list[dict[str, Any]]:
        last = self.entries[-1]
        assert last["from"] == "bot", last
        items = last["messages"][-1].get("quickReply", {}).get("items", [])
        return [item["action"] for item in items]

    def chip(self, label: str) -> dict[str, Any]:
        for action in self.chips():
            if action["label"] == label:
                return action
        raise AssertionError(f"no chip {label!r}: {[a['label'] for a in self.chips()]}")

    async def tap(self, label: str) -> list[dict[str, Any]]:
        action = self.chip(label)
        return await self.do(type="postback", data=action["data"],
                             display_text=action.get("displayText"))

    async def pick(self, label: str, day: str) -> list[dict[str, Any]]:
        return await self.do(type="postback", data=self.chip(label)["data"], date=day)


def said(entries: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text", "") for e in entries if e["from"] == "bot"
                     for m in e["messages"])


@pytest.fixture
async def sim(tmp_path: Path, sqlite_template: Path) -> AsyncIterator[SimApp]:
    path = tmp_path / "sim.db"
    shutil.copy(sqlite_template, path)
    sock = _free_socket()
    settings = Settings(
        DATABASE_URL=f"sqlite+aiosqlite:///{path}", PORT=sock.getsockname()[1],
        LINE_CHANNEL_SECRET="", LINE_CHANNEL_ACCESS_TOKEN="",  # blank: unset
        SUPPORTNAVI_SIMULATOR=True,
        SUPPORTNAVI_DISPATCHER=False,  # tests run the dispatcher themselves, at a fixed now
    )
    assert settings.simulator_mode
    app = create_app(settings)
    capture = Capture(app)
    async with ServedOn(capture, sock) as served:
        client = SimApp(served.url, app, capture)
        try:
            yield client
        finally:
            await client.http.aclose()
