"""`supportnavi serve` SIGKILLed under load, restarted, and every event that got no 200
redelivered as LINE would: nothing lost, nothing twice, nothing torn.

The fake LINE API runs as its own process and holds each reply's answer after taking it, so
that the kill finds replies LINE has and the bot never heard back about (the case where a push
"to be safe" would be a second copy). Forty people tap through the bot at once, each one event
after the other; after the kill, each redelivers the event that got no answer and goes on.
Every event's effect is known in advance (tests/support/load.py plans it with the engine), so
the checks are exact: the history of each person is their events, in order, each applied once
on the state the previous left; each event's reply reached its person exactly once, by the
fake's own records; and the relay sent what the dead process left pending.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest

from supportnavi.engine import load_scenarios
from supportnavi.settings import REPO_ROOT
from tests.faults.checks import (
    history_mismatches,
    received,
    snapshot,
    torn_states,
    wait_until_sent,
)
from tests.support import dispatch_run as dr
from tests.support.load import Load, plan_people
from tests.support.serve_run import ServeProcess

PEOPLE, EVENTS_EACH = 40, 15
KILL_AFTER = 200  # answered events before the kill: in the middle of the load


@pytest.fixture
def slow_replies():
    with dr.FakeServer("--reply-delay", "0.3") as fake:
        yield fake


async def _kill_when_busy(load: Load, server: ServeProcess, task: asyncio.Task[None]) -> int:
    deadline = time.monotonic() + 120
    while len(load.ok()) < KILL_AFTER:
        assert not task.done(), "the load ended before the kill"
        assert time.monotonic() < deadline, f"only {len(load.ok())} events answered in 120 s"
        await asyncio.sleep(0.01)
    server.kill()
    await task
    return len(load.ok())


async def test_a_server_killed_under_load_loses_nothing_and_sends_nothing_twice(
    db_url, slow_replies, tmp_path
):
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    people = plan_people(scenarios, PEOPLE, EVENTS_EACH)
    events = {p.event_id: p for planned in people.values() for p in planned}
    server = ServeProcess(db_url, slow_replies.url, tmp_path / "serve.log",
                          SUPPORTNAVI_DISPATCHER="false", SUPPORTNAVI_RELAY_GRACE="1",
                          SUPPORTNAVI_RELAY_INTERVAL="0.5")
    try:
        server.start()
        load = Load(server.url, people)
        answered_before = await _kill_when_busy(
            load, server, asyncio.create_task(load.run(concurrency=PEOPLE)))
        ok_before = load.ok()
        stuck = len(load.stuck)
        assert stuck > 0, "the kill found nothing in flight"
        assert answered_before < len(events)

        server.start()
        await load.run(concurrency=PEOPLE, redeliver=True)
        outbox = await wait_until_sent(db_url)
    finally:
        server.stop()

    assert load.stuck == {}, "every event was answered 200 after the restart"
    statuses = Counter(a.status for a in load.answers)
    assert set(statuses) <= {200, None}, (statuses, server.output()[-3000:])  # never a 500
    snap = await snapshot(db_url)
    assert ok_before <= snap.processed  # what got a 200 before the kill had committed
    assert set(events) == snap.processed
    assert history_mismatches(snap, people) == []
    assert torn_states(scenarios, snap) == []

    # one reply per event, sent: the relay finished what the dead process left
    assert sorted(o["event_id"] for o in outbox) == sorted(events)
    assert Counter(o["status"] for o in outbox) == {"sent": len(events)}
    token_of = {e: p.reply_token for e, p in events.items()}
    got = received(slow_replies.records(), outbox, token_of)
    assert {row_id: n for row_id, n in got.items() if n != 1} == {}  # nobody got one twice
    assert set(got) == {o["id"] for o in outbox}  # nobody missed one
    # the case under test happened: LINE had taken replies the killed server never marked,
    # and the relay, hearing "Invalid reply token" within the token's minute, did not push
    assert any("already used" in (o["error"] or "") for o in outbox), outbox[:5]
    assert all(r["path"].endswith("/reply") for r in slow_replies.records())
