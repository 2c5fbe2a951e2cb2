"""A LINE user in a test: builds webhook bodies as LINE sends them, signs and posts them, and
reads back what the bot sent to this user through the fake LINE API."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import TYPE_CHECKING, Any

import httpx

from supportnavi.engine import keys, postback
from supportnavi.simulator.signing import BOT_USER_ID, sign
from tests.support.line_spec import webhook_errors

if TYPE_CHECKING:
    from tests.conftest import Bot

SECRET = "test-channel-secret"


def event_id() -> str:
    return "01" + uuid.uuid4().hex.upper()[:24]


class LineUser:
    def __init__(self, bot: Bot, user_id: str) -> None:
        self.bot = bot
        self.user_id = user_id
        self.seen_tokens: set[str] = set()
        self.last_quick_replies: list[dict[str, Any]] = []

    # --- events, built to webhook.yml ---------------------------------------------------------

    def event(self, type_: str, **fields: Any) -> dict[str, Any]:
        event: dict[str, Any] = {
            "type": type_,
            "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": self.user_id},
            "mode": "active",
            "webhookEventId": event_id(),
            "deliveryContext": {"isRedelivery": False},
        }
        if type_ != "unfollow":
            event["replyToken"] = uuid.uuid4().hex
        event.update(fields)
        return event

    def follow(self) -> dict[str, Any]:
        return self.event("follow", follow={"isUnblocked": False})

    def unfollow(self) -> dict[str, Any]:
        return self.event("unfollow")

    def text(self, text: str) -> dict[str, Any]:
        message = {"type": "text", "id": str(uuid.uuid4().int)[:18], "text": text,
                   "quoteToken": "q" + uuid.uuid4().hex}
        return self.event("message", message=message)

    def sticker(self) -> dict[str, Any]:
        message = {"type": "sticker", "id": "1", "packageId": "446", "stickerId": "1988",
                   "stickerResourceType": "STATIC", "quoteToken": "q"}
        return self.event("message", message=message)

    def postback(self, data: str, **params: str) -> dict[str, Any]:
        body: dict[str, Any] = {"data": data}
        if params:
            body["params"] = params
        return self.event("postback", postback=body)

    # --- sending ------------------------------------------------------------------------------

    @staticmethod
    def body(*events: dict[str, Any]) -> bytes:
        payload = {"destination": BOT_USER_ID, "events": list(events)}
        errors = webhook_errors(payload)
        assert not errors, f"the test built a webhook LINE would not send: {errors}"
        return json.dumps(payload, ensure_ascii=False).encode()

    async def post(self, body: bytes, signature: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/json"}
        headers["x-line-signature"] = sign(SECRET, body) if signature is None else signature
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(f"{self.bot.url}/callback", content=body, headers=headers)

    async def send(self, *events: dict[str, Any]) -> httpx.Response:
        response = await self.post(self.body(*events))
        assert response.status_code == 200, response.text
        return response

    # --- what came back -----------------------------------------------------------------------

    def replies(self) -> list[dict[str, Any]]:
        """Every request the bot made to this user, replies and pushes, in order."""
        return [
            r.body for r in self.bot.fake.records
            if (r.path.endswith("/reply") and r.body.get("replyToken") in self.tokens)
            or (r.path.endswith("/push") and r.body.get("to") == self.user_id)
        ]

    @property
    def tokens(self) -> set[str]:
        return self.seen_tokens

    async def say(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Send one event and wait for the bot's answer to it; return its messages."""
        token = event.get("replyToken")
        if token:
            self.seen_tokens.add(token)
        await self.send(event)
        return await self.wait_for_reply(event)

    async def wait_for_reply(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """The messages of the bot's reply to `event`, once the fake LINE API has them."""
        token = event.get("replyToken")
        for _ in range(750):  # up to 15 s: a loaded 2-core machine is slow
            for r in self.bot.fake.records:
                if r.path.endswith("/reply") and r.body.get("replyToken") == token:
                    messages: list[dict[str, Any]] = r.body["messages"]
                    quick = (messages[-1].get("quickReply") or {}).get("items", [])
                    self.last_quick_replies = quick
                    return messages
            await asyncio.sleep(0.02)
        raise AssertionError(f"no reply to {event['type']} event {event['webhookEventId']}")

    def button(self, label: str) -> dict[str, Any]:
        labels = [item["action"]["label"] for item in self.last_quick_replies]
        for item in self.last_quick_replies:
            if item["action"]["label"] == label:
                return item["action"]  # type: ignore[no-any-return]
        raise AssertionError(f"no button {label!r}; shown: {labels}")

    async def tap(self, label: str) -> list[dict[str, Any]]:
        action = self.button(label)
        assert action["type"] == "postback", action
        return await self.say(self.postback(action["data"]))

    async def pick_date(self, label: str, day: str) -> list[dict[str, Any]]:
        """Choose `day` (YYYY-MM-DD) in the date picker behind the button `label`, as LINE
        posts it back."""
        action = self.button(label)
        assert action["type"] == "datetimepicker" and action["mode"] == "date", action
        return await self.say(self.postback(action["data"], date=day))

    async def open(self, route_id: str) -> list[dict[str, Any]]:
        """Start a route the way a menu tap does, whatever page of the menu it sits on."""
        return await self.say(self.postback(postback.encode(postback.Tap(keys.Route(route_id)))))


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m["text"] for m in messages)


async def opened(bot: Bot, route_id: str) -> tuple[LineUser, str]:
    """A new friend who has opened a route as from the menu, and what the bot said."""
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.open(route_id))
    return user, said


async def walk(user: LineUser, labels: list[str]) -> str:
    """Tap each label in turn; everything the bot said on the way."""
    said = ""
    for label in labels:
        said += "\n" + texts(await user.tap(label))
    return said


async def reach(user: LineUser, route_id: str, node_id: str) -> list[dict[str, Any]]:
    """Open a route and tap the shortest way to one of its nodes, as a person would; return
    what the bot said at the last step."""
    from supportnavi.engine.loader import load_scenarios
    from supportnavi.settings import REPO_ROOT

    route = load_scenarios(REPO_ROOT / "scenarios").routes[route_id]
    paths: dict[str, list[str]] = {route.start: []}
    todo = [route.start]
    while todo and node_id not in paths:
        here = todo.pop(0)
        for button in route.nodes[here].buttons:
            if button.to is not None and button.to not in paths:
                paths[button.to] = [*paths[here], button.label]
                todo.append(button.to)
    said = await user.open(route_id)
    for label in paths[node_id]:
        said = await user.tap(label)
    return said
