"""Dashboard benchmark: the /admin summary's p95 over step histories of N rows, on SQLite and
PostgreSQL, with the rollups the housekeeping loop keeps (admin/rollups.py).

    .venv/bin/python bench/admin.py --rows 1000000 10000000 --db sqlite postgresql

Each database is made fresh (a temporary SQLite file; a new PostgreSQL database, dropped
after) and migrated to head. A history grows by days, not by density: one week of people
walking the real routes (random screens along each route's buttons, some to an end and an
answer to 「解決しましたか？」, some leaving by the menu, some idle; 20 people per 1,000 rows of
the week) is generated in Python at --per-day rows a day and written once, then copied
forward week after week in SQL (INSERT ... SELECT, ids in time order) until N rows: 1M rows
are 28 days, 10M 280. The rollups are then backfilled as the migration does (`backfill_s`),
and the summary of the default 28 days measured `--repeat` times: `summary_s` is the p95.
With two sizes or more, a last line per database gives summary_s(largest)/summary_s(smallest).
`--reference` also times today's raw query (raw_funnels) over the same window, once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
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

from sqlalchemy import delete, func, insert, select, text  # noqa: E402

from supportnavi.admin import rollups  # noqa: E402
from supportnavi.admin.queries import Reader, raw_funnels, summary  # noqa: E402
from supportnavi.engine import Scenarios, load_scenarios  # noqa: E402
from supportnavi.migrate import upgrade  # noqa: E402
from supportnavi.settings import REPO_ROOT  # noqa: E402
from supportnavi.store.db import Database  # noqa: E402
from supportnavi.store.models import StepRecord, User  # noqa: E402
from tests.support.db import pg_execute  # noqa: E402

PG = os.environ.get("SUPPORTNAVI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TOKYO = ZoneInfo("Asia/Tokyo")
DAYS = 28
WEEK = timedelta(days=7)
# the summary is read at 10:00 in Tokyo on the history's last day
LAST_DAY_10AM = timedelta(days=6, hours=10)


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


def _week(scenarios: Scenarios, n: int, start: datetime,
          seed: int) -> tuple[list[dict[str, Any]], list[str]]:
    """n steps inside [start, start + 7 days), in time order."""
    rng = random.Random(seed)
    people = [f"U{uuid.UUID(int=rng.getrandbits(128)).hex}" for _ in range(max(1, n // 50))]
    routes = sorted(scenarios.routes)
    end = start + WEEK
    span = WEEK.total_seconds()
    rows: list[dict[str, Any]] = []
    clocks = {p: start + timedelta(seconds=rng.random() * span) for p in people}
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
            if at >= end:
                break
            rows.append({"user_id": person, "at": at, "kind": kind, "route": route_id,
                         "node": node, "resolved": "button:bench", "event_id": "bench"})
        # idle before the next visit: minutes to days
        clocks[person] = at + timedelta(minutes=rng.choice([1, 5, 45, 600, 3000]))
        if clocks[person] >= end:
            clocks[person] = start + timedelta(seconds=rng.random() * span)
    rows = rows[:n]
    rows.sort(key=lambda r: r["at"])  # ids in time order, as the bot writes them
    return rows, people


async def _fill(db: Database, kind: str, rows: list[dict[str, Any]], people: list[str],
                first: datetime, weeks: int, total: int) -> None:
    """The week's rows, then copies of them a week later each, up to `total` rows."""
    async with db.transaction() as session:
        for i in range(0, len(people), 5000):
            await session.execute(insert(User), [
                {"id": p, "status": "active", "first_seen": first, "last_seen": first}
                for p in people[i:i + 5000]])
    for i in range(0, len(rows), 20000):
        async with db.transaction() as session:
            await session.execute(insert(StepRecord), rows[i:i + 20000])
    written = len(rows)
    template = written
    if kind == "postgresql":
        shifted = "at + make_interval(days => :days)"
    else:  # the stored text, its date moved and its fraction kept
        shifted = "datetime(at, '+' || :days || ' days') || substr(at, 20)"
    for week in range(1, weeks):
        take = min(template, total - written)
        if take <= 0:
            break
        async with db.transaction() as session:
            await session.execute(text(
                "INSERT INTO step_history (user_id, at, kind, route, node, resolved, event_id) "
                f"SELECT user_id, {shifted}, kind, route, node, resolved, event_id "
                "FROM step_history WHERE id <= :last ORDER BY id"
            ), {"days": 7 * week, "last": take})
        written += take


def _p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _timed(repeat: int, work: Any) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return times


