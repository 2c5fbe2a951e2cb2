"""The simulator page's logic: its people, what each action sends, and what each person was
sent (simulator mode only; web/simulator.py serves it).

The page never calls the engine. Every action it takes becomes a webhook body built to
webhook.yml, signed with the simulator's channel secret and POSTed to /callback over HTTP, as
LINE would send it. What the page shows is what the in-process fake LINE API recorded for that
person: replies to the reply tokens issued here, pushes to them, multicasts that include them.
The transcripts live in memory, like the fake's records: a restart starts them afresh.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from supportnavi.edition import Live
from supportnavi.richmenu.layout import HEIGHT, WIDTH, Menu
from supportnavi.simulator.fake_line import FakeLine, Recorded
from supportnavi.simulator.signing import (
    follow_event,
    postback_event,
    sign,
    text_event,
    webhook_body,
)

REPLY_WAIT_SECONDS = 5.0  # how long an event waits for the bot's answer to reach the fake


# LINE's own limits: a user id, a text message's 5,000 characters, postback data and a
# display text of 300, a rich-menu alias id of 32.
UserId = Annotated[str, StringConstraints(pattern=r"^U[0-9a-f]{32}$")]
Relation = Literal["new", "friend", "blocked"]


class _Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: UserId


class TextIn(_Action):
    type: Literal["text"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=5000)]

    @field_validator("text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("text is blank: LINE sends no empty message")
        return value


class PostbackIn(_Action):
    """A tap on a postback action (a quick reply or a rich-menu tile), or a date picked in a
    date picker (`date`, YYYY-MM-DD)."""

    type: Literal["postback"]
    data: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    display_text: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    date: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None

    @field_validator("date")
    @classmethod
    def _real_day(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)  # 2026-02-30 is no day
        return value


class SwitchIn(_Action):
    """A tab of the rich menu tapped: LINE switches the menu and posts the outcome."""

    type: Literal["richmenuswitch"]
    alias_id: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class FollowIn(_Action):
    type: Literal["follow"]


class UnfollowIn(_Action):
    type: Literal["unfollow"]


ActionIn = Annotated[TextIn | PostbackIn | SwitchIn | FollowIn | UnfollowIn,
                     Field(discriminator="type")]


class NotSent(Exception):
    """An action that did not go through: LINE would not let the person take it (a 4xx), or
    /callback did not take it (a 502)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class SimUser:
    id: str
    number: int
    richmenu: str | None  # the alias id of the rich-menu tab this person sees
    relation: Relation = "new"
    reply_tokens: set[str] = field(default_factory=set)
    entries: list[dict[str, Any]] = field(default_factory=list)
    seen: int = 0  # the fake's last record already copied into `entries`

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "relation": self.relation,
                "richmenu": self.richmenu}


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


def _via(record: Recorded) -> str:
    return record.path.rsplit("/", 1)[-1]  # reply, push or multicast


