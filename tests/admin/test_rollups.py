"""The rollups give the same numbers as the raw steps (issue 19): random step histories on SQLite
and PostgreSQL, with visits crossing midnight, gaps either side of the 30 minutes idle, steps
on the window's first instant, the rollups written at random moments, and every window's
funnels compared with `raw_funnels`, the dashboard's query before the rollups."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, insert, select

from supportnavi.admin import rollups
from supportnavi.admin.queries import Reader, raw_funnels, summary
from supportnavi.admin.rollups import Rollups, local_midnight
from supportnavi.engine import Scenarios, load_scenarios
from supportnavi.settings import REPO_ROOT
from supportnavi.store.db import Database
from supportnavi.store.models import StepRecord, StepRollup, User

TOKYO = ZoneInfo("Asia/Tokyo")
SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")
# two routes with end nodes, and a few nodes of each (the start, an end, one more)
ROUTES = [r for r in SCENARIOS.menu_routes if any(n.end for n in SCENARIOS.routes[r].nodes.values())][:2]
NODES = {
    r: sorted({SCENARIOS.routes[r].start,
               next(n for n, s in SCENARIOS.routes[r].nodes.items() if s.end),
               *list(SCENARIOS.routes[r].nodes)[1:3]})
    for r in ROUTES
}
START = datetime(2026, 11, 27, 22, 0, tzinfo=TOKYO).astimezone(UTC)
PEOPLE = ["Ua", "Ub", "Uc"]
GAPS = [timedelta(0), timedelta(seconds=1), timedelta(minutes=5), timedelta(minutes=29),
        timedelta(minutes=30), timedelta(minutes=31), timedelta(hours=2), timedelta(hours=9)]
KINDS = ["enter", "enter", "enter", "back", "menu", "resolved_yes", "resolved_no", "trouble"]

# one step: who, how long after the step before (or "to the next local midnight", exactly or a
# second before), what, where
step = st.tuples(
    st.sampled_from(PEOPLE),
    st.one_of(st.sampled_from(GAPS), st.sampled_from(["midnight", "just before midnight"])),
    st.sampled_from(KINDS),
    st.one_of(st.none(), st.sampled_from(ROUTES)),
    st.integers(0, 3),
)
history = st.lists(step, min_size=1, max_size=40)
after = st.sampled_from([timedelta(0), timedelta(minutes=10), timedelta(minutes=40),
                         timedelta(hours=3), timedelta(days=1, hours=1)])
# when the housekeeping loop ran, as fractions of the history's span
passes = st.lists(st.floats(0, 1), max_size=3)


def _rows(steps: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    at = START
    found = []
    for person, gap, kind, route, pick in steps:
        if isinstance(gap, str):
            midnight = local_midnight(at.astimezone(TOKYO).date() + timedelta(days=1), TOKYO)
            at = midnight if gap == "midnight" else midnight - timedelta(seconds=1)
        else:
            at += gap
        node = None if route is None else NODES[route][pick % len(NODES[route])]
        found.append({"user_id": person, "at": at, "kind": kind, "route": route, "node": node,
                      "resolved": "test", "event_id": "test"})
    return found


async def _fill(db: Database, rows: list[dict[str, Any]]) -> None:
    async with db.transaction() as session:
        for table in (StepRollup, StepRecord, User):
            await session.execute(delete(table))
        await session.execute(insert(User), [
            {"id": p, "status": "active", "first_seen": START, "last_seen": START}
            for p in PEOPLE])
        await session.execute(insert(StepRecord), rows)


async def _compare(db: Database, scenarios: Scenarios, now: datetime) -> list[datetime]:
    """Every window up to today, and a few ending earlier: the summary (rollups and raw rows)
    against the raw query alone. Where each summary's raw rows began."""
    reader = Reader(db)
    raw_from = []
    try:
        today = now.astimezone(TOKYO).date()
        for days in (1, 2, 3, 5, 8):
            found = await summary(reader, scenarios, now, TOKYO, days)
            since = local_midnight(today - timedelta(days=days - 1), TOKYO)
            async with reader.session() as session:
                expected = await raw_funnels(session, reader.dialect, scenarios, since, now)
            assert found.funnels == expected, (days, now)
            assert found.raw_since is not None
            raw_from.append(found.raw_since)
        # a window ending before today: the same numbers with the rollups as without
        for first, last in ((today - timedelta(days=4), today - timedelta(days=1)),
                            (today - timedelta(days=2), today - timedelta(days=2))):
            rolled = await summary(reader, scenarios, now, TOKYO, first_day=first, last_day=last)
            async with db.transaction() as session:
                saved = [dict(r._mapping) for r in (await session.execute(
                    select(StepRollup.__table__))).all()]
                await session.execute(delete(StepRollup))
            raw = await summary(reader, scenarios, now, TOKYO, first_day=first, last_day=last)
            if saved:
                async with db.transaction() as session:
                    await session.execute(insert(StepRollup), saved)
            assert rolled.funnels == raw.funnels, (first, last, now)
    finally:
        await reader.dispose()
    return raw_from


