"""The dashboard's rollups: the funnels' counts of closed periods, kept in `step_rollups`, so
that a summary adds up a few hundred rows and reads raw steps only after the last period.

Visits (admin/queries.py) are attributed to the period their first step is in, with their
whole extent (a visit crossing midnight counts in the day it began). Two parts per period:

- `begin`: the visits that begin in the period, as they are in the whole history (read from
  `IDLE` before the period, enough to know whether its first steps begin a visit).
- `head`: the visits in the period when the history is cut at the period's start, as the
  summary sees them on the first day of its window: a visit that crossed that midnight counts
  again, from its first step in the window.

So the summary over days F..L is head(F) + begin(F+1..L) + raw rows after the last period.
Periods are local days (`SUPPORTNAVI_TZ`) and, for today and yesterday, the hours of the day.
A period is written only once every visit it counts is over (so its numbers never change),
with the steps, answers and departures recorded in it. Writing one is an upsert of numbers
computed from the same rows, so any number of processes may do it at once: they agree.
`basis` names the zone and the end nodes: the rollups of another zone or of other end nodes
are not read, and the housekeeping loop computes those of the current ones.

Assumed, as the bot writes them: a person's step ids are in the order of their times.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from supportnavi.engine import Scenarios
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import StepRecord, StepRollup

log = logging.getLogger(__name__)

IDLE = timedelta(minutes=30)
# Steps after which the person is no longer in the route they are recorded on.
LEAVING = ("menu", "resolved_yes", "trouble")
MAX_DAYS = 90
# A step's time is the server's clock when its transaction began: one that commits later may
# carry an earlier time, by at most this (a batch's transaction is short).
SETTLE = timedelta(minutes=5)
MARK = "*"  # route and node of a period's marker row; node of a route's own row
COUNTS = ("visits", "ended", "gave_up", "in_progress", "steps", "yes", "no", "leaves")
PER_PASS = 400  # periods computed in one housekeeping pass at most


class Reader:
    """Sessions for reading. On PostgreSQL the app's pool is fine; on SQLite every transaction
    of the app's engine starts with BEGIN IMMEDIATE, which would hold the write lock (and stall
    the webhook) for as long as a dashboard query runs, so reads get an engine of their own,
    with the driver's deferred transactions: in WAL mode they never block a writer."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.dialect = db.url.get_backend_name()
        self._engine = None
        if db.is_sqlite:
            self._engine = create_async_engine(
                make_url(db.url), connect_args={"timeout": db.busy_timeout_ms / 1000}
            )
            self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        else:
            self._sessions = db.sessions

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()


# --- counts -----------------------------------------------------------------------------------


@dataclass
class Counts:
    """A set of visits' numbers: by route and status, by (route, node)."""

    status: Counter[tuple[str, str]] = field(default_factory=Counter)  # end|gave_up|in_progress
    node_visits: Counter[tuple[str, str]] = field(default_factory=Counter)
    gave_up_at: Counter[tuple[str, str]] = field(default_factory=Counter)
    steps: Counter[tuple[str, str]] = field(default_factory=Counter)
    yes: Counter[tuple[str, str]] = field(default_factory=Counter)
    no: Counter[tuple[str, str]] = field(default_factory=Counter)
    leaves: Counter[tuple[str, str]] = field(default_factory=Counter)
    open: int = 0  # visits counted that are not over yet

    def add(self, other: Counts) -> None:
        for name in ("status", "node_visits", "gave_up_at", "steps", "yes", "no", "leaves"):
            getattr(self, name).update(getattr(other, name))
        self.open += other.open

    def route_total(self, name: str, route: str) -> int:
        return sum(n for (r, _), n in getattr(self, name).items() if r == route)


def _node(node: str | None) -> str:
    return "" if node is None else node


def _epoch(column: Any, dialect: str) -> ColumnElement[Any]:
    if dialect == "postgresql":
        return func.extract("epoch", column)
    return (func.julianday(column) - 2440587.5) * 86400.0


def _on_an_end(route: Any, node: Any, scenarios: Scenarios) -> ColumnElement[bool]:
    ends = [
        and_(route == route_id, node.in_([n for n, spec in r.nodes.items() if spec.end]))
        for route_id, r in scenarios.routes.items()
        if any(spec.end for spec in r.nodes.values())
    ]
    return or_(*ends) if ends else literal(False)


