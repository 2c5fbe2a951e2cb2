"""The postback data the bot puts on its buttons, and reading it back.

A node's button names the node it belongs to (`r`, `n`), so a tap on an old button can be
recognised as stale instead of moving the person somewhere wrong. Global buttons (menu,
start a route) carry no node and are valid from anywhere. What a button does is its key
(`engine/keys.py`), written and read there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from supportnavi.engine.keys import Key, format_key, parse_key
from supportnavi.engine.outcome import QuickReply

VERSION = "1"


@dataclass(frozen=True)
class Tap:
    key: Key
    route: str | None = None  # the node the button belonged to; None for global buttons
    node: str | None = None


@functools.lru_cache(maxsize=8192)
def encode(tap: Tap) -> str:
    """A button's data: the same for the same key and node, so drawn once (every answer draws
    its buttons anew, and encoding was a good part of the engine's time)."""
    fields = {"v": VERSION, "k": format_key(tap.key)}
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
    key = parse_key(fields["k"])
    if key is None:
        return None
    return Tap(key=key, route=route, node=node)


def global_reply(label: str, key: Key) -> QuickReply:
    """A button valid from anywhere (open a route, the menu): its data names no node."""
    return QuickReply(label=label, kind="postback", data=encode(Tap(key)))
