"""The engine's Planner, made of this package's date rules and the fact sheet's day counts."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import cast, get_args
from zoneinfo import ZoneInfo

from supportnavi.engine.content import Fact
from supportnavi.engine.hours import PushHours
from supportnavi.engine.ports import DatePlan
from supportnavi.reminders.rules import (
    Days,
    Kind,
    Plan,
    format_ja,
    parse_date,
    plan,
    rules,
)

# How far the date picker reaches from today: a pause began up to a year ago; a renewal is at
# most a year ahead.
PICKER_REACH = timedelta(days=400)
# A date further than this from today, typed or sent as picked, is no date any reminder can use:
# the ordinary "could not read the date" answer, no row (and no arithmetic near date.max).
HORIZON = timedelta(days=2 * 366)
KINDS: tuple[str, ...] = get_args(Kind)


def days_from_facts(facts: dict[str, Fact]) -> Days:
    """The day counts the rules use, from scenarios/facts.yaml, so that one edit there changes
    both what the bot says and when it pushes."""
    defaults = Days()

    def number(key: str, default: int) -> int:
        fact = facts.get(key)
        return int(fact.value) if fact is not None and fact.value.isdigit() else default

    return Days(
        trial_margin=number("trial_cancel_margin_days", defaults.trial_margin),
        renewal_notice=number("renewal_notice_days", defaults.renewal_notice),
        pause_max=number("pause_max_days", defaults.pause_max),
        account_close_reply=number("account_close_reply_days", defaults.account_close_reply),
        followup_hours=number("email_followup_hours", defaults.followup_hours),
        seller_wait=number("seller_reply_wait_days", defaults.seller_wait),
        pause_notice=number("pause_notice_days", defaults.pause_notice),
        return_notice=number("return_notice_days", defaults.return_notice),
    )


class RulesPlanner:
    def __init__(self, tz: ZoneInfo, days: Days) -> None:
        self.tz = tz
        self.days = days
        self._rules = rules(days)

    def _kind(self, kind: str) -> Kind:
        if kind not in KINDS:
            raise ValueError(f"unknown reminder kind {kind!r}")
        return cast(Kind, kind)

    def today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def parse(self, kind: str, text: str, now: datetime) -> date | None:
        direction = self._rules[self._kind(kind)].given
        return parse_date(text, self.today(now), direction)

    def usable(self, given: date, now: datetime) -> bool:
        return abs(given - self.today(now)) <= HORIZON

    def bounds(self, kind: str, now: datetime) -> tuple[date, date, date]:
        today = self.today(now)
        if self._rules[self._kind(kind)].given == "future":
            return today, today, today + PICKER_REACH
        return today, today - PICKER_REACH, today

    def plan(self, kind: str, given: date, now: datetime, hours: PushHours) -> DatePlan:
        result = plan(self._kind(kind), given, now, self.tz, days=self.days, hours=hours)
        if isinstance(result, Plan):
            return DatePlan(result.deadline, result.pushes)
        return DatePlan(result.deadline, refused=result.why)

    def day(self, day: date, now: datetime) -> str:
        return format_ja(day, self.today(now))

    def moment(self, at: datetime, now: datetime) -> str:
        local = at.astimezone(self.tz)
        return f"{format_ja(local.date(), self.today(now))} {local.hour}:{local.minute:02d}"
