"""What `advance()` may know beyond the state, handed in by the service: the date rules (a
`Planner`), the sentence classifier, the person's push hours and reminders. Protocols and
plain values only, so that the engine stays pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol

from supportnavi.engine.hours import PushHours

# --- reminders, as the engine sees them ---------------------------------------------------------
# The date rules live in supportnavi.reminders; the service hands the engine a Planner that
# applies them, and the person's reminders, so that advance() stays pure.


@dataclass(frozen=True)
class ReminderInfo:
    """One of the person's reminders: what the list shows and a stop button names."""

    kind: str
    given: date
    deadline: date
    next_push: datetime  # UTC


@dataclass(frozen=True)
class DatePlan:
    """The planner's answer for a date: the pushes, or why there are none."""

    deadline: date
    pushes: tuple[datetime, ...] = ()  # UTC
    refused: Literal["past", "too_late"] | None = None


class Planner(Protocol):
    def today(self, now: datetime) -> date: ...

    def parse(self, kind: str, text: str, now: datetime) -> date | None: ...

    def usable(self, given: date, now: datetime) -> bool:
        """Whether a date lies near enough to today for any reminder (a typed 9999年 does not)."""
        ...

    def bounds(self, kind: str, now: datetime) -> tuple[date, date, date]:
        """The date picker's initial, min and max dates for this kind."""
        ...

    def plan(self, kind: str, given: date, now: datetime, hours: PushHours) -> DatePlan: ...

    def day(self, day: date, now: datetime) -> str:
        """12月5日(土); with its year when far from today in another year"""
        ...

    def moment(self, at: datetime, now: datetime) -> str:
        """12月2日(水) 9:00, in the bot's time zone"""
        ...


# --- understanding typed text -------------------------------------------------------------------
# The similarity fallback (a sentence encoder) lives in supportnavi.understanding; the service
# hands the engine a Classifier, so that advance() stays pure and never loads a model.

class Classifier(Protocol):
    def rank(self, text: str, most: int = 8) -> list[tuple[str, float]]:
        """The targets (`route` or `route.node`, or UNKNOWN) of the examples most similar to
        normalised text, each once, best first, with their similarity."""
        ...

    def classify(self, text: str) -> tuple[str, float]:
        """The nearest route for normalised text, or UNKNOWN below the classifier's threshold,
        with its similarity."""
        ...


@dataclass(frozen=True)
class Context:
    """What advance() may know beyond the state. `reminders` and `skipped` are None when the
    service has not loaded them; an input that needs them asks (Outcome.needs_reminders)."""

    planner: Planner | None = None
    classifier: Classifier | None = None  # None: typed text is routed by names and keywords only
    # how typed text reads (a morphological analyser); None: as it is written
    reader: Callable[[str], str] | None = None
    window: PushHours = field(default_factory=PushHours)
    reminders: tuple[ReminderInfo, ...] | None = None  # pending, soonest first
    skipped: tuple[ReminderInfo, ...] | None = None  # stopped while the person had blocked us
    # days the operators' inbox keeps texts the bot could not place (SUPPORTNAVI_UNMATCHED_DAYS);
    # 0: not kept, and the help does not mention it
    unmatched_days: int = 0