async def _check(db_url: str, steps: list[tuple[Any, ...]], wait: timedelta,
                 moments: list[float]) -> None:
    rows = _rows(steps)
    now = rows[-1]["at"] + wait
    db = Database(db_url)
    reader = Reader(db)
    try:
        await _fill(db, rows)
        writer = Rollups(db, SCENARIOS, TOKYO, reader)
        span = now - START
        for moment in sorted(moments):
            await writer.run_once(START + span * moment)
            await _compare(db, SCENARIOS, now)
        await writer.run_once(now)
        await _compare(db, SCENARIOS, now)
    finally:
        await reader.dispose()
        await db.dispose()


@settings(max_examples=30, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(steps=history, wait=after, moments=passes)
def test_rollups_give_the_raw_numbers(db_url: str, steps: list[tuple[Any, ...]],
                                      wait: timedelta, moments: list[float]) -> None:
    asyncio.run(_check(db_url, steps, wait, moments))


# --- the pieces -----------------------------------------------------------------------------


async def _days_covered(db_url: str) -> tuple[datetime | None, int, int]:
    """A history of closed days with no visit left open: after one pass, the summary's raw
    rows begin at today's midnight; the backfill (the migration's) writes the same rows."""
    day0 = datetime(2026, 11, 20, 9, 0, tzinfo=TOKYO).astimezone(UTC)
    route = ROUTES[0]
    rows = []
    for d in range(6):
        for i, node in enumerate(NODES[route]):
            rows.append({"user_id": PEOPLE[d % 3], "at": day0 + timedelta(days=d, minutes=i),
                         "kind": "enter", "route": route, "node": node,
                         "resolved": "test", "event_id": "test"})
    now = day0 + timedelta(days=6, hours=3)
    db = Database(db_url)
    reader = Reader(db)
    try:
        await _fill(db, rows)
        # the loop's clock in Tokyo, the backfill's in UTC: the same periods, the same rows
        written = await Rollups(db, SCENARIOS, TOKYO, reader).run_once(now.astimezone(TOKYO))
        found = await summary(reader, SCENARIOS, now, TOKYO, 7)
        async with db.transaction() as session:
            served = sorted(tuple(r) for r in (await session.execute(
                select(StepRollup.__table__))).all())
            await session.execute(delete(StepRollup))

        def fill(connection: Any) -> int:
            return rollups.backfill(connection, SCENARIOS, TOKYO, now)

        async with db.engine.begin() as connection:
            backfilled = await connection.run_sync(fill)
        async with db.engine.begin() as connection:
            again = await connection.run_sync(fill)
        async with db.transaction() as session:
            migrated = sorted(tuple(r) for r in (await session.execute(
                select(StepRollup.__table__))).all())
            count = (await session.execute(select(func.count()).select_from(StepRollup)))
        assert served == migrated and count.scalar_one() == len(served)
        assert backfilled == written and again == 0
        return found.raw_since, written, found.funnel(route).started
    finally:
        await reader.dispose()
        await db.dispose()


def test_closed_days_are_read_from_rollups_and_the_backfill_agrees(db_url: str) -> None:
    raw_since, written, started = asyncio.run(_days_covered(db_url))
    # now is 12:00: the days before today, then today's hours up to 11:00 (the last one whose
    # visits are surely over, 30 minutes idle and 5 to settle) are rollups
    assert raw_since == local_midnight(date(2026, 11, 26), TOKYO) + timedelta(hours=11)
    assert written > 0 and started == 6
