"""Dashboard benchmark: the /admin summary over a step history of N rows, against reading the
same rows into Python (what a dashboard without SQL aggregates would have to do before
counting anything) and against one COUNT(*) of them, in the same run, on the same database.

    .venv/bin/python bench/admin.py --rows 1000000 --db sqlite postgresql

Each database is made fresh (a temporary SQLite file; a new PostgreSQL database, dropped
after), migrated to head, and filled with N step rows: people walking the real routes
(random screens along each route's buttons, some to an end and an answer to 「解決しましたか？」,
some leaving by the menu, some idle), 20 people per 1,000 rows, all inside the dashboard's
default 28 days: the worst case, every row in the period. Each measurement is the best of
`--repeat` runs. Prints one line per database, or JSON with --json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "linebot"), str(ROOT)]

from sqlalchemy import func, insert, select  # noqa: E402

from supportnavi.admin.queries import Reader, summary  # noqa: E402
from supportnavi.engine import Scenarios, load_scenarios  # noqa: E402
from supportnavi.migrate import upgrade  # noqa: E402
from supportnavi.settings import REPO_ROOT  # noqa: E402
from supportnavi.store.db import Database  # noqa: E402
from supportnavi.store.models import StepRecord, User  # noqa: E402
from tests.support.db import pg_execute  # noqa: E402

PG = os.environ.get("SUPPORTNAVI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TOKYO).astimezone(UTC)
DAYS = 28


def _walk(scenarios: Scenarios, rng: random.Random, route_id: str) -> tuple[list[str], bool]:
    """A person's screens through one route, and whether the last one is an end."""
    route = scenarios.routes[route_id]
    node_id = route.start
    screens = [node_id]
    for _ in range(rng.randint(0, 7)):
        node = route.nodes[node_id]
        if node.end:
            break
        targets = [b.to for b in node.buttons if b.to is not None]
        if node.input is not None:
            targets += list(node.input.next.values())
        if not targets:
            break
        node_id = rng.choice(targets)
        screens.append(node_id)
    return screens, route.nodes[node_id].end


def _rows(scenarios: Scenarios, n: int, seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    rng = random.Random(seed)
    people = [f"U{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(max(1, n // 50))]
    routes = sorted(scenarios.routes)
    start = NOW - timedelta(days=DAYS - 1)
    span = (NOW - start).total_seconds()
    rows: list[dict[str, Any]] = []
    clocks = {p: start + timedelta(seconds=rng.random() * span * 0.5) for p in people}
    while len(rows) < n:
        person = rng.choice(people)
        at = clocks[person]
        route_id = rng.choice(routes)
        screens, ended = _walk(scenarios, rng, route_id)
        steps = [("enter", s) for s in screens]
        if ended:
            steps.append((rng.choice(["resolved_yes", "resolved_no", "resolved_yes"]),
                          screens[-1]))
        elif rng.random() < 0.3:
            steps.append(("menu", screens[-1]))
        for kind, node in steps:
            at += timedelta(seconds=rng.randint(5, 120))
            rows.append({"user_id": person, "at": min(at, NOW), "kind": kind, "route": route_id,
                         "node": node, "resolved": "button:bench", "event_id": "bench"})
        # idle before the next visit: minutes to days
        clocks[person] = at + timedelta(minutes=rng.choice([1, 5, 45, 600, 3000]))
        if clocks[person] >= NOW:
            clocks[person] = start + timedelta(seconds=rng.random() * span)
    rows = rows[:n]
    rows.sort(key=lambda r: r["at"])  # ids in time order, as the bot writes them
    return rows, people


async def _fill(db: Database, rows: list[dict[str, Any]], people: list[str]) -> None:
    first = NOW - timedelta(days=DAYS)
    async with db.transaction() as session:
        for i in range(0, len(people), 5000):
            await session.execute(insert(User), [
                {"id": p, "status": "active", "first_seen": first, "last_seen": NOW}
                for p in people[i:i + 5000]])
    for i in range(0, len(rows), 20000):
        async with db.transaction() as session:
            await session.execute(insert(StepRecord), rows[i:i + 20000])


async def _best(repeat: int, work: Any) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return min(times)


async def run(kind: str, n: int, repeat: int, scenarios: Scenarios) -> dict[str, Any]:
    tmp = None
    if kind == "sqlite":
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite+aiosqlite:///{tmp.name}/bench.db"
    else:
        name = f"supportnavi_bench_{uuid.uuid4().hex[:8]}"
        await pg_execute(PG, f'CREATE DATABASE "{name}"')
        url = PG.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(upgrade, url)
        db = Database(url)
        reader = Reader(db)
        try:
            rows, people = _rows(scenarios, n, seed=7)
            started = time.perf_counter()
            await _fill(db, rows, people)
            filled = time.perf_counter() - started
            if kind == "postgresql":
                await pg_execute(url, "ANALYZE")
            since = NOW - timedelta(days=DAYS)
            steps = StepRecord.__table__

            async def count() -> None:
                async with reader.session() as session:
                    await session.execute(select(func.count()).select_from(steps)
                                          .where(steps.c.at >= since))

            async def load_all() -> None:
                async with reader.session() as session:
                    result = await session.execute(
                        select(steps.c.id, steps.c.user_id, steps.c.at, steps.c.kind,
                               steps.c.route, steps.c.node).where(steps.c.at >= since))
                    result.all()

            found: dict[str, Any] = {}

            async def dashboard() -> None:
                found["summary"] = await summary(reader, scenarios, NOW, TOKYO, DAYS)

            t_count = await _best(repeat, count)
            t_load = await _best(repeat, load_all)
            t_summary = await _best(repeat, dashboard)
            visits = sum(f.started for f in found["summary"].funnels)
        finally:
            await reader.dispose()
            await db.dispose()
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            await pg_execute(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return {
        "db": kind, "rows": n, "people": len(people), "visits": visits,
        "fill_s": round(filled, 1), "count_s": round(t_count, 3),
        "load_rows_s": round(t_load, 3), "summary_s": round(t_summary, 3),
        "summary_over_load_rows": round(t_summary / t_load, 2),
        "summary_over_count": round(t_summary / t_count, 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    print(f"# {platform.node()} load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    for n in args.rows:
        for kind in args.db:
            result = await run(kind, n, args.repeat, scenarios)
            result["load_average"] = round(os.getloadavg()[0], 1)
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