@dataclass(frozen=True)
class Slice:
    """Visits read from steps at `cut` or later (and before `until`), counted if their first
    step is in [begin_from, begin_to); their status as at `now`."""

    cut: datetime
    begin_from: datetime
    begin_to: datetime | None
    until: datetime | None
    now: datetime


def statements(scenarios: Scenarios, dialect: str, s: Slice) -> tuple[Select[Any], Select[Any]]:
    """Two statements: visits by (route, status, last node if given up) and by (route, node),
    with how many are not over; and the steps in [begin_from, begin_to) by route, node, kind."""
    steps = StepRecord.__table__
    window = [steps.c.at >= s.cut]
    if s.until is not None:
        window.append(steps.c.at < s.until)
    # The period's rows first, by time (ix_step_history_at): left to itself SQLite walks the
    # whole table in the window's order (by person) rather than sort a few rows.
    recent = (
        select(steps.c.id, steps.c.user_id, steps.c.route, steps.c.node, steps.c.at,
               steps.c.kind)
        .where(*window)
        .cte("recent")
        .prefix_with("MATERIALIZED")
    )
    per_person: dict[str, Any] = {"partition_by": recent.c.user_id, "order_by": recent.c.id}
    at = _epoch(recent.c.at, dialect)
    lagged = (
        select(
            recent.c.id, recent.c.user_id, recent.c.route, recent.c.node, recent.c.at,
            func.lag(recent.c.route).over(**per_person).label("prev_route"),
            func.lag(recent.c.kind).over(**per_person).label("prev_kind"),
            (at - func.lag(at).over(**per_person)).label("gap"),
            func.lead(recent.c.id).over(**per_person).label("next_id"),
        )
        .cte("lagged")
    )
    begins = and_(
        lagged.c.route.is_not(None),
        or_(
            lagged.c.prev_route.is_(None),
            lagged.c.prev_route != lagged.c.route,
            lagged.c.prev_kind.in_(LEAVING),
            lagged.c.gap > IDLE.total_seconds(),
        ),
    )
    marked = (
        select(
            lagged.c.id, lagged.c.route, lagged.c.node, lagged.c.at, lagged.c.next_id,
            func.max(case((begins, lagged.c.id))).over(
                partition_by=lagged.c.user_id, order_by=lagged.c.id, rows=(None, 0)
            ).label("visit"),
        )
        .cte("marked")
    )
    on_end = case((_on_an_end(marked.c.route, marked.c.node, scenarios), 1), else_=0)
    visits = (
        select(
            marked.c.visit, func.min(marked.c.route).label("route"),
            func.max(on_end).label("reached"), func.max(marked.c.id).label("last_id"),
            func.max(marked.c.at).label("last_at"), func.min(marked.c.at).label("first_at"),
            func.max(marked.c.next_id).label("next_id"),
        )
        .where(marked.c.route.is_not(None))
        .group_by(marked.c.visit)
        .cte("visits")
    )
    counted = [visits.c.first_at >= s.begin_from]
    if s.begin_to is not None:
        counted.append(visits.c.first_at < s.begin_to)
    over = or_(
        func.coalesce(visits.c.next_id, 0) > visits.c.last_id,
        recent.c.kind.in_(LEAVING),
        visits.c.last_at < s.now - IDLE,
    )
    status = case((visits.c.reached == 1, "end"), (over, "gave_up"), else_="in_progress")
    both = union_all(
        select(visits.c.route, status.label("status"),
               case((status == "gave_up", recent.c.node)).label("node"),
               func.count().label("n"), func.sum(case((over, 0), else_=1)).label("open"))
        # the last step from the period's own rows: joined to the table, SQLite may scan it
        .select_from(visits.join(recent, recent.c.id == visits.c.last_id))
        .where(*counted)
        .group_by(visits.c.route, "status", "node"),
        select(marked.c.route, literal("node").label("status"), marked.c.node,
               func.count(func.distinct(marked.c.visit)), literal(0))
        .select_from(marked.join(visits, visits.c.visit == marked.c.visit))
        .where(marked.c.route.is_not(None), *counted)
        .group_by(marked.c.route, marked.c.node),
    )
    in_period = [steps.c.at >= s.begin_from]
    if s.begin_to is not None:
        in_period.append(steps.c.at < s.begin_to)
    period = (
        select(steps.c.route, steps.c.node, steps.c.kind)
        .where(*in_period)
        .cte("period")
        .prefix_with("MATERIALIZED")
    )
    kinds = (
        select(period.c.route, period.c.node, period.c.kind, func.count())
        .where(period.c.route.is_not(None))
        .group_by(period.c.route, period.c.node, period.c.kind)
    )
    return select(both.subquery()), kinds


