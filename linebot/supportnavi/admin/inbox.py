"""The operators' inbox (issue 18): what the bot could not place, as the table `unmatched`
keeps it (redacted, grouped, without who typed it), read for the dashboard and `supportnavi
examples export`, and the operator's two answers: accept it as an example of a route or one of
its branches, or ignore it.

Accepting changes no scenario file: it gives the YAML line to paste into
`scenarios/<route>.yaml` (under the route's `examples:`, or under the node's), and the export
writes every accepted entry at once, grouped by route and node.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import yaml
from sqlalchemy import select, update

from supportnavi.admin.queries import Reader
from supportnavi.engine import Scenarios
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import UnmatchedText

Status = Literal["new", "accepted", "ignored"]
STATUSES: tuple[Status, ...] = ("new", "accepted", "ignored")
MOST = 500  # entries the API lists
PAGE_MOST = 100  # new entries the page lists (each has a select of every place)


@dataclass(frozen=True)
class Guess:
    route: str
    node: str | None
    score: float

    @property
    def place(self) -> str:
        return self.route if self.node is None else f"{self.route}.{self.node}"


@dataclass(frozen=True)
class Entry:
    id: int
    text: str
    count: int
    route: str | None  # where it was typed; None: the menu
    node: str | None
    guesses: list[Guess]
    first_seen: datetime
    last_seen: datetime
    status: Status
    accepted_route: str | None = None
    accepted_node: str | None = None

    @property
    def where(self) -> str:
        """`menu`, `route` or `route.node`: where the person was when they typed it."""
        if self.route is None:
            return "menu"
        return self.route if self.node is None else f"{self.route}.{self.node}"

    @property
    def best(self) -> str | None:
        return self.guesses[0].place if self.guesses else None

    @property
    def accepted(self) -> str | None:
        if self.accepted_route is None:
            return None
        return (self.accepted_route if self.accepted_node is None
                else f"{self.accepted_route}.{self.accepted_node}")

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "text": self.text, "count": self.count, "where": self.where,
            "guesses": [{"route": g.route, "node": g.node, "score": g.score}
                        for g in self.guesses],
            "first_seen": self.first_seen.isoformat(), "last_seen": self.last_seen.isoformat(),
            "status": self.status, "accepted": self.accepted,
        }


def _entry(row: UnmatchedText) -> Entry:
    guesses = [Guess(str(g["route"]), g.get("node"), float(g.get("score", 0.0)))
               for g in (row.guesses or []) if isinstance(g, dict) and g.get("route")]
    status: Status = next((s for s in STATUSES if s == row.status), "new")
    return Entry(row.id, row.text, row.count, row.route, row.node, guesses,
                 as_utc(row.first_seen), as_utc(row.last_seen), status,
                 row.accepted_route, row.accepted_node)


async def entries(reader: Reader, *, status: Status | None = None,
                  order: Literal["count", "recent"] = "count",
                  limit: int | None = MOST) -> list[Entry]:
    """The inbox's entries (at most `limit`): by count (the page), or newest activity first
    (the API); of one status, or all."""
    query = select(UnmatchedText)
    if status is not None:
        query = query.where(UnmatchedText.status == status)
    if order == "count":
        query = query.order_by(UnmatchedText.count.desc(), UnmatchedText.last_seen.desc(),
                               UnmatchedText.id)
    else:
        query = query.order_by(UnmatchedText.last_seen.desc(), UnmatchedText.id.desc())
    async with reader.session() as session:
        rows = (await session.execute(query.limit(limit))).scalars().all()
    return [_entry(r) for r in rows]


async def entry(reader: Reader, entry_id: int) -> Entry | None:
    async with reader.session() as session:
        row = await session.get(UnmatchedText, entry_id)
    return _entry(row) if row is not None else None


def places(scenarios: Scenarios) -> list[tuple[str, str]]:
    """Every place an example can go, (`route` or `route.node`, its name), in the menu's
    order: a route, then its branches."""
    found: list[tuple[str, str]] = []
    menu = scenarios.menu_routes
    for route_id in [*menu, *(r for r in scenarios.routes if r not in menu)]:
        route = scenarios.routes[route_id]
        found.append((route_id, route.title))
        for node_id, node in route.nodes.items():
            if node_id != route.start:
                found.append((f"{route_id}.{node_id}", f"{route.title} › {node.title or node_id}"))
    return found


def parse_place(scenarios: Scenarios, place: str) -> tuple[str, str | None] | None:
    """`route` or `route.node` as (route, node), or None when the scenarios have no such
    place (a node that is its route's start is the route itself)."""
    route_id, _, node_id = place.strip().partition(".")
    route = scenarios.routes.get(route_id)
    if route is None:
        return None
    if not node_id or node_id == route.start:
        return route_id, None
    return (route_id, node_id) if node_id in route.nodes else None


async def accept(db: Database, entry_id: int, route: str, node: str | None) -> bool:
    """Mark an entry accepted as an example of the place; False when there is no such entry."""
    return await _set(db, entry_id, status="accepted", accepted_route=route, accepted_node=node)


async def ignore(db: Database, entry_id: int) -> bool:
    """Hide an entry (it stays counted, and pruned like the others)."""
    return await _set(db, entry_id, status="ignored", accepted_route=None, accepted_node=None)


async def _set(db: Database, entry_id: int, **values: Any) -> bool:
    async with db.transaction() as session:
        result = await session.execute(
            update(UnmatchedText).where(UnmatchedText.id == entry_id).values(**values))
    return bool(result.rowcount)  # type: ignore[attr-defined]


# --- YAML to paste into the scenario files -------------------------------------------------


def _item(text: str) -> str:
    """`- text` as YAML writes it (quoted when it must be)."""
    return yaml.safe_dump([text], allow_unicode=True, width=10_000).strip()


def yaml_line(text: str, route: str, node: str | None) -> tuple[str, str]:
    """Where to paste, in words, and the line itself, indented as the scenario files are:
    the route's `examples:` at the top of `scenarios/<route>.yaml`, or the node's under
    `nodes:`."""
    if node is None:
        return f"scenarios/{route}.yaml の先頭の examples: の下", "  " + _item(text)
    return (f"scenarios/{route}.yaml の nodes: → {node}: → examples: の下",
            "      " + _item(text))


@dataclass
class _Block:
    examples: list[str] = field(default_factory=list)
    nodes: dict[str, list[str]] = field(default_factory=dict)


def export(accepted: list[Entry]) -> str:
    """Every accepted entry as YAML, one document per route file, grouped by node: each
    document's keys are the route file's own (`examples:`, `nodes: <node>: examples:`), so
    its lists paste under the same keys there."""
    blocks: dict[str, _Block] = {}
    for e in sorted(accepted, key=lambda e: (e.accepted_route or "", e.accepted_node or "",
                                             -e.count, e.text)):
        if e.accepted_route is None:
            continue
        block = blocks.setdefault(e.accepted_route, _Block())
        where = (block.examples if e.accepted_node is None
                 else block.nodes.setdefault(e.accepted_node, []))
        if e.text not in where:
            where.append(e.text)
    documents = []
    for route, block in blocks.items():
        data: dict[str, Any] = {}
        if block.examples:
            data["examples"] = block.examples
        if block.nodes:
            data["nodes"] = {n: {"examples": texts} for n, texts in block.nodes.items()}
        body = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)
        documents.append(f"# scenarios/{route}.yaml\n{body}")
    return "---\n".join(documents)
