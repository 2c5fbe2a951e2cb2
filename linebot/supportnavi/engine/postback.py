"""The postback data the bot puts on its buttons, and reading it back.

A node's button names the node it belongs to (`r`, `n`), so a tap on an old button can be
recognised as stale instead of moving the person somewhere wrong. Global buttons (menu,
start a route) carry no node and are valid from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, urlencode

from supportnavi.engine.hours import PushHours
from supportnavi.engine.model import QuickReply

VERSION = "1"


@dataclass(frozen=True)
class Tap:
    key: str  # "to:<node>", "route:<id>", "action:<name>", "resolved:yes|no"
    route: str | None = None  # the node the button belonged to; None for global buttons
    node: str | None = None


def encode(tap: Tap) -> str:
    fields = {"v": VERSION, "k": tap.key}
    if tap.route is not None and tap.node is not None:
        fields["r"] = tap.route
        fields["n"] = tap.node
    return urlencode(fields)


def decode(data: str) -> Tap | None:
    """None for data this bot did not make (or made in a version it no longer reads)."""
    try:
        fields = {k: v[0] for k, v in parse_qs(data, strict_parsing=True).items()}
    except ValueError:
        return None
    if fields.get("v") != VERSION or not fields.get("k"):
        return None
    route, node = fields.get("r"), fields.get("n")
    if (route is None) != (node is None):
        return None
    return Tap(key=fields["k"], route=route, node=node)


def global_reply(label: str, key: str) -> QuickReply:
    """A button valid from anywhere (open a route, the menu): its data names no node."""
    return QuickReply(label=label, kind="postback", data=encode(Tap(key)))


def stop_key(kind: str, given: date) -> str:
    """The key of 「このリマインダーを止める」: a reminder is named by its kind and the date the
    person gave, which all its pushes share (a trial's two pushes stop together)."""
    return f"stop:{kind}:{given.isoformat()}"


def read_stop(arg: str) -> tuple[str, date] | None:
    """The kind and date of a stop key's argument (what follows `stop:`), or None."""
    kind, _, given = arg.partition(":")
    try:
        return kind, date.fromisoformat(given)
    except ValueError:
        return None


def read_change(arg: str) -> tuple[PushHours | None, str] | None:
    """What follows `do:` in a key: the change to the person's reminders and the node it leads
    to, or None. `stop_all>list` stops them all (None); `window:9-21>set` sets the hours
    pushes may come in."""
    change, _, target = arg.partition(">")
    if not target:
        return None
    if change == "stop_all":
        return None, target
    if not change.startswith("window:"):
        return None
    hours = PushHours.parse(change.removeprefix("window:"))
    return None if hours is None else (hours, target)
