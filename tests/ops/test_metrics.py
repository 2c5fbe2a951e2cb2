"""GET /metrics in Prometheus' text format: events by type, handling latency, LINE requests by
result, reminders handled and in the database, replies not yet sent; and with `serve --workers
2`, one scrape counts every worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from prometheus_client.parser import text_string_to_metric_families

from supportnavi import compose
from tests.conftest import ACCESS_TOKEN, CHANNEL_SECRET
from tests.support.line_user import LineUser, walk

TOKYO = ZoneInfo("Asia/Tokyo")
# The conversation's clock is fixed, but a scrape counts the reminders due by the wall clock:
# so the dates are today's, not a fixed day that the calendar eventually reaches.
NOW = datetime.now(TOKYO).replace(hour=10, minute=0, second=0, microsecond=0)
TRIAL_END = (NOW + timedelta(days=12)).date()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(url: str) -> str:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_metrics_count_events_latency_line_requests_and_reminders(bot):
    before = await scrape(bot.url)
    services = bot.app.state.services
    services.conversation.clock = lambda: NOW.astimezone(UTC)
    user = bot.user()
    await user.say(user.follow())
    await user.open("trial_cancel")
    await walk(user, ["終了日の調べ方へ", "期限の前に知らせてほしい"])
    await user.pick_date("日付を選ぶ（カレンダー）", TRIAL_END.isoformat())
    bot.fake.fail_next_reply(500, "fake trouble")
    await user.send(user.text("メニュー"))
    for _ in range(200):  # the failed reply is sent after the 200
        if not bot.fake.reply_script:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.1)
    dispatcher = compose.dispatcher(services.settings, services.db, services.sender,
                                    services.scenarios)
    # the first push: three days before the end, at 9:00
    due = datetime.combine(TRIAL_END - timedelta(days=3), datetime.min.time(), TOKYO)
    due = due.replace(hour=9).astimezone(UTC)
    assert (await dispatcher.run_once(due)).sent == 1
    after = await scrape(bot.url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("supportnavi_events_total", type="follow", outcome="handled") == 1
    assert grew("supportnavi_events_total", type="postback", outcome="handled") == 4
    assert grew("supportnavi_events_total", type="message", outcome="handled") == 1
    assert grew("supportnavi_event_seconds_count") == 6
    assert grew("supportnavi_webhook_requests_total", status="200") == 6
    assert grew("supportnavi_line_requests_total", op="reply", result="ok") == 5
    assert grew("supportnavi_line_requests_total", op="reply", result="5xx") == 1
    assert grew("supportnavi_line_requests_total", op="push", result="ok") == 1
    assert grew("supportnavi_reminders_handled_total", outcome="sent") == 1
    # read from the database at the scrape: the same whichever worker answers
    assert value(after, "supportnavi_database_up") == 1
    assert value(after, "supportnavi_reminders", status="sent", kind="trial_cancel") == 1
    assert value(after, "supportnavi_reminders", status="pending", kind="trial_cancel") == 1
    assert value(after, "supportnavi_reminders_due") == 0  # the second push is days ahead
    # no label holds a person's id
    assert user.user_id not in after


async def test_a_scrape_with_the_database_down_says_so_and_still_answers(bot):
    await bot.app.state.services.db.engine.dispose()
    original = bot.app.state.services.db.sessions

    def broken() -> object:
        raise ConnectionRefusedError("the database is gone")

    bot.app.state.services.db.sessions = broken
    try:
        text = await scrape(bot.url)
    finally:
        bot.app.state.services.db.sessions = original
    assert value(text, "supportnavi_database_up") == 0
    assert "supportnavi_webhook_requests_total" in text


def event_types(text: str) -> set[str]:
    return {dict(labels)["type"] for (name, labels) in samples(text)
            if name == "supportnavi_events_total"}


async def test_made_up_event_types_add_no_label_values(bot):
    """The type comes from the body: one label value per made-up type would grow the metrics
    (and every scrape) without end. Unknown types count as `other`."""
    before = await scrape(bot.url)
    user = bot.user()
    made_up = [f"madeUp{uuid.uuid4().hex[:8]}" for _ in range(40)]
    for start in range(0, len(made_up), 10):  # several to a body, as LINE batches them
        body = json.dumps({"destination": "U" + "0" * 32, "events": [
            user.event(name) for name in made_up[start:start + 10]]}).encode()
        assert (await user.post(body)).status_code == 200
    after = await scrape(bot.url)
    assert event_types(after) - event_types(before) <= {"other"}
    assert not any(name in after for name in made_up)
    assert value(after, "supportnavi_events_total", type="other", outcome="handled") - value(
        before, "supportnavi_events_total", type="other", outcome="handled") == len(made_up)


def test_the_event_types_counted_by_name_are_those_of_lines_webhook_spec():
    import yaml

    from supportnavi.metrics import EVENT_TYPES
    from tests.support.line_spec import SPEC_DIR

    spec = yaml.safe_load((SPEC_DIR / "webhook.yml").read_text(encoding="utf-8"))
    mapping = spec["components"]["schemas"]["Event"]["discriminator"]["mapping"]
    assert set(EVENT_TYPES) == set(mapping)
    assert "other" not in mapping  # the name for the rest cannot be one of LINE's


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class _Server:
    url: str  # what LineUser posts to


async def test_with_two_workers_one_scrape_counts_every_worker(tmp_path, fake_line):
    """Each worker is a process with its own counters; `serve --workers 2` gives them one
    multiprocess directory, so whichever worker answers a scrape reports every event."""
    _, line_url = fake_line
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINE_", "SUPPORTNAVI_", "PROMETHEUS"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/w.db",
               LINE_CHANNEL_SECRET=CHANNEL_SECRET, LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
               LINE_API_BASE_URL=line_url, SUPPORTNAVI_DISPATCHER="false")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "supportnavi", "serve", "--workers", "2", "--port", str(port),
            env=env, stdout=out, stderr=asyncio.subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    users = [LineUser(_Server(url), "U" + uuid.uuid4().hex) for _ in range(60)]  # type: ignore[arg-type]
    try:
        async with httpx.AsyncClient(timeout=10) as client:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert proc.returncode is None and time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.2)
        # each post opens its own connection, so both workers accept some
        await asyncio.gather(*(u.send(u.follow()) for u in users))
        totals = []
        for _ in range(8):
            async with httpx.AsyncClient(timeout=10) as fresh:
                text = (await fresh.get(f"{url}/metrics")).text
            totals.append(value(text, "supportnavi_events_total", type="follow",
                                outcome="handled"))
    finally:
        proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.wait(), 30)
    handled_by = {json.loads(line)["pid"] for line in log.read_text().splitlines()
                  if '"POST /callback' in line}
    assert len(handled_by) == 2, "the events all went to one worker: this proves nothing"
    assert totals == [60] * 8
