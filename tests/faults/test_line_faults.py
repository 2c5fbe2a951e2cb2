"""A bad day at LINE: the fake LINE API answers replies and pushes with 500s, 429s, silence
until the client gives up, slow answers and expired reply tokens, at random, and some of its
500s and silences come after it took the message all the same.

The webhook does not wait for LINE (it answers once the event is committed), so each answer
still comes well within LINE's 2 seconds; every failure is logged and counted
(`supportnavi_line_requests_total` with a result other than ok); nothing crashes; and once LINE is well again,
the relay delivers what was left pending, each reply to its person exactly once."""

from __future__ import annotations

import logging
import re
from collections import Counter

import httpx

from supportnavi.app import create_app
from supportnavi.simulator.fake_line import Faults
from tests.conftest import Served, bot_settings
from tests.faults.checks import received, snapshot, wait_until_sent
from tests.support.line_spec import request_errors
from tests.support.load import Load, plan_people

LINE_LIMIT_SECONDS = 2.0  # LINE gives up on a webhook that takes longer (a contract)


def deliveries_failed(metrics: str) -> float:
    """Replies and pushes LINE did not take: every result but ok and accepted_before."""
    found = re.findall(r'^supportnavi_line_requests_total\{op="(?:reply|push)",'
                       r'result="(?!ok"|accepted_before")[^"]+"\} (\S+)$', metrics, re.M)
    return sum(float(v) for v in found)


async def test_the_webhook_answers_in_time_and_the_relay_delivers_once_line_is_well(
    db_url, fake_line, caplog
):
    fake, line_url = fake_line
    trouble = dict(error=0.15, rate_limited=0.1, timeout=0.1, slow=0.1, taken=0.5,
                   slow_seconds=1.5, hang_seconds=5.0)
    fake.faults = {"reply": Faults(**trouble, expired=0.1, seed=1),
                   "push": Faults(**trouble, seed=2)}
    # the grace outlasts the webhook's own try (a reply, then maybe a push, 1 s each at most),
    # as the default's 15 s outlasts two 5 s timeouts
    settings = bot_settings(db_url, line_url, SUPPORTNAVI_LINE_TIMEOUT=1.0,
                            SUPPORTNAVI_RELAY_GRACE=3.0, SUPPORTNAVI_RELAY_INTERVAL=0.3)
    app = create_app(settings)
    caplog.set_level(logging.WARNING)
    async with Served(app) as bot, httpx.AsyncClient(base_url=bot.url) as client:
        scenarios = app.state.services.scenarios
        people = plan_people(scenarios, 30, 5, seed=3)
        failed_before = deliveries_failed((await client.get("/metrics")).text)
        load = Load(bot.url, people)
        await load.run(concurrency=30)

        assert Counter(a.status for a in load.answers) == {200: 150}
        slowest = max(a.seconds for a in load.answers)
        assert slowest < LINE_LIMIT_SECONDS, slowest
        # LINE had trouble, and the bot noticed it
        assert sum(fake.faulted.values()) >= 20, fake.faulted
        assert {k.split(":")[1] for k in fake.faulted} >= {"error", "rate_limited", "timeout",
                                                             "slow", "expired"}

        fake.faults = {}  # LINE is well again
        outbox = await wait_until_sent(db_url)
        failed_after = deliveries_failed((await client.get("/metrics")).text)
        assert (await client.get("/healthz")).status_code == 200

    assert Counter(o["status"] for o in outbox) == {"sent": 150}
    events = {p.event_id: p for planned in people.values() for p in planned}
    records = [{"path": r.path, "body": r.body, "retry_key": r.retry_key} for r in fake.records]
    got = received(records, outbox, {e: p.reply_token for e, p in events.items()})
    assert {row: n for row, n in got.items() if n != 1} == {}  # nobody twice
    assert set(got) == {o["id"] for o in outbox}  # nobody missed
    assert any(r["path"].endswith("/push") for r in records)  # expired tokens went by push
    for r in fake.records:
        assert request_errors(r.method, r.path, r.body) == []

    # failures logged and counted, and nothing crashed
    warned = [r for r in caplog.records if "delivery" in r.getMessage() and "failed" in
              r.getMessage()]
    assert warned, "the failed deliveries were logged"
    assert failed_after - failed_before >= len(warned)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    snap = await snapshot(db_url)
    assert set(events) == snap.processed