def collect(visit_rows: Sequence[Any], kind_rows: Sequence[Any]) -> Counts:
    counts = Counts()
    for route, state, node, n, still_open in visit_rows:
        if state == "node":
            counts.node_visits[(route, _node(node))] += int(n)
            continue
        counts.status[(route, state)] += int(n)
        counts.open += int(still_open or 0)
        if state == "gave_up" and node is not None:
            counts.gave_up_at[(route, node)] += int(n)
    for route, node, kind, n in kind_rows:
        key = (route, _node(node))
        counts.steps[key] += int(n)
        if kind == "resolved_yes":
            counts.yes[key] += int(n)
        elif kind == "resolved_no":
            counts.no[key] += int(n)
        if kind in LEAVING:
            counts.leaves[key] += int(n)
    return counts


async def raw_counts(session: AsyncSession, scenarios: Scenarios, dialect: str,
                     s: Slice) -> Counts:
    visit_q, kind_q = statements(scenarios, dialect, s)
    return collect((await session.execute(visit_q)).all(),
                   (await session.execute(kind_q)).all())


def raw_counts_sync(connection: Connection, scenarios: Scenarios, s: Slice) -> Counts:
    visit_q, kind_q = statements(scenarios, connection.dialect.name, s)
    return collect(connection.execute(visit_q).all(), connection.execute(kind_q).all())


# --- periods ----------------------------------------------------------------------------------


def basis(scenarios: Scenarios, tz: ZoneInfo) -> str:
    """The zone and the end nodes the counts depend on."""
    ends = sorted(f"{r}/{n}" for r, route in scenarios.routes.items()
                  for n, spec in route.nodes.items() if spec.end)
    digest = hashlib.sha256("\n".join(ends).encode()).hexdigest()[:16]
    return f"{tz.key}|{digest}"


def utc(at: datetime) -> datetime:
    """In UTC: SQLite compares the stored text, which is UTC, with a time's own wall clock."""
    return as_utc(at).astimezone(UTC)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Period:
    part: str  # head | begin
    start: datetime
    end: datetime
    span: str  # day | hour
    day: date

    def slice(self, until: datetime | None, now: datetime) -> Slice:
        cut = self.start if self.part == "head" else self.start - IDLE
        return Slice(cut=cut, begin_from=self.start, begin_to=self.end, until=until, now=now)

    def key(self) -> tuple[str, datetime, datetime]:
        return (self.part, self.start, self.end)


def hours(day: date, tz: ZoneInfo) -> list[tuple[datetime, datetime]]:
    start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
    found = []
    while start < end:
        found.append((start, min(start + timedelta(hours=1), end)))
        start += timedelta(hours=1)
    return found


def wanted(now: datetime, tz: ZoneInfo, first_step: datetime | None) -> list[Period]:
    """The periods that can be complete at `now`, newest days first: each closed day's head and
    begin as far back as the dashboard reads (those before the first step are empty, and
    written so that a window starting before it still finds its first day), and the hours of
    yesterday and today (head for the first, begin for all)."""
    if first_step is None:
        return []
    today = now.astimezone(tz).date()
    oldest = today - timedelta(days=MAX_DAYS)
    found: list[Period] = []
    for back in (0, 1):
        day = today - timedelta(days=back)
        for i, (start, end) in enumerate(hours(day, tz)):
            parts = ("head", "begin") if i == 0 else ("begin",)
            found += [Period(p, start, end, "hour", day) for p in parts]
    day = today - timedelta(days=1)
    while day >= oldest:
        start, end = local_midnight(day, tz), local_midnight(day + timedelta(days=1), tz)
        found += [Period(p, start, end, "day", day) for p in ("head", "begin")]
        day -= timedelta(days=1)
    return [p for p in found if closeable(p, now)]


def closeable(period: Period, now: datetime) -> bool:
    """Every visit that begins in the period is over by now, or still going on."""
    return period.end + IDLE <= now - SETTLE


def horizons(period: Period, now: datetime) -> list[datetime]:
    """Where to read up to: a few hours past the period first (enough for nearly every visit to
    be over), then everything written so far."""
    last = now - SETTLE
    first = period.end + IDLE + timedelta(hours=2)
    return [first, last] if first < last else [last]


