"""Scenario changes without a restart, on `supportnavi serve --workers 2` on PostgreSQL, as its
own process (issue 18, part 2): the files change while events keep arriving, `supportnavi
reload` has every worker load them, and none of the events is lost, failed or handled twice;
then a SIGHUP to the server does the same, and a broken change is refused by both workers
while the old scenarios keep serving.

The server looks at the files only when asked (SUPPORTNAVI_SCENARIOS_POLL=0), so each swap is
the command's or the signal's doing. Every wait is "within 10 s", by polling the server's log,
where each worker says which version it loaded."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from supportnavi.edition import version_of
from supportnavi.engine import keys, postback
from supportnavi.settings import REPO_ROOT
from tests.faults.checks import received, snapshot, wait_until_sent
from tests.support import dispatch_run as dr
from tests.support.line_user import LineUser
from tests.support.load import signed
from tests.support.serve_run import ServeProcess

pytestmark = pytest.mark.postgres
WORKERS, PEOPLE = 2, 12
WITHIN = 10.0


def _wait_for_workers(server: ServeProcess, n: int) -> None:
    deadline = time.monotonic() + 180
    while server.output().count("Application startup complete.") < n:
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.2)


def _first_say(directory: Path, text: str) -> str:
    """prime_pause's first bubble becomes `text`; returns the files' new version."""
    path = directory / "prime_pause.yaml"
    route = yaml.safe_load(path.read_text(encoding="utf-8"))
    route["nodes"]["start"]["say"][0] = text
    path.write_text(yaml.safe_dump(route, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    return version_of(directory)


def _both_workers(server: ServeProcess, needle: str) -> None:
    """Within 10 s, each worker's log line containing `needle` (one per worker)."""
    deadline = time.monotonic() + WITHIN
    while server.output().count(needle) < WORKERS:
        assert time.monotonic() < deadline, (
            f"{needle!r} not in {WORKERS} workers' log within {WITHIN} s:\n"
            + server.output()[-3000:])
        time.sleep(0.1)


def _reload_command(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supportnavi", "reload"], cwd=dr.ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


async def test_a_reload_under_load_on_two_workers_loses_fails_and_doubles_nothing(
    pg_url: str, tmp_path: Path
) -> None:
    scenarios = tmp_path / "scenarios"
    shutil.copytree(REPO_ROOT / "scenarios", scenarios)
    pidfile = tmp_path / "serve.pid"
    people = [LineUser(None, f"U{i:032x}") for i in range(1, PEOPLE + 1)]  # type: ignore[arg-type]
    settings = {"SUPPORTNAVI_SCENARIOS": str(scenarios), "SUPPORTNAVI_SCENARIOS_POLL": "0",
                "SUPPORTNAVI_PIDFILE": str(pidfile), "SUPPORTNAVI_LOG_LEVEL": "info",
                "SUPPORTNAVI_LOG_FORMAT": "text", "SUPPORTNAVI_RELAY_GRACE": "1",
                "SUPPORTNAVI_RELAY_INTERVAL": "0.5"}
    with dr.FakeServer() as fake:
        server = ServeProcess(pg_url, fake.url, tmp_path / "serve.log", "--workers",
                              str(WORKERS), "--no-dispatcher", **settings)
        with server:
            _wait_for_workers(server, WORKERS)
            assert server.proc is not None
            assert int(pidfile.read_text()) == server.proc.pid
            sent: list[dict[str, Any]] = []
            statuses: Counter[int | str] = Counter()
            stop = asyncio.Event()
            limits = httpx.Limits(max_connections=64, max_keepalive_connections=0)
            async with httpx.AsyncClient(base_url=server.url, timeout=60, limits=limits) as c:

                async def keep_sending(person: LineUser, n: int) -> None:
                    while not stop.is_set():
                        n += 1
                        route = "prime_pause" if n % 2 else "contact"
                        event = person.postback(postback.encode(postback.Tap(
                            keys.Route(route))))
                        sent.append(event)
                        body, headers = signed(event)
                        try:
                            status: int | str = (await c.post("/callback", content=body,
                                                              headers=headers)).status_code
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        statuses[status] += 1

                senders = [asyncio.create_task(keep_sending(p, i))
                           for i, p in enumerate(people)]
                await asyncio.sleep(2)  # under load before the change

                # 1. `supportnavi reload`, with events in flight throughout the swap
                new = await asyncio.to_thread(_first_say, scenarios, "一時停止のご案内（版B）")
                env = {**server.env}
                done = await asyncio.to_thread(_reload_command, env)
                assert done.returncode == 0, done.stderr
                assert str(server.proc.pid) in done.stdout and new in done.stdout
                await asyncio.to_thread(_both_workers, server, f"scenarios {new} loaded")
                await asyncio.sleep(2)  # and after it
                stop.set()
                await asyncio.gather(*senders)
                before_hup = len(sent)

                # 2. SIGHUP to the server: passed on to both workers, no restart
                newer = await asyncio.to_thread(_first_say, scenarios, "一時停止のご案内（版C）")
                os.kill(server.proc.pid, signal.SIGHUP)
                await asyncio.to_thread(_both_workers, server, f"scenarios {newer} loaded")
                after = people[0].postback(postback.encode(postback.Tap(
                    keys.Route("prime_pause"))))
                sent.append(after)
                body, headers = signed(after)
                assert (await c.post("/callback", content=body, headers=headers)
                        ).status_code == 200

                # 3. a broken change: refused by both, the old scenarios serve on, 200
                (scenarios / "contact.yaml").write_text("id: contact\nstart: [\n")
                os.kill(server.proc.pid, signal.SIGHUP)
                await asyncio.to_thread(_both_workers, server, "not loaded (still serving "
                                        f"{newer})")
                health = (await c.get("/healthz"))
                assert health.status_code == 200, health.text
                assert health.json()["scenarios"]["version"] == newer
                assert "contact.yaml:" in health.json()["scenarios"]["error"]

            outbox = await wait_until_sent(pg_url)
            log = server.output()
        records = fake.records()
    assert server.proc.returncode is not None

    assert statuses == {200: before_hup}, (statuses, log[-3000:])
    assert log.count("Application startup complete.") == WORKERS, "a worker was restarted"
    assert "Traceback" not in log, log[-3000:]
    by_id = {e["webhookEventId"]: e for e in sent}
    snap = await snapshot(pg_url)
    assert snap.processed == set(by_id)  # every event once: none lost
    assert sorted(o["event_id"] for o in outbox) == sorted(by_id)  # one answer each
    assert {o["status"] for o in outbox} == {"sent"}  # none failed
    got = received(records, outbox, {e: by_id[e]["replyToken"] for e in by_id})
    assert set(got.values()) == {1} and set(got) == {o["id"] for o in outbox}  # none doubled
    firsts = [r["body"]["messages"][0]["text"] for r in records if r["path"].endswith("/reply")]
    assert "一時停止のご案内（版B）" in firsts  # the swap happened while events came
    reply_of = {r["body"]["replyToken"]: r["body"]["messages"][0]["text"]
                for r in records if r["path"].endswith("/reply")}
    assert reply_of[after["replyToken"]] == "一時停止のご案内（版C）"
    assert not pidfile.exists()  # removed by the server as it stopped
