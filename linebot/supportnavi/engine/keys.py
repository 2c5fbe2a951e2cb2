"""What a button does, typed: every kind of key the bot puts in a button's postback data, and
the one place each is written as text and read back.

The text forms are on people's phones already (in buttons sent days ago) and must not change:

- `To(node)`, `to:web_1`: a node's button to another node of its route;
- `Route(route)`, `route:returns`: opens a route (the menu, the rich menu, a push);
- `DoAction(action)`, `action:menu`: menu, back, restart, help;
- `Menu(page)`, `menu:1`: another page of the menu;
- `Do(hours, then)`, `do:window:9-21>set` or `do:stop_all>list`: changes the person's
  reminders (hours None: stops them all), then goes to `then`;
- `Resolved(yes)`, `resolved:yes`: the answer to 「解決しましたか？」;
- `Remind(kind)`, `remind:trial_cancel`: the date picker of a node that offers a reminder;
- `Stop(kind, given)`, `stop:trial_cancel:2026-12-05`: stops one reminder (a push, the list);
- `Revive(keep)`, `revive:yes`: keep, or not, what was skipped while the person had blocked;
- `Tab(alias)`, `tab:supportnavi-trouble`: the rich menu's tab (LINE switches it);
- `Open(route, node)`, `open:prime_cancel.video_only`: opens a route at one of its branches
  (a candidate the bot offers when it asks what was meant).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args

from supportnavi.engine.hours import PushHours

Action = Literal["menu", "back", "restart", "help"]
ACTIONS: tuple[Action, ...] = get_args(Action)


@dataclass(frozen=True)
class To:
    node: str


@dataclass(frozen=True)
class Route:
    route: str


@dataclass(frozen=True)
class DoAction:
    action: Action


@dataclass(frozen=True)
class Menu:
    page: int


@dataclass(frozen=True)
class Do:
    hours: PushHours | None  # None: stop all the person's reminders
    then: str


@dataclass(frozen=True)
class Resolved:
    yes: bool


@dataclass(frozen=True)
class Remind:
    kind: str


@dataclass(frozen=True)
class Stop:
    """A reminder is named by its kind and the date the person gave, which all its pushes
    share (a trial's two pushes stop together)."""

    kind: str
    given: date


@dataclass(frozen=True)
class Revive:
    keep: bool


@dataclass(frozen=True)
class Tab:
    alias: str


@dataclass(frozen=True)
class Open:
    route: str
    node: str


Key = To | Route | DoAction | Menu | Do | Resolved | Remind | Stop | Revive | Tab | Open


def format_key(key: Key) -> str:
    match key:
        case To(node):
            return f"to:{node}"
        case Route(route):
            return f"route:{route}"
        case DoAction(action):
            return f"action:{action}"
        case Menu(page):
            return f"menu:{page}"
        case Do(hours, then):
            return f"do:{'stop_all' if hours is None else 'window:' + hours.text}>{then}"
        case Resolved(yes):
            return f"resolved:{'yes' if yes else 'no'}"
        case Remind(kind):
            return f"remind:{kind}"
        case Stop(kind, given):
            return f"stop:{kind}:{given.isoformat()}"
        case Revive(keep):
            return f"revive:{'yes' if keep else 'no'}"
        case Tab(alias):
            return f"tab:{alias}"
        case Open(route, node):
            return f"open:{route}.{node}"


def parse_key(text: str) -> Key | None:
    """The key a text form names, or None for one no button of ours carries."""
    kind, _, arg = text.partition(":")
    if not arg and kind != "to":
        return None
    match kind:
        case "to":
            return To(arg) if arg else None
        case "route":
            return Route(arg)
        case "action":
            return DoAction(arg) if arg in ACTIONS else None
        case "menu":
            return Menu(int(arg)) if arg.isascii() and arg.isdecimal() and len(arg) <= 3 \
                else None
        case "do":
            return _do(arg)
        case "resolved" | "revive":
            if arg not in ("yes", "no"):
                return None
            return Resolved(arg == "yes") if kind == "resolved" else Revive(arg == "yes")
        case "remind":
            return Remind(arg)
        case "stop":
            name, _, given = arg.partition(":")
            try:
                return Stop(name, date.fromisoformat(given))
            except ValueError:
                return None
        case "tab":
            return Tab(arg)
        case "open":
            route, _, node = arg.partition(".")
            return Open(route, node) if route and node else None
    return None


def _do(arg: str) -> Do | None:
    change, _, then = arg.partition(">")
    if not then:
        return None
    if change == "stop_all":
        return Do(None, then)
    if not change.startswith("window:"):
        return None
    hours = PushHours.parse(change.removeprefix("window:"))
    return None if hours is None else Do(hours, then)