def rows(period: Period, counts: Counts, basis_id: str) -> list[dict[str, Any]]:
    base = {"basis": basis_id, "part": period.part, "period_start": period.start,
            "period_end": period.end, "span": period.span, "day": period.day}
    found: list[dict[str, Any]] = []
    routes = {r for r, _ in counts.status} | {r for r, _ in counts.steps} | {
        r for r, _ in counts.node_visits}
    for route in sorted(routes):
        found.append({**base, "route": route, "node": MARK,
                      **dict.fromkeys(COUNTS, 0),
                      "visits": sum(n for (r, _), n in counts.status.items() if r == route),
                      "ended": counts.status.get((route, "end"), 0),
                      "gave_up": counts.status.get((route, "gave_up"), 0),
                      "in_progress": counts.status.get((route, "in_progress"), 0)})
    nodes = set(counts.node_visits) | set(counts.steps) | set(counts.gave_up_at)
    for route, node in sorted(nodes):
        key = (route, node)
        found.append({**base, "route": route, "node": node, "visits": counts.node_visits[key],
                      "ended": 0, "gave_up": counts.gave_up_at[key], "in_progress": 0,
                      "steps": counts.steps[key], "yes": counts.yes[key], "no": counts.no[key],
                      "leaves": counts.leaves[key]})
    found.append({**base, "route": MARK, "node": MARK, **dict.fromkeys(COUNTS, 0)})
    return found


def upsert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    statement: Any = (postgresql.insert(StepRollup) if dialect == "postgresql"
                      else sqlite.insert(StepRollup))
    return statement.on_conflict_do_update(
        index_elements=["basis", "part", "period_start", "period_end", "route", "node"],
        set_={c: statement.excluded[c] for c in COUNTS},
    )


def _markers(basis_id: str, since: datetime | None = None,
             before: datetime | None = None) -> Select[str, datetime, datetime, str]:
    where = [StepRollup.basis == basis_id, StepRollup.route == MARK, StepRollup.node == MARK]
    if since is not None:
        where.append(StepRollup.period_start >= since)
    if before is not None:
        where.append(StepRollup.period_end <= before)
    return select(StepRollup.part, StepRollup.period_start, StepRollup.period_end,
                  StepRollup.span).where(*where)


def _existing(found: Sequence[Any]) -> set[tuple[str, datetime, datetime]]:
    return {(part, as_utc(start), as_utc(end)) for part, start, end, *_ in found}


# --- writing ----------------------------------------------------------------------------------


class Rollups:
    """The server's writer: each housekeeping pass computes the periods that can be complete and
    are not yet written, and drops what no summary reads any more."""

    def __init__(self, db: Database, scenarios: Scenarios | Callable[[], Scenarios],
                 tz: ZoneInfo, reader: Reader | None = None, per_pass: int = PER_PASS) -> None:
        """`scenarios`: fixed, or a function giving the ones serving now (a server reloads
        them: each pass reads them once, and their end nodes make the rows' basis)."""
        self.db = db
        self.reader = reader
        self._scenarios = scenarios
        self.tz = tz
        self.per_pass = per_pass
        self.dialect = db.url.get_backend_name()

    @property
    def scenarios(self) -> Scenarios:
        found = self._scenarios
        return found if isinstance(found, Scenarios) else found()

    async def run_once(self, now: datetime) -> int:
        """Periods written. Reads with the reader given, else one of its own for the pass."""
        reader = self.reader or Reader(self.db)
        try:
            return await self._pass(reader, utc(now))
        finally:
            if self.reader is None:
                await reader.dispose()

    async def _pass(self, reader: Reader, now: datetime) -> int:
        written = 0
        scenarios = self.scenarios  # once for the pass: a reload swaps them between passes
        basis_id = basis(scenarios, self.tz)
        async with reader.session() as session:
            first = (await session.execute(select(func.min(StepRecord.at)))).scalar()
            have = _existing((await session.execute(_markers(basis_id))).all())
        if first is None:
            return 0
        for period in wanted(now, self.tz, first):
            if period.key() in have:
                continue
            if written >= self.per_pass:
                break
            if period.end <= as_utc(first):
                counts: Counts | None = Counts()  # before the first step: nothing to read
            else:
                async with reader.session() as session:
                    counts = await self._final(session, scenarios, period, now)
            if counts is None:
                continue
            async with self.db.transaction() as session:
                await session.execute(upsert(self.dialect), rows(period, counts, basis_id))
            written += 1
        async with self.db.transaction() as session:
            await session.execute(delete(StepRollup).where(or_(
                StepRollup.period_end < now - timedelta(days=MAX_DAYS + 2),
                and_(StepRollup.span == "hour",
                     StepRollup.period_end < now - timedelta(days=3)),
                StepRollup.basis != basis_id,
            )))
        if written:
            log.info("rollups: %d periods written", written)
        return written

    async def _final(self, session: AsyncSession, scenarios: Scenarios, period: Period,
                     now: datetime) -> Counts | None:
        for until in horizons(period, now):
            counts = await raw_counts(session, scenarios, self.dialect,
                                      period.slice(until, until))
            if counts.open == 0:
                return counts
        return None


