"""The hours a person accepts pushes in: one type, one reading.

`PushHours(9, 21)` is from 9:00 up to, not including, 21:00 in the bot's time zone
(`SUPPORTNAVI_TZ`); an end of 24 is midnight. The same rule serves the buttons that choose them
(`do: "window:9-21"`), the planner that places a reminder's pushes, the dispatcher that sends
them, and the rows they are kept in (`users.push_start_hour`, `push_end_hour`): each used to
read them its own way, and two of the ways disagreed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo


@dataclass(frozen=True, order=True)
class PushHours:
    start: int = 9
    end: int = 21

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end <= 24:
            raise ValueError(f"push hours must be 0 <= start < end <= 24, not "
                             f"{self.start}-{self.end}")

    @classmethod
    def parse(cls, text: str) -> PushHours | None:
        """「9-21」 (what a button's `do: "window:9-21"` carries), or None."""
        start, sep, end = text.partition("-")
        first, last = _hour(start), _hour(end)
        if not sep or first is None or last is None or not 0 <= first < last <= 24:
            return None
        return cls(first, last)

    @classmethod
    def stored(cls, start: int | None, end: int | None,
               default: PushHours | None = None) -> PushHours:
        """A person's hours as kept in their row: both set and sensible, or the default (half
        of a window, or one out of range, is none)."""
        if start is None or end is None or not 0 <= start < end <= 24:
            return default or cls()
        return cls(start, end)

    @property
    def text(self) -> str:
        return f"{self.start}-{self.end}"

    def contains(self, at: datetime) -> bool:
        """Whether a moment (in the person's zone) falls inside these hours."""
        return self.start <= at.hour < self.end

    def opening(self, day: date, zone: tzinfo | None) -> datetime:
        return datetime.combine(day, time(self.start), zone)

    def closing(self, day: date, zone: tzinfo | None) -> datetime:
        """When the hours end on `day`: the first moment no longer in them."""
        return datetime.combine(day, time(0), zone) + timedelta(hours=self.end)

    def next_open(self, at: datetime) -> datetime:
        """`at` if it falls inside the hours, else the next time they open (same zone)."""
        if self.contains(at):
            return at
        day = at.date() if at.hour < self.start else at.date() + timedelta(days=1)
        return self.opening(day, at.tzinfo)


def _hour(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdecimal() and len(text) <= 2 else None