class Simulator:
    """Made and closed in the app's lifespan (it holds the HTTP client that posts webhooks)."""

    def __init__(self, fake: FakeLine, menus: list[Menu] | Live, callback_url: str,
                 secret: str, *, reply_wait: float = REPLY_WAIT_SECONDS) -> None:
        self.fake = fake
        # the rich menu's plan: fixed, or the served edition's (it follows a reload)
        self._menus = menus
        self.callback_url = callback_url
        self.secret = secret
        self.reply_wait = reply_wait
        self.users: dict[str, SimUser] = {}
        self.epoch = uuid.uuid4().hex[:12]  # tells a page that this run's chats are new
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)

    @property
    def menus(self) -> list[Menu]:
        return self._menus.current.menus if isinstance(self._menus, Live) else self._menus

    async def close(self) -> None:
        await self.http.aclose()

    # --- people ----------------------------------------------------------------------------

    def user(self, user_id: str) -> SimUser:
        found = self.users.get(user_id)
        if found is None:
            menus = self.menus
            default = menus[0].alias_id if menus else None
            found = self.users[user_id] = SimUser(user_id, len(self.users) + 1, default)
        return found

    def new_user(self) -> SimUser:
        return self.user("U" + uuid.uuid4().hex)

    def pull(self, user: SimUser) -> None:
        """Copy what the fake took for this person since the last pull into their chat."""
        for record in self.fake.sent_to(user.id, user.reply_tokens, after=user.seen):
            self._append(user, {"from": "bot", "via": _via(record), "at": _ms(record.at),
                                "messages": record.body.get("messages", [])})
            user.seen = record.seq

    def entries(self, user: SimUser, after: int) -> list[dict[str, Any]]:
        self.pull(user)
        return user.entries[after:]

    @staticmethod
    def _append(user: SimUser, entry: dict[str, Any]) -> None:
        entry["seq"] = len(user.entries) + 1
        user.entries.append(entry)

    # --- actions ---------------------------------------------------------------------------

    async def act(self, action: TextIn | PostbackIn | SwitchIn | FollowIn | UnfollowIn
                  ) -> dict[str, Any]:
        user = self.user(action.user)
        self.pull(user)  # what came before this action stays before it in the chat
        now = _ms(time.time())
        event: dict[str, Any]
        shown: dict[str, Any] | None
        if isinstance(action, FollowIn):
            if user.relation == "friend":
                raise NotSent(409, f"{user.id} is a friend already: LINE sends follow only "
                                   "when the account is added or unblocked")
            event, shown = follow_event(unblocked=user.relation == "blocked"), {
                "from": "person", "kind": "follow", "unblocked": user.relation == "blocked"}
            user.relation = "friend"
        elif isinstance(action, UnfollowIn):
            if user.relation == "blocked":
                raise NotSent(409, f"{user.id} has blocked the account already")
            event, shown = {"type": "unfollow"}, {"from": "person", "kind": "unfollow"}
            user.relation = "blocked"
        else:
            if user.relation == "blocked":
                raise NotSent(409, f"{user.id} has blocked the account: LINE delivers nothing "
                                   "from a blocked chat; send follow (unblock) first")
            event, shown = self._tap(user, action)
        if shown is not None:
            self._append(user, {**shown, "at": now})
        # the bot answers neither a block nor a tab switch
        answered = not isinstance(action, UnfollowIn | SwitchIn)
        status, replied = await self._post(user, event, expect=answered)
        return {"callback_status": status, "replied": replied, "user": user.public()}

    def _tap(self, user: SimUser, action: TextIn | PostbackIn | SwitchIn
             ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        if isinstance(action, TextIn):
            return text_event(action.text), {"from": "person", "kind": "text",
                                             "text": action.text}
        if isinstance(action, SwitchIn):
            data = self._switch_data(user, action.alias_id)
            user.richmenu = action.alias_id
            params = {"newRichMenuAliasId": action.alias_id, "status": "SUCCESS"}
            return postback_event(data, params), None  # LINE shows nothing in the chat
        if action.date is not None:
            self._check_picked(user, action.data, action.date)
            return postback_event(action.data, {"date": action.date}), None
        shown = None
        if action.display_text is not None:
            shown = {"from": "person", "kind": "postback", "text": action.display_text}
        return postback_event(action.data), shown

    def _switch_data(self, user: SimUser, alias_id: str) -> str:
        menu = next((m for m in self.menus if m.alias_id == user.richmenu), None)
        for area in menu.areas() if menu is not None else []:
            action = area["action"]
            if action["type"] == "richmenuswitch" and action["richMenuAliasId"] == alias_id:
                return str(action["data"])
        raise NotSent(400, f"the rich menu {user.richmenu} has no tab switching to {alias_id}")

    def _check_picked(self, user: SimUser, data: str, day: str) -> None:
        """LINE's picker posts only a date it offered, inside its bounds."""
        pickers = [
            item["action"]
            for entry in user.entries if entry["from"] == "bot"
            for message in entry["messages"]
            for item in (message.get("quickReply") or {}).get("items", [])
            if item["action"].get("type") == "datetimepicker" and item["action"]["data"] == data
        ]
        if not pickers:
            raise NotSent(400, f"no date picker with this data was shown to {user.id}")
        picker = pickers[-1]
        low, high = picker.get("min"), picker.get("max")
        if (low and day < low) or (high and day > high):
            raise NotSent(400, f"{day} is outside the date picker's range "
                               f"{low or '…'} to {high or '…'}")

    async def _post(self, user: SimUser, event: dict[str, Any], expect: bool
                    ) -> tuple[int, bool]:
        body = webhook_body(user.id, event)
        token = body["events"][0].get("replyToken")
        if token:
            user.reply_tokens.add(token)
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = {"content-type": "application/json", "x-line-signature": sign(self.secret, raw)}
        try:
            response = await self.http.post(self.callback_url, content=raw, headers=headers)
        except httpx.HTTPError as exc:
            raise NotSent(502, f"/callback did not answer: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise NotSent(502, f"/callback answered {response.status_code}: "
                               f"{response.text[:200]}")
        return response.status_code, expect and await self._answered(user)

    async def _answered(self, user: SimUser) -> bool:
        """Wait until the bot's answer reached the fake (it is sent after /callback's 200)."""
        deadline = time.monotonic() + self.reply_wait
        while not self.fake.sent_to(user.id, user.reply_tokens, after=user.seen):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        self.pull(user)
        return True

    # --- the rich menu, as the page draws it -----------------------------------------------

    def richmenu(self) -> dict[str, Any]:
        menus = self.menus  # one edition's
        return {
            "chat_bar": menus[0].chat_bar if menus else None,
            "size": {"width": WIDTH, "height": HEIGHT},
            "default": menus[0].alias_id if menus else None,
            "menus": [self._menu(m) for m in menus],
        }

    @staticmethod
    def _menu(menu: Menu) -> dict[str, Any]:
        """The areas `richmenu deploy` sends to LINE, each with the label the tile shows as
        its accessible name."""
        labels = {("richmenuswitch", t.alias_id): t.label for t in menu.tabs}
        labels.update({("postback", t.data): t.label.replace("\n", "") for t in menu.tiles})
        current = next(t.label for t in menu.tabs if t.current)

        def label(action: dict[str, Any]) -> str:
            key = action["richMenuAliasId"] if "richMenuAliasId" in action else action["data"]
            return labels[(str(action["type"]), str(key))]

        return {
            "alias_id": menu.alias_id, "tab": current,
            "image": f"/simulator/richmenu/{menu.image_file}",
            "areas": [{**area, "label": label(area["action"])} for area in menu.areas()],
        }
