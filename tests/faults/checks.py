"""What the fault and scale tests read back: the database as the bot left it, and what the fake
LINE API says each person got, and the checks they share."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from supportnavi.engine import Scenarios
from supportnavi.store.models import (
    ConversationState,
    Outbox,
    ProcessedEvent,
    Reminder,
    StepRecord,
    User,
)
from tests.support.db import session_at
from tests.support.load import Planned

TABLES = (User, ConversationState, StepRecord, ProcessedEvent, Outbox, Reminder)


@dataclass
class Snapshot:
    processed: set[str] = field(default_factory=set)
    # per event, its steps as (kind, route, node, resolved), in the order written
    steps: dict[str, list[tuple[str, str | None, str | None, str]]] = field(
        default_factory=dict)
    # per person, the events in the order their steps were written
    order: dict[str, list[str]] = field(default_factory=dict)
    states: dict[str, tuple[str | None, str | None, list[tuple[str, str]], int]] = field(
        default_factory=dict)
    outbox: list[dict[str, Any]] = field(default_factory=list)


async def snapshot(db_url: str) -> Snapshot:
    snap = Snapshot()
    async with session_at(db_url) as session:
        snap.processed = set((await session.execute(
            select(ProcessedEvent.webhook_event_id))).scalars())
        order: dict[str, list[str]] = defaultdict(list)
        steps: dict[str, list[tuple[str, str | None, str | None, str]]] = defaultdict(list)
        for row in (await session.execute(select(StepRecord).order_by(StepRecord.id))).scalars():
            steps[row.event_id].append((row.kind, row.route, row.node, row.resolved))
            if not order[row.user_id] or order[row.user_id][-1] != row.event_id:
                order[row.user_id].append(row.event_id)
        snap.steps, snap.order = dict(steps), dict(order)
        for state in (await session.execute(select(ConversationState))).scalars():
            stack = [(str(r), str(n)) for r, n in (state.data or {}).get("stack", [])]
            snap.states[state.user_id] = (state.route, state.node, stack, state.version)
        snap.outbox = [
            {"id": o.id, "event_id": o.event_id, "user_id": o.user_id, "status": o.status,
             "error": o.error, "attempts": o.attempts}
            for o in (await session.execute(select(Outbox))).scalars()
        ]
    return snap


async def row_counts(db_url: str) -> dict[str, int]:
    async with session_at(db_url) as session:
        return {model.__tablename__: int((await session.execute(
            select(func.count()).select_from(model))).scalar_one()) for model in TABLES}


async def wait_until_sent(db_url: str, within: float = 90.0) -> list[dict[str, Any]]:
    """Wait (bounded) until no outbox row is pending: the relay's work is done."""
    deadline = time.monotonic() + within
    while True:
        rows = (await snapshot(db_url)).outbox
        if not any(r["status"] == "pending" for r in rows) or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.25)


def received(records: list[dict[str, Any]], outbox: list[dict[str, Any]],
             token_of: dict[str, str]) -> Counter[str]:
    """How many times each outbox row reached its person, by the fake's records of what it
    took: the reply with its event's token, or a push with the outbox id as retry key."""
    row_of_token = {token_of[o["event_id"]]: o["id"] for o in outbox if o["event_id"] in token_of}
    ids = {o["id"] for o in outbox}
    got: Counter[str] = Counter()
    for r in records:
        if r["path"].endswith("/reply"):
            got[row_of_token.get(r["body"]["replyToken"], "reply of no row")] += 1
        elif r["path"].endswith("/push"):
            got[r["retry_key"] if r["retry_key"] in ids else "push without our key"] += 1
    return got


def torn_states(scenarios: Scenarios, snap: Snapshot) -> list[str]:
    """People whose state is not a node of a route (or the menu)."""
    bad = []
    for user_id, (route, node, stack, _) in snap.states.items():
        if route is None and node is None:
            continue
        if route not in scenarios.routes or node not in scenarios.routes[route].nodes:
            bad.append(f"{user_id}: {route}/{node}")
        for r, n in stack:
            if r not in scenarios.routes or n not in scenarios.routes[r].nodes:
                bad.append(f"{user_id}: stack {r}/{n}")
    return bad


def history_mismatches(snap: Snapshot, expected: dict[str, list[Planned]]) -> list[str]:
    """Every event applied once, in this order, each on the state the previous left: its
    steps, what it resolved to, and the final state, as the engine says."""
    bad = []
    for user_id, planned in expected.items():
        order = [p.event_id for p in planned]
        if snap.order.get(user_id) != order:
            bad.append(f"{user_id}: events applied as {snap.order.get(user_id)}, sent {order}")
            continue
        for p in planned:
            want = [(k, r, n, p.resolved) for k, r, n in p.steps]
            if snap.steps.get(p.event_id) != want:
                bad.append(f"{p.event_id}: steps {snap.steps.get(p.event_id)}, want {want}")
        last = planned[-1].state
        route, node, stack, _ = snap.states[user_id]
        if (route, node, stack) != (last.route, last.node, [tuple(x) for x in last.stack]):
            bad.append(f"{user_id}: state {(route, node, stack)}, want "
                       f"{(last.route, last.node, last.stack)}")
    return bad