async def run(kind: str, n: int, per_day: int, repeat: int, scenarios: Scenarios,
              reference: bool) -> dict[str, Any]:
    # whole weeks, so that the last day (today) is as busy as any other
    weeks = max(1, round(n / (per_day * 7)))
    template = min(n, per_day * 7)
    # the history's first week starts at midnight in Tokyo, so its days are whole days
    first = datetime(2026, 1, 5, tzinfo=TOKYO).astimezone(UTC)
    now = first + (weeks - 1) * WEEK + LAST_DAY_10AM
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
            rows, people = _week(scenarios, template, first, seed=7)
            started = time.perf_counter()
            await _fill(db, kind, rows, people, first, weeks, template * weeks)
            del rows
            async with db.transaction() as session:  # the history ends now, 10:00 on its last day
                await session.execute(delete(StepRecord).where(StepRecord.at > now))
                total = (await session.execute(
                    select(func.count()).select_from(StepRecord))).scalar_one()
            filled = time.perf_counter() - started
            async with db.transaction() as session:
                await session.execute(text("ANALYZE"))
            started = time.perf_counter()

            def backfill(connection: Any) -> int:
                return rollups.backfill(connection, scenarios, TOKYO, now)

            async with db.engine.begin() as connection:
                periods = await connection.run_sync(backfill)
            backfilled = time.perf_counter() - started
            since = now - timedelta(days=DAYS)
            steps = StepRecord.__table__

            async def count() -> None:
                async with reader.session() as session:
                    await session.execute(select(func.count()).select_from(steps)
                                          .where(steps.c.at >= since))

            found: dict[str, Any] = {}

            async def dashboard() -> None:
                found["summary"] = await summary(reader, scenarios, now, TOKYO, DAYS)

            t_count = min(await _timed(1, count))
            today = now.astimezone(TOKYO).replace(hour=0, minute=0, second=0,
                                                  microsecond=0).astimezone(UTC)
            async with reader.session() as session:
                today_rows = (await session.execute(
                    select(func.count()).select_from(steps).where(steps.c.at >= today)
                )).scalar_one()
            times = await _timed(repeat, dashboard)
            numbers = found["summary"]
            visits = sum(f.started for f in numbers.funnels)
            result: dict[str, Any] = {
                "db": kind, "rows": total, "days": weeks * 7, "people": len(people),
                "visits": visits, "fill_s": round(filled, 1),
                "backfill_s": round(backfilled, 1), "periods": periods,
                "today_rows": today_rows,
                "raw_from": numbers.raw_since.astimezone(TOKYO).strftime("%m-%d %H:%M"),
                "count_s": round(t_count, 3),
                "summary_s": round(_p95(times), 4),
                "summary_p50_s": round(sorted(times)[len(times) // 2], 4),
                "summary_max_s": round(max(times), 4),
            }
            if reference:
                async def raw() -> None:
                    async with reader.session() as session:
                        found["raw"] = await raw_funnels(
                            session, reader.dialect, scenarios, numbers.since, now)

                result["raw_summary_s"] = round(min(await _timed(1, raw)), 3)
                result["same_numbers"] = found["raw"] == numbers.funnels
        finally:
            await reader.dispose()
            await db.dispose()
    finally:
        if tmp is not None:
            tmp.cleanup()
        else:
            await pg_execute(PG, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--db", nargs="+", default=["sqlite", "postgresql"],
                        choices=["sqlite", "postgresql"])
    parser.add_argument("--per-day", type=int, default=1_000_000 // DAYS,
                        help="step rows a day (default: 1M rows in 28 days)")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--reference", action="store_true",
                        help="also time the raw query over the window once, and compare")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    print(f"# {platform.node()} load average {os.getloadavg()[0]:.1f}", file=sys.stderr)
    p95: dict[str, dict[int, float]] = {}
    for n in args.rows:
        for kind in args.db:
            result = await run(kind, n, args.per_day, args.repeat, scenarios, args.reference)
            result["load_average"] = round(os.getloadavg()[0], 1)
            p95.setdefault(kind, {})[result["rows"]] = result["summary_s"]
            if args.json:
                print(json.dumps(result), flush=True)
            else:
                print(" ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    for kind, by_rows in p95.items():
        if len(by_rows) > 1:
            small, large = min(by_rows), max(by_rows)
            ratio = {"db": kind, "ratio": f"summary_s({large})/summary_s({small})",
                     "value": round(by_rows[large] / by_rows[small], 2)}
            print(json.dumps(ratio) if args.json else
                  " ".join(f"{k}={v}" for k, v in ratio.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
