"""The dashboard's numbers, each an SQL aggregate: nothing here loads rows one by one, and
nothing returned names a person.

A *visit* is one person's stay in one route, read from `step_history` (ordered by id, per
person): it begins at a step on route R when their step before was on another route, at the
menu, a step that left R (the menu button, 「はい」 to 「解決しましたか？」), or more than
`IDLE` earlier; it lasts while their steps stay on R. A visit *reached an end* when one of its
steps is on an end node of R. One that did not is *given up* once it is over (the person did
something else afterwards, left, or has been idle for `IDLE`); its last node is where they gave
up. Otherwise it is *in progress*.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.admin.rollups import (
    IDLE,
    LEAVING,
    MAX_DAYS,
    Counts,
    Reader,
    Slice,
    _epoch,
    _on_an_end,
    basis,
    raw_counts,
    rolled_counts,
    utc,
)
from supportnavi.admin.rollups import MARK as ROLLUP_MARK
from supportnavi.engine import Scenarios
from supportnavi.engine.content import Route
from supportnavi.store.db import as_utc
from supportnavi.store.incidents import hour_of
from supportnavi.store.models import Incident, Reminder, StepRecord, StepRollup, User

VISIT_DEFINITION = (
    "A visit is one person's stay in one route: it begins at their step on the route after a "
    "step elsewhere (another route, the menu), after leaving the route (the menu button, yes to "
    "'was it solved?') or after 30 minutes idle, and lasts while their steps stay on the route. "
    "It reached an end if one of its steps is on an end node. One that did not is given up "
    "once it is over (the person did something else, left, or 30 minutes passed); its last "
    "node is where they gave up. Otherwise it is in progress."
)
REMINDER_STATUSES = ("pending", "sent", "failed", "skipped", "cancelled")
__all__ = ["IDLE", "LEAVING", "MAX_DAYS", "Reader"]


# --- what the dashboard shows -----------------------------------------------------------------


@dataclass
class Day:
    day: date
    new: int = 0  # people first seen that day
    blocked: int = 0  # people who blocked the bot that day and still do


@dataclass
class Users:
    active: int
    blocked: int
    new_this_week: int
    week_starts: date  # Monday, in SUPPORTNAVI_TZ
    days: list[Day]


@dataclass
class NodeCount:
    node: str
    title: str
    end: bool
    visits: int  # visits that were on this node
    gave_up: int  # visits given up with this as their last node


@dataclass
class Ending:
    """Answers to 「解決しましたか？」 on one end node: the 「いいえ」 rate says which ending
    leaves people unsolved."""

    node: str
    title: str
    yes: int = 0
    no: int = 0

    @property
    def no_rate(self) -> float | None:
        answered = self.yes + self.no
        return self.no / answered if answered else None


@dataclass
class Funnel:
    route: str
    title: str
    started: int = 0  # visits
    reached_end: int = 0
    gave_up: int = 0
    in_progress: int = 0
    yes: int = 0  # answers to 「解決しましたか？」
    no: int = 0
    nodes: list[NodeCount] = field(default_factory=list)
    endings: list[Ending] = field(default_factory=list)  # end nodes, in walk order

    @property
    def yes_rate(self) -> float | None:
        answered = self.yes + self.no
        return self.yes / answered if answered else None

    def counts(self) -> dict[str, int]:
        return {n.node: n.visits for n in self.nodes}


@dataclass
class NextDue:
    at: datetime
    kind: str


@dataclass
class Reminders:
    by_kind: dict[str, dict[str, int]]  # kind -> status -> rows (pushes)
    totals: dict[str, int]
    next_due: NextDue | None


@dataclass
class IncidentCount:
    place: str
    code: str
    count: int


@dataclass
class Incidents:
    last_24h: list[IncidentCount]
    last_7d: list[IncidentCount]


@dataclass
class Summary:
    generated_at: datetime
    since: datetime
    days: int
    timezone: str
    users: Users
    funnels: list[Funnel]
    reminders: Reminders
    incidents: Incidents
    first_day: date | None = None  # the window, local days, both included
    last_day: date | None = None
    raw_since: datetime | None = None  # the rollups cover [since, raw_since); raw rows after

    def funnel(self, route: str) -> Funnel:
        return next(f for f in self.funnels if f.route == route)


def window(now: datetime, tz: ZoneInfo, days: int = 28, first_day: date | None = None,
           last_day: date | None = None) -> tuple[date, date]:
    """The local days a summary covers: `days` up to today, or [first_day, last_day] (either
    one given: the other is `days` away from it, never past today)."""
    today = as_utc(now).astimezone(tz).date()
    if first_day is None and last_day is None:
        return today - timedelta(days=days - 1), today
    if first_day is None:
        assert last_day is not None
        return last_day - timedelta(days=days - 1), last_day
    if last_day is None:
        return first_day, min(today, first_day + timedelta(days=days - 1))
    return first_day, last_day


async def summary(
    reader: Reader, scenarios: Scenarios, now: datetime, tz: ZoneInfo, days: int = 28,
    first_day: date | None = None, last_day: date | None = None, with_funnels: bool = True,
) -> Summary:
    """The dashboard's numbers for local days [first_day, last_day] (by default the last `days`
    up to today): funnels from the rollups plus the raw steps after the last of them."""
    now = as_utc(now).astimezone(UTC)
    first_day, last_day = window(now, tz, days, first_day, last_day)
    since = _local_midnight(first_day, tz)
    end = _local_midnight(last_day + timedelta(days=1), tz)
    async with reader.session() as session:
        found: list[Funnel] = []
        raw_since = since
        if with_funnels:
            found, raw_since = await funnels(session, reader.dialect, scenarios, tz, since, end,
                                             now)
        return Summary(
            generated_at=now, since=since, days=(last_day - first_day).days + 1,
            timezone=str(tz),
            users=await users(session, now, tz, first_day, last_day),
            funnels=found,
            reminders=await reminders(session),
            incidents=await incidents(session, now),
            first_day=first_day, last_day=last_day, raw_since=raw_since,
        )


# --- users ------------------------------------------------------------------------------------


async def users(session: AsyncSession, now: datetime, tz: ZoneInfo, first_day: date,
                last_day: date | None = None) -> Users:
    by_status = dict((await session.execute(
        select(User.status, func.count()).group_by(User.status)
    )).all())
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    new_this_week = (await session.execute(
        select(func.count()).select_from(User)
        .where(User.first_seen >= _local_midnight(monday, tz))
    )).scalar_one()

    last_day = today if last_day is None else last_day
    days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
    edges = [_local_midnight(d, tz) for d in [*days, last_day + timedelta(days=1)]]
    chart = {d: Day(d) for d in days}
    for column, attribute, extra in (
        (User.first_seen, "new", true()),
        (User.blocked_at, "blocked", User.status == "blocked"),
    ):
        bucket = _bucket(column, edges)
        found = await session.execute(
            select(bucket, func.count())
            .where(column >= edges[0], column < edges[-1], extra)
            .group_by(bucket)
        )
        for index, count in found.all():
            setattr(chart[days[int(index)]], attribute, int(count))
    return Users(
        active=int(by_status.get("active", 0)), blocked=int(by_status.get("blocked", 0)),
        new_this_week=int(new_this_week), week_starts=monday, days=list(chart.values()),
    )


def _bucket(column: Any, edges: Sequence[datetime]) -> ColumnElement[int]:
    """Which local day a UTC time falls in, as the index of its day: edges are the local
    midnights, so the days are right in any zone, summer time included."""
    return case(*[(column < edge, i) for i, edge in enumerate(edges[1:])], else_=len(edges) - 1)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


# --- funnels ----------------------------------------------------------------------------------


def visits_query(scenarios: Scenarios, dialect: str, since: datetime) -> tuple[Any, Any]:
    """Steps since `since`, each with its visit (the id of the visit's first step), and one
    row per visit: its route, whether it reached an end, its last step and when it was."""
    steps = StepRecord.__table__
    per_person: dict[str, Any] = {"partition_by": steps.c.user_id, "order_by": steps.c.id}
    at = _epoch(steps.c.at, dialect)
    lagged = (
        select(
            steps.c.id, steps.c.user_id, steps.c.route, steps.c.node, steps.c.at,
            func.lag(steps.c.route).over(**per_person).label("prev_route"),
            func.lag(steps.c.kind).over(**per_person).label("prev_kind"),
            (at - func.lag(at).over(**per_person)).label("gap"),
            func.lead(steps.c.id).over(**per_person).label("next_id"),
        )
        .where(steps.c.at >= since)
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
            func.max(marked.c.at).label("last_at"),
            # the id of the person's step after the visit's last one, if any (every earlier
            # step's next is within the visit)
            func.max(marked.c.next_id).label("next_id"),
        )
        .where(marked.c.route.is_not(None))
        .group_by(marked.c.visit)
        .cte("visits")
    )
    return marked, visits


async def funnels(
    session: AsyncSession, dialect: str, scenarios: Scenarios, tz: ZoneInfo, since: datetime,
    end: datetime, now: datetime,
) -> tuple[list[Funnel], datetime]:
    """Visits that begin in [since, end): the rollups' periods from `since` on, as far as they
    go, and the raw steps after them (today's at most, once the housekeeping loop keeps up).
    Also where the raw steps began."""
    counts, covered = await rolled_counts(session, scenarios, tz, since, min(end, now))
    if covered < end:
        rest = Slice(
            cut=covered if covered == since else covered - IDLE, begin_from=covered,
            begin_to=end if end <= now else None, until=None, now=now,
        )
        counts.add(await raw_counts(session, scenarios, dialect, rest))
    return from_counts(scenarios, counts), covered


def from_counts(scenarios: Scenarios, counts: Counts) -> list[Funnel]:
    result = []
    menu = scenarios.menu_routes
    for route_id in [*menu, *(r for r in scenarios.routes if r not in menu)]:
        route = scenarios.routes[route_id]
        reached, gave_up = counts.status[(route_id, "end")], counts.status[(route_id, "gave_up")]
        in_progress = counts.status[(route_id, "in_progress")]
        result.append(Funnel(
            route=route.id, title=route.title,
            started=reached + gave_up + in_progress, reached_end=reached,
            gave_up=gave_up, in_progress=in_progress,
            yes=counts.route_total("yes", route_id), no=counts.route_total("no", route_id),
            nodes=[
                NodeCount(node_id, route.nodes[node_id].title or node_id,
                          route.nodes[node_id].end, counts.node_visits[(route_id, node_id)],
                          counts.gave_up_at[(route_id, node_id)])
                for node_id in walk_order(route)
            ],
            endings=[
                Ending(node_id, route.nodes[node_id].title or node_id,
                       counts.yes[(route_id, node_id)], counts.no[(route_id, node_id)])
                for node_id in walk_order(route) if route.nodes[node_id].end
            ],
        ))
    return result


async def raw_funnels(
    session: AsyncSession, dialect: str, scenarios: Scenarios, since: datetime, now: datetime
) -> list[Funnel]:
    """The funnels read from the raw steps since `since` alone, as the dashboard did before
    the rollups: the reference the rollups are tested against (tests/admin/test_rollups.py),
    and the definition they keep."""
    marked, visits = visits_query(scenarios, dialect, since)
    steps = StepRecord.__table__
    over = or_(
        func.coalesce(visits.c.next_id, 0) > visits.c.last_id,  # the person did more since
        steps.c.kind.in_(LEAVING),
        visits.c.last_at < now - IDLE,
    )
    status = case((visits.c.reached == 1, "end"), (over, "gave_up"), else_="in_progress")
    # one statement, so that the window passes over the step history are made once
    both = union_all(
        select(visits.c.route, status.label("status"),
               case((status == "gave_up", steps.c.node)).label("node"),
               func.count().label("n"))
        .select_from(visits.join(steps, steps.c.id == visits.c.last_id))
        .group_by(visits.c.route, "status", "node"),
        select(marked.c.route, literal("node").label("status"), marked.c.node,
               func.count(func.distinct(marked.c.visit)))
        .where(marked.c.route.is_not(None))
        .group_by(marked.c.route, marked.c.node),
    )
    # per node: the answer is recorded on the end node it was given on
    answers = (
        select(StepRecord.route, StepRecord.node, StepRecord.kind, func.count())
        .where(StepRecord.at >= since, StepRecord.kind.in_(("resolved_yes", "resolved_no")))
        .group_by(StepRecord.route, StepRecord.node, StepRecord.kind)
    )

    status_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    gave_up_at: dict[tuple[str, str], int] = defaultdict(int)
    node_visits: dict[tuple[str, str], int] = {}
    for route_id, state, node, count in (await session.execute(both)).all():
        if state == "node":
            node_visits[(route_id, node)] = int(count)
            continue
        status_counts[route_id][state] += int(count)
        if state == "gave_up" and node is not None:
            gave_up_at[(route_id, node)] += int(count)
    answered: dict[tuple[str, str], int] = defaultdict(int)
    answered_at: dict[tuple[str, str | None, str], int] = {}
    for r, n, k, c in (await session.execute(answers)).all():
        answered[(str(r), k)] += int(c)
        answered_at[(str(r), n, k)] = int(c)

    result = []
    menu = scenarios.menu_routes
    for route_id in [*menu, *(r for r in scenarios.routes if r not in menu)]:
        route = scenarios.routes[route_id]
        counts = status_counts.get(route.id, {})
        result.append(Funnel(
            route=route.id, title=route.title,
            started=sum(counts.values()), reached_end=counts.get("end", 0),
            gave_up=counts.get("gave_up", 0), in_progress=counts.get("in_progress", 0),
            yes=answered.get((route.id, "resolved_yes"), 0),
            no=answered.get((route.id, "resolved_no"), 0),
            nodes=[
                NodeCount(node_id, route.nodes[node_id].title or node_id,
                          route.nodes[node_id].end, node_visits.get((route.id, node_id), 0),
                          gave_up_at.get((route.id, node_id), 0))
                for node_id in walk_order(route)
            ],
            endings=[
                Ending(node_id, route.nodes[node_id].title or node_id,
                       answered_at.get((route.id, node_id, "resolved_yes"), 0),
                       answered_at.get((route.id, node_id, "resolved_no"), 0))
                for node_id in walk_order(route) if route.nodes[node_id].end
            ],
        ))
    return result


@dataclass
class DayCounts:
    """One day's visits (those that began that day, their whole extent: a visit crossing
    midnight counts on the day it began), and the answers and steps recorded that day, over
    every route."""

    day: date
    reached_end: int = 0
    gave_up: int = 0
    in_progress: int = 0
    yes: int = 0
    no: int = 0
    steps: int = 0

    @property
    def visits(self) -> int:
        return self.reached_end + self.gave_up + self.in_progress


async def daily(reader: Reader, scenarios: Scenarios, now: datetime, tz: ZoneInfo,
                first_day: date, last_day: date) -> list[DayCounts]:
    """Each day's counts: the day's rollup where there is one, else its own raw rows."""
    now = utc(now)
    basis_id = basis(scenarios, tz)
    days = {first_day + timedelta(days=i): DayCounts(first_day + timedelta(days=i))
            for i in range((last_day - first_day).days + 1)}
    t = StepRollup
    known = list(scenarios.routes)
    rolled = (
        select(t.day, t.node == ROLLUP_MARK, func.sum(t.ended), func.sum(t.gave_up),
               func.sum(t.in_progress), func.sum(t.yes), func.sum(t.no), func.sum(t.steps))
        .where(t.basis == basis_id, t.part == "begin", t.span == "day",
               t.day >= first_day, t.day <= last_day, t.route.in_(known))
        .group_by(t.day, t.node == ROLLUP_MARK)
    )
    marked = (
        select(t.day)
        .where(t.basis == basis_id, t.part == "begin", t.span == "day", t.route == ROLLUP_MARK,
               t.node == ROLLUP_MARK, t.day >= first_day, t.day <= last_day)
    )
    async with reader.session() as session:
        have = {d for (d,) in (await session.execute(marked)).all()}
        for day, whole_route, ended, gave_up, in_progress, yes, no, steps in (
            await session.execute(rolled)
        ).all():
            if day not in have:
                continue
            found = days[day]
            if whole_route:
                found.reached_end += int(ended)
                found.gave_up += int(gave_up)
                found.in_progress += int(in_progress)
            else:
                found.yes += int(yes)
                found.no += int(no)
                found.steps += int(steps)
        for day, found in days.items():
            start = _local_midnight(day, tz)
            if day in have or start > now:
                continue
            end = _local_midnight(day + timedelta(days=1), tz)
            counts = await raw_counts(session, scenarios, reader.dialect, Slice(
                cut=start - IDLE, begin_from=start, begin_to=end, until=None, now=now))
            for route in known:
                found.reached_end += counts.status[(route, "end")]
                found.gave_up += counts.status[(route, "gave_up")]
                found.in_progress += counts.status[(route, "in_progress")]
                found.yes += counts.route_total("yes", route)
                found.no += counts.route_total("no", route)
                found.steps += counts.route_total("steps", route)
    return list(days.values())


def walk_order(route: Route) -> list[str]:
    """The route's nodes breadth-first from its start, the order a funnel lists them in."""
    order = [route.start]
    seen = {route.start}
    for node_id in order:
        node = route.nodes[node_id]
        targets = [b.to for b in node.buttons if b.to is not None]
        if node.input is not None:
            targets += list(node.input.next.values())
        for target in targets:
            if target in route.nodes and target not in seen:
                seen.add(target)
                order.append(target)
    return order + [n for n in route.nodes if n not in seen]


# --- reminders and incidents ------------------------------------------------------------------


async def reminders(session: AsyncSession) -> Reminders:
    by_kind: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(REMINDER_STATUSES, 0))
    totals = dict.fromkeys(REMINDER_STATUSES, 0)
    found = await session.execute(
        select(Reminder.kind, Reminder.status, func.count())
        .group_by(Reminder.kind, Reminder.status)
    )
    for kind, status, count in found.all():
        by_kind[kind][status] = int(count)
        totals[status] = totals.get(status, 0) + int(count)
    first = (await session.execute(
        select(Reminder.next_attempt_at, Reminder.kind)
        .where(Reminder.status == "pending")
        .order_by(Reminder.next_attempt_at)
        .limit(1)
    )).first()
    next_due = NextDue(as_utc(first[0]), first[1]) if first is not None else None
    return Reminders(dict(sorted(by_kind.items())), totals, next_due)


async def incidents(session: AsyncSession, now: datetime) -> Incidents:
    async def since(hours: int) -> list[IncidentCount]:
        total = func.sum(Incident.count).label("total")
        found = await session.execute(
            select(Incident.place, Incident.code, total)
            .where(Incident.hour >= hour_of(now) - timedelta(hours=hours - 1))
            .group_by(Incident.place, Incident.code)
            .order_by(total.desc(), Incident.place, Incident.code)
        )
        return [IncidentCount(p, c, int(n)) for p, c, n in found.all()]

    return Incidents(last_24h=await since(24), last_7d=await since(24 * 7))
