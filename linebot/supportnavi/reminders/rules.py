"""Deadline reminders, as pure date arithmetic: what a person gives, when to push, and when not.

A reminder kind turns one date the person gives (a trial's end, the day a parcel came, ...)
into a deadline and one or more push instants. Pushes fall in the person's push hours
(`engine.hours.PushHours`, 9:00-21:00 by default): one that would land in the quiet hours
waits for the next allowed time. A date already past, or a deadline so close that no push
would come before it, is refused with a reason instead of scheduled. Everything is computed
in the bot's time zone (`SUPPORTNAVI_TZ`) and handed back in UTC.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from supportnavi.engine.hours import PushHours
from supportnavi.engine.text import clean

Kind = Literal[
    "trial_cancel", "prime_renewal", "prime_pause_end", "return_window", "account_close_mail",
    "support_followup", "seller_reply",
]
Refusal = Literal["past", "too_late"]
# Whether the date a person gives lies ahead (a trial's end) or behind (the day a parcel came);
# it decides the year of a date typed without one.
Direction = Literal["future", "past"]

WEEKDAYS = "月火水木金土日"


@dataclass(frozen=True)
class Rule:
    """How one kind turns the given date into a deadline and its pushes.

    `deadline_days` is added to the given date; each notice is a number of days before the
    deadline (negative: after the given date, for kinds that remind of a silence).
    """

    given: Direction
    deadline_days: int
    notices_before: tuple[int, ...]


@dataclass(frozen=True)
class Days:
    """The day counts the rules need, from the fact sheet (see `days_from_facts`)."""

    trial_margin: int = 3
    renewal_notice: int = 3
    pause_max: int = 365
    account_close_reply: int = 5
    followup_hours: int = 48
    seller_wait: int = 2
    pause_notice: int = 14
    return_notice: int = 5


def within(days: int) -> int:
    """How many days after the given day "within `days` days" ends. The given day counts as
    day 1, the safe reading: a mail that came on the 1st, to be answered within 5 days, is
    answered by the 5th, not the 6th."""
    return days - 1


def rules(days: Days) -> dict[Kind, Rule]:
    followup_days = -(-days.followup_hours // 24)  # 48 hours -> 2 days, rounded up
    reply_by = within(days.account_close_reply)
    return {
        # the person gives the trial's last day: push 3 days before, and that morning
        "trial_cancel": Rule("future", 0, (days.trial_margin, 0)),
        # the renewal day: its own notice, since the guides' 3 days are about trials only
        "prime_renewal": Rule("future", 0, (days.renewal_notice,)),
        # the day the pause began is day 1: push 14 days before day 365
        "prime_pause_end": Rule("past", within(days.pause_max), (days.pause_notice,)),
        # the return deadline the order's own return screen shows (no guide states a return
        # period, so the bot never computes one): push 5 days before it
        "return_window": Rule("future", 0, (days.return_notice,)),
        # the day the closure mail came is day 1 of 5: the next morning, and on day 4
        "account_close_mail": Rule("past", reply_by, (reply_by - 1, 1)),
        # the day a mail or form went out: when 48 hours have passed with no answer
        "support_followup": Rule("past", followup_days, (0,)),
        # the day the seller was contacted: after 2 days, offer the A-to-z guarantee
        "seller_reply": Rule("past", days.seller_wait, (0,)),
    }


@dataclass(frozen=True)
class Plan:
    kind: Kind
    given: date
    deadline: date
    pushes: tuple[datetime, ...]  # UTC, ascending, each inside the window


@dataclass(frozen=True)
class Refused:
    kind: Kind
    given: date
    deadline: date
    why: Refusal  # past: the deadline is gone; too_late: no push would come before it


def plan(
    kind: Kind, given: date, now: datetime, tz: ZoneInfo, *, days: Days | None = None,
    hours: PushHours | None = None,
) -> Plan | Refused:
    """When to push for `kind`, given the person's date; or why not."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    rule = rules(days or Days())[kind]
    hours = hours or PushHours()
    deadline = given + timedelta(days=rule.deadline_days)
    local_now = now.astimezone(tz)
    if deadline < local_now.date():
        return Refused(kind, given, deadline, "past")
    # the last moment a push still helps: the end of the person's hours on the deadline day
    last_useful = hours.closing(deadline, tz)
    pushes: list[datetime] = []
    for before in rule.notices_before:
        day = deadline - timedelta(days=before)
        at = hours.next_open(hours.opening(day, tz))
        if at < local_now:
            continue
        if at <= last_useful and at not in pushes:
            pushes.append(at)
    if not pushes:
        return Refused(kind, given, deadline, "too_late")
    return Plan(kind, given, deadline, tuple(sorted(p.astimezone(UTC) for p in pushes)))


def due_now(at: datetime, now: datetime, tz: ZoneInfo, hours: PushHours) -> datetime:
    """When a push due at `at` may go out, seen from `now`: a push found due during the quiet
    hours (a dispatcher that was down, a retry) waits for the person's hours to open."""
    moment = max(at, now).astimezone(tz)
    return hours.next_open(moment).astimezone(UTC)


# --- dates as people write and read them ----------------------------------------------------

_YMD = re.compile(r"(\d{4})\s*[年/\-.]\s*(\d{1,2})\s*[月/\-.]\s*(\d{1,2})\s*日?")
_MD = re.compile(r"(\d{1,2})\s*[月/]\s*(\d{1,2})\s*日?")


def parse_date(text: str, today: date, direction: Direction) -> date | None:
    """「12月5日」, 「2026/12/5」, 「2026年12月5日」, 「12/5」 (full-width too), or None.

    A date without a year is the nearest one in `direction`: for a trial's end it is the next
    12月5日 on or after today; for the day a parcel came, the last one on or before today.
    """
    text = clean(text)
    if (m := _YMD.search(text)) is not None:
        return _date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if (m := _MD.search(text)) is None:
        return None
    month, day = int(m.group(1)), int(m.group(2))
    candidate = _date(today.year, month, day)
    if candidate is None and (month, day) != (2, 29):
        return None
    years = (0, 1, 2, 3, 4) if direction == "future" else (0, -1, -2, -3, -4)
    for offset in years:  # 2月29日 may be up to four years away
        found = _date(today.year + offset, month, day)
        if found is None:
            continue
        if (direction == "future" and found >= today) or (direction == "past" and found <= today):
            return found
    return None


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


# A date further than this from today, in another year, is written with its year.
YEAR_SHOWN_BEYOND = timedelta(days=92)


def format_ja(day: date, today: date | None = None) -> str:
    """12月5日(土): how the bot writes a date; 2025年1月1日(水) when it lies in another year and
    more than three months away from `today` (「1月5日」 said in December means next month)."""
    written = f"{day.month}月{day.day}日({WEEKDAYS[day.weekday()]})"
    if today is not None and day.year != today.year and abs(day - today) > YEAR_SHOWN_BEYOND:
        return f"{day.year}年{written}"
    return written
