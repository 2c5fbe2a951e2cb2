"""bench/webhook.py's load: bodies LINE would send (webhook.yml), signed, every event new, a mix
of follows, texts and postbacks, some bodies batching several; and the postbacks are buttons of
the screen the person is on, so the bot moves them instead of calling the tap stale."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from collections import Counter

from sqlalchemy import select

from supportnavi.settings import REPO_ROOT
from supportnavi.simulator.signing import sign
from supportnavi.store.models import StepRecord
from tests.support.db import session_at
from tests.support.line_spec import webhook_errors
from tests.support.line_user import SECRET


@functools.cache
def _bench():
    """bench/ is scripts, not a package: load bench/webhook.py by its path."""
    spec = importlib.util.spec_from_file_location("bench_webhook", REPO_ROOT / "bench/webhook.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_bodies_are_signed_webhooks_with_new_ids_and_a_mix_of_events():
    bench = _bench()
    population = bench.Population(bench.Simulator(bench.load_scenarios(REPO_ROOT / "scenarios")),
                                  seed=1, batch_share=0.3)
    population.fill(events=400, people=30)
    kinds: Counter[str] = Counter()
    ids, tokens, sizes = [], [], Counter()
    while population.ready:
        person, body = population.take()
        payload = json.loads(body.data)
        assert webhook_errors(payload) == [], payload
        assert body.headers["x-line-signature"] == sign(bench.SECRET, body.data)
        users = {e["source"]["userId"] for e in payload["events"]}
        assert len(users) == 1  # a batch holds one person's events, in order
        sizes[len(payload["events"])] += 1
        for e in payload["events"]:
            kinds[e["type"]] += 1
            ids.append(e["webhookEventId"])
            tokens.append(e["replyToken"])
        population.back(person)
    assert len(set(ids)) == len(ids) and len(set(tokens)) == len(tokens)
    assert {"follow", "message", "postback"} <= set(kinds)
    assert kinds["postback"] > kinds["follow"]
    assert sizes[1] and (sizes[2] or sizes[3])


async def test_the_postbacks_are_real_buttons_and_the_texts_route(bot):
    bench = _bench()
    population = bench.Population(bench.Simulator(bench.load_scenarios(REPO_ROOT / "scenarios")),
                                  seed=2, batch_share=0.3, secret=SECRET)
    population.fill(events=60, people=6)
    user = bot.user()
    people = list(population.ready)
    for person in people:
        while person.bodies:
            body = person.bodies.popleft()
            response = await user.post(body.data, body.headers["x-line-signature"])
            assert response.status_code == 200, response.text
    async with session_at(bot.db_url) as session:
        kinds = Counter((await session.execute(select(StepRecord.kind))).scalars())
    assert kinds["follow"] == len(people)
    assert kinds["enter"] > len(people)
    assert kinds["stale"] == 0 and kinds["unmatched"] == 0, kinds