def backfill(connection: Connection, scenarios: Scenarios, tz: ZoneInfo, now: datetime) -> int:
    """The rollups of every period that can be complete at `now` and is not written yet, on a
    synchronous connection (the migration's). Safe to run again: what is there is skipped, and
    what is written again is the same numbers."""
    now = utc(now)
    basis_id = basis(scenarios, tz)
    first = connection.execute(select(func.min(StepRecord.at))).scalar()
    if first is None:
        return 0
    have = _existing(connection.execute(_markers(basis_id)).all())
    written = 0
    for period in wanted(now, tz, first):
        if period.key() in have:
            continue
        for until in horizons(period, now):
            counts = (Counts() if period.end <= as_utc(first) else
                      raw_counts_sync(connection, scenarios, period.slice(until, until)))
            if counts.open == 0:
                connection.execute(upsert(connection.dialect.name),
                                   rows(period, counts, basis_id))
                written += 1
                break
    return written


# --- reading ----------------------------------------------------------------------------------


def chain(found: set[tuple[str, datetime, datetime]], start: datetime,
          end: datetime) -> list[tuple[str, datetime, datetime]]:
    """Periods that tile [start, end) from its start, as far as they go: the head at `start`,
    then begins, each time the longest that starts where the last ended."""
    longest: dict[tuple[str, datetime], datetime] = {}
    for part, s, e in found:
        if e <= end and e > longest.get((part, s), s):
            longest[(part, s)] = e
    chosen = []
    cursor, part = start, "head"
    while (part, cursor) in longest:
        chosen.append((part, cursor, longest[(part, cursor)]))
        cursor, part = longest[(part, cursor)], "begin"
    return chosen


async def rolled_counts(session: AsyncSession, scenarios: Scenarios, tz: ZoneInfo,
                        since: datetime, end: datetime) -> tuple[Counts, datetime]:
    """The counts of the periods that tile [since, end) from its start, and where they stop."""
    basis_id = basis(scenarios, tz)
    marks = (await session.execute(_markers(basis_id, since, end))).all()
    found = _existing(marks)
    spans = {(p, as_utc(s), as_utc(e)): span for p, s, e, span in marks}
    chosen = chain(found, since, end)
    counts = Counts()
    if not chosen:
        return counts, since
    t = StepRollup
    # the chain as runs of one part and span (a head, days, hours): one range each
    runs: list[list[Any]] = []
    for part, start, end in chosen:
        kind = (part, spans.get((part, start, end), ""))
        if runs and runs[-1][0] == kind and runs[-1][2] == start:
            runs[-1][2] = end
        else:
            runs.append([kind, start, end])
    query = (
        select(t.route, t.node, *(func.sum(getattr(t, c)) for c in COUNTS))
        .where(t.basis == basis_id, t.route != MARK,
               or_(*(and_(t.part == part, t.span == span, t.period_start >= start,
                          t.period_end <= end)
                     for (part, span), start, end in runs)))
        .group_by(t.route, t.node)
    )
    for route, node, visits, ended, gave_up, in_progress, steps, yes, no, leaves in (
        await session.execute(query)
    ).all():
        if node == MARK:
            counts.status[(route, "end")] += int(ended)
            counts.status[(route, "gave_up")] += int(gave_up)
            counts.status[(route, "in_progress")] += int(in_progress)
            continue
        key = (route, node)
        counts.node_visits[key] += int(visits)
        counts.gave_up_at[key] += int(gave_up)
        counts.steps[key] += int(steps)
        counts.yes[key] += int(yes)
        counts.no[key] += int(no)
        counts.leaves[key] += int(leaves)
    return counts, chosen[-1][2]
