"""`supportnavi serve --workers 4` on PostgreSQL, as its own process, with events for the same
people arriving at once: several bodies per person in flight together, and every body twice at
the same moment (LINE's redelivery can do that).

What the code promises, and what is checked:
- dedup by `webhookEventId`: each event handled once (one processed row, its steps once, one
  reply), however many copies came and whichever worker took each;
- per-person serialization: one event at a time, each applied on the state the previous one
  left; replaying the events through the engine in the order the database recorded them gives
  the very steps and the final state it holds, and the state's version counts every event (no
  lost update); no deadlock, no 500;
- reminders claimed once: every worker runs a dispatcher over the same due reminders, and the
  fake LINE API got each person's push exactly once.

The *order* of one person's concurrent HTTP requests is defined neither by LINE nor by the bot
(whichever takes the person's row lock first goes first), so the order is read back, not
assumed.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import update

from supportnavi.engine import keys, load_scenarios, postback
from supportnavi.settings import REPO_ROOT
from supportnavi.store.db import Database
from supportnavi.store.models import User
from tests.faults.checks import history_mismatches, received, snapshot, wait_until_sent
from tests.support import dispatch_run as dr
from tests.support.line_user import LineUser
from tests.support.load import Replayer, signed
from tests.support.serve_run import ServeProcess

pytestmark = pytest.mark.postgres
WORKERS, PEOPLE, TAPS, REMINDERS = 4, 20, 5, 200


def _taps(scenarios, user: LineUser, rng: random.Random) -> list[dict]:
    """Buttons valid on any screen (a route from the menu, the menu, help): each one moves the
    person, so a lost update or an event applied twice would show."""
    anywhere: list[keys.Key] = [keys.Route(r) for page in scenarios.system.menu
                                for r in page.routes]
    anywhere += [keys.DoAction("menu"), keys.DoAction("help")]
    return [user.postback(postback.encode(postback.Tap(rng.choice(anywhere))))
            for _ in range(TAPS)]


async def _all_day(db_url: str) -> None:
    """The seeded people take pushes at any hour, so the test does not depend on the clock."""
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await session.execute(update(User).values(push_start_hour=0, push_end_hour=24))
    finally:
        await db.dispose()


def _wait_for_workers(server: ServeProcess, n: int) -> None:
    deadline = time.monotonic() + 180
    while server.output().count("Application startup complete.") < n:
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.2)


async def test_four_workers_on_postgresql_handle_each_event_once_one_at_a_time(
    pg_url, tmp_path
):
    db_url = pg_url
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    rng = random.Random(5)
    users = {f"U{rng.getrandbits(128):032x}": None for _ in range(PEOPLE)}
    people = {u: LineUser(None, u) for u in users}  # type: ignore[arg-type]
    follows = {u: p.follow() for u, p in people.items()}
    taps = {u: _taps(scenarios, p, rng) for u, p in people.items()}
    pairs = {u: [p.postback(postback.encode(postback.Tap(keys.DoAction("menu")))),
                 p.postback(postback.encode(postback.Tap(keys.Route("contact"))))]
             for u, p in people.items()}  # two events in one body

    await dr.seed(db_url, REMINDERS, datetime.now(UTC) - timedelta(minutes=1))
    await _all_day(db_url)
    with dr.FakeServer() as fake:
        server = ServeProcess(db_url, fake.url, tmp_path / "serve.log", "--workers",
                              str(WORKERS), SUPPORTNAVI_LOG_LEVEL="info",
                              SUPPORTNAVI_DISPATCH_INTERVAL="0.5",
                              SUPPORTNAVI_RELAY_GRACE="1", SUPPORTNAVI_RELAY_INTERVAL="0.5")
        with server:
            _wait_for_workers(server, WORKERS)
            limits = httpx.Limits(max_connections=400, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as c:

                async def post(*events: dict) -> int:
                    body, headers = signed(*events)
                    return (await c.post("/callback", content=body, headers=headers)).status_code

                # everyone's follow, twice at once
                first = await asyncio.gather(*(post(e) for e in follows.values()
                                               for _ in range(2)))
                # then every tap of every person at once, each twice, and the two-event bodies
                burst = [post(t) for ts in taps.values() for t in ts for _ in range(2)]
                burst += [post(*pair) for pair in pairs.values() for _ in range(2)]
                rng.shuffle(burst)
                statuses = Counter(first) + Counter(await asyncio.gather(*burst))
            outbox = await wait_until_sent(db_url)
            deadline = time.monotonic() + 120
            while (counts := await dr.status_counts(db_url)).get("pending"):
                assert time.monotonic() < deadline, counts
                await asyncio.sleep(0.25)
            log = server.output()
        deliveries = fake.deliveries()
        records = fake.records()

    assert statuses == {200: 2 * PEOPLE * (1 + TAPS + 1)}, (statuses, log[-3000:])
    assert "Traceback" not in log and "deadlock" not in log.lower(), log[-3000:]

    events = {u: [follows[u], *taps[u], *pairs[u]] for u in users}
    by_id = {e["webhookEventId"]: e for es in events.values() for e in es}
    snap = await snapshot(db_url)
    assert snap.processed == set(by_id)  # every event once: one processed row each
    replayer = Replayer(scenarios)
    for user_id, own in events.items():
        order = snap.order[user_id]
        assert sorted(order) == sorted(e["webhookEventId"] for e in own)  # each applied once
        assert order[0] == follows[user_id]["webhookEventId"]
        # the two events of one body keep their order
        assert order.index(pairs[user_id][0]["webhookEventId"]) < order.index(
            pairs[user_id][1]["webhookEventId"])
        assert snap.states[user_id][3] == len(own)  # version: every event an update
    replayed = {u: replayer.replay(u, [by_id[e] for e in snap.order[u]]) for u in users}
    assert history_mismatches(snap, replayed) == []

    # one reply per event, once
    assert sorted(o["event_id"] for o in outbox) == sorted(by_id)
    assert {o["status"] for o in outbox} == {"sent"}
    conversation = [r for r in records  # the reminders' pushes went to other people
                    if r["path"].endswith("/reply") or r["body"].get("to") in users]
    got = received(conversation, outbox, {e: by_id[e]["replyToken"] for e in by_id})
    assert sorted(set(got.values())) == [1] and set(got) == {o["id"] for o in outbox}

    # reminders: each of the seeded people pushed exactly once, across four dispatchers
    rows = await dr.reminder_rows(db_url)
    assert Counter(r["status"] for r in rows) == {"sent": REMINDERS}
    pushed = Counter(p for d in deliveries if d["status"] == 200 for p in d["to"])
    assert pushed == Counter({r["user_id"]: 1 for r in rows})
    retry_keys = Counter(d["retry_key"] for d in deliveries if d["status"] == 200)
    assert max(retry_keys.values()) == 1
