"""/simulator: a chat page that looks and behaves like LINE on a phone (simulator mode only).

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
from pathlib import Path
from typing import Annotated, Any, Literal

import httpx
from fastapi import APIRouter, Body, Depends, HTTPException, Query, Request
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from supportnavi.chat import follow_event, postback_event, sign, text_event, webhook_body
from supportnavi.richmenu.layout import HEIGHT, IMAGES, WIDTH, Menu
from supportnavi.settings import FAKE_LINE_PREFIX, is_loopback
from supportnavi.simulator.fake_line import FakeLine, Recorded

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = STATIC_DIR / "simulator.html"
# Everything the page loads comes from this server: no CDN, no inline script.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
REPLY_WAIT_SECONDS = 5.0  # how long an event waits for the bot's answer to reach the fake
OFF = ("the simulator runs only in simulator mode (SUPPORTNAVI_SIMULATOR=true or "
       "`serve --simulator`); this server talks to a real LINE channel")
GUARDED = ("/simulator", FAKE_LINE_PREFIX)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

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

    def __init__(self, fake: FakeLine, menus: list[Menu], callback_url: str, secret: str,
                 *, reply_wait: float = REPLY_WAIT_SECONDS) -> None:
        self.fake = fake
        self.menus = menus
        self.callback_url = callback_url
        self.secret = secret
        self.reply_wait = reply_wait
        self.users: dict[str, SimUser] = {}
        self.epoch = uuid.uuid4().hex[:12]  # tells a page that this run's chats are new
        self.http = httpx.AsyncClient(timeout=30, trust_env=False)

    async def close(self) -> None:
        await self.http.aclose()

    # --- people ----------------------------------------------------------------------------

    def user(self, user_id: str) -> SimUser:
        found = self.users.get(user_id)
        if found is None:
            default = self.menus[0].alias_id if self.menus else None
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
        return {
            "chat_bar": self.menus[0].chat_bar if self.menus else None,
            "size": {"width": WIDTH, "height": HEIGHT},
            "default": self.menus[0].alias_id if self.menus else None,
            "menus": [self._menu(m) for m in self.menus],
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


class LocalOnly:
    """Guards the simulator's paths (`/simulator…`, `/_fake_line…`), which have no login.

    Only a Host header naming this machine (a loopback name, or HOST as configured) is
    answered, else 400: with DNS rebinding, a page at evil.example whose name now points to
    127.0.0.1 reaches this server, but its requests still say `Host: evil.example`.

    A request that changes something must come from this server's own page, else 403: a
    browser sends a cross-site form POST without asking anyone, so under `/simulator` the
    body must be declared JSON (a form cannot, and a cross-site fetch that does must first
    pass a CORS preflight, which this server never grants); and whatever the browser says of
    where the request comes from (Sec-Fetch-Site, Origin) must be this origin. The bot's own
    calls to the fake send neither header."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        name = host.strip().lower().removeprefix("[").removesuffix("]")
        # "", 0.0.0.0 and :: (every interface) name no host a browser could be sent to
        self.own_host = name if name not in ("", "0.0.0.0", "::") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not any(
            path == prefix or path.startswith(prefix + "/") for prefix in GUARDED
        ):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope, Headers(scope=scope))
        if refusal is not None:
            status, detail = refusal
            await JSONResponse({"detail": detail}, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _known(self, host: str) -> bool:
        name = _host_name(host)
        return name is not None and (is_loopback(name) or name == self.own_host)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if not self._known(host):
            return 400, ("the simulator answers only a Host header naming this machine "
                         "(localhost, 127.0.0.1, [::1] or its HOST), not "
                         f"{host[:100]!r}")
        if scope["method"] in SAFE_METHODS:
            return None
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return 403, (f"a cross-site request (Sec-Fetch-Site: {site[:40]}) cannot change "
                         "the simulator: only its own page can")
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"{scope['scheme']}://{host}".lower():
            return 403, (f"a request from another origin ({origin[:100]}) cannot change the "
                         "simulator: only its own page can")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if scope["path"].startswith("/simulator") and media_type != "application/json":
            return 403, ("send Content-Type: application/json: the simulator takes no form, "
                         "which any other site could make a browser post here")
        return None


def _host_name(host: str) -> str | None:
    """The name in a Host header, without its port; None when it is no name at all."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        name, bracket, rest = host[1:].partition("]")
        return name if bracket and (not rest or rest.startswith(":")) else None
    name, _, _ = host.partition(":")
    return name or None


router = APIRouter(prefix="/simulator")


def _simulator(request: Request) -> Simulator:
    simulator: Simulator | None = getattr(request.app.state.services, "simulator", None)
    if simulator is None:
        raise HTTPException(404, OFF)
    return simulator


Sim = Annotated[Simulator, Depends(_simulator)]


@router.get("", include_in_schema=False)
async def page(_: Sim) -> FileResponse:
    return FileResponse(PAGE, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": PAGE_POLICY,
                                 "cache-control": "no-cache"})


@router.get("/richmenu/{name}")
async def richmenu_image(name: str, sim: Sim) -> FileResponse:
    for menu in sim.menus:
        if menu.image_file == name:
            return FileResponse(IMAGES / name, media_type="image/png")
    raise HTTPException(404, f"no rich-menu image {name!r}")


@router.get("/api/richmenu")
async def richmenu(sim: Sim) -> dict[str, Any]:
    return sim.richmenu()


@router.get("/api/users")
async def users(sim: Sim) -> dict[str, Any]:
    return {"users": [u.public() for u in sim.users.values()]}


@router.post("/api/users", status_code=201)
async def new_user(sim: Sim) -> dict[str, Any]:
    return sim.new_user().public()


@router.get("/api/messages")
async def messages(
    sim: Sim,
    user: Annotated[str, Query(pattern=r"^U[0-9a-f]{32}$",
                               description="the LINE user id the page acts as")],
    after: Annotated[int, Query(ge=0, description="the last entry the page has")] = 0,
) -> dict[str, Any]:
    """The person's chat after entry `after`: what they did and what reached them."""
    found = sim.users.get(user)
    if found is None:  # reading does not make a person up; their first action does
        default = sim.menus[0].alias_id if sim.menus else None
        return {"user": {"id": user, "number": None, "relation": "new", "richmenu": default},
                "entries": [], "cursor": 0, "epoch": sim.epoch}
    entries = sim.entries(found, after)
    return {"user": found.public(), "entries": entries, "cursor": len(found.entries),
            "epoch": sim.epoch}


@router.post("/api/events")
async def events(action: Annotated[ActionIn, Body()], sim: Sim) -> JSONResponse:
    """One action of the person, sent to /callback as LINE would send it."""
    try:
        return JSONResponse(await sim.act(action))
    except NotSent as failed:
        return JSONResponse({"detail": failed.detail}, failed.status)
