"""Reminder arithmetic without I/O: the kinds' push times, quiet hours, refusals, dates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from supportnavi.engine.content import Fact
from supportnavi.engine.hours import PushHours
from supportnavi.reminders.planner import days_from_facts
from supportnavi.reminders.rules import (
    Days,
    Plan,
    Refused,
    due_now,
    format_ja,
    parse_date,
    plan,
)

TOKYO = ZoneInfo("Asia/Tokyo")


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TOKYO)


def local(p: Plan) -> list[tuple[int, int, int, int]]:
    return [(t.month, t.day, t.astimezone(TOKYO).hour, t.astimezone(TOKYO).minute)
            for t in p.pushes]


NOW = at(2026, 11, 23, 10, 0)


@pytest.mark.parametrize(
    ("kind", "given", "deadline", "pushes"),
    [
        # trial ends 12/5: 3 days before, and the morning of the last day
        ("trial_cancel", date(2026, 12, 5), date(2026, 12, 5), [(12, 2, 9, 0), (12, 5, 9, 0)]),
        ("prime_renewal", date(2026, 12, 20), date(2026, 12, 20), [(12, 17, 9, 0)]),
        # paused 2026/1/10, day 1: day 365 is 2027/1/9, pushed 14 days before it
        ("prime_pause_end", date(2026, 1, 10), date(2027, 1, 9), [(12, 26, 9, 0)]),
        # the return screen says 12/19: pushed 5 days before (no guide gives a return period,
        # so the deadline is the one the person reads there, never computed)
        ("return_window", date(2026, 12, 19), date(2026, 12, 19), [(12, 14, 9, 0)]),
        # closure mail came today, day 1 of 5: answer by 11/27; tomorrow morning, and day 4
        ("account_close_mail", date(2026, 11, 23), date(2026, 11, 27),
         [(11, 24, 9, 0), (11, 26, 9, 0)]),
        ("support_followup", date(2026, 11, 23), date(2026, 11, 25), [(11, 25, 9, 0)]),
        ("seller_reply", date(2026, 11, 22), date(2026, 11, 24), [(11, 24, 9, 0)]),
    ],
)
def test_each_kind_pushes_at_the_right_instants(kind, given, deadline, pushes):
    result = plan(kind, given, NOW, TOKYO)
    assert isinstance(result, Plan)
    assert result.deadline == deadline
    assert local(result) == pushes
    assert all(t.tzinfo is UTC for t in result.pushes)  # stored in UTC


def test_a_deadline_already_gone_is_refused_as_past():
    result = plan("return_window", date(2026, 10, 1), NOW, TOKYO)
    assert result == Refused("return_window", date(2026, 10, 1), date(2026, 10, 1), "past")


def test_a_return_deadline_is_the_one_given_and_too_close_a_one_is_refused():
    # 11/26 is three days ahead: the 5-day notice would be gone, so the person is told to act
    result = plan("return_window", date(2026, 11, 26), NOW, TOKYO)
    assert result == Refused("return_window", date(2026, 11, 26), date(2026, 11, 26), "too_late")


@pytest.mark.parametrize("reply_days", [3, 5, 7])
def test_within_n_days_counts_the_given_day_as_day_1(reply_days):
    """A mail that came on 11/23, to be answered within N days, is due on day N, and its last
    push comes the day before: never a deadline one day late."""
    came = date(2026, 11, 23)
    result = plan("account_close_mail", came, NOW, TOKYO,
                  days=Days(account_close_reply=reply_days))
    assert isinstance(result, Plan)
    assert (result.deadline - came).days == reply_days - 1
    last = max(result.pushes).astimezone(TOKYO).date()
    assert (result.deadline - last).days == 1


def test_the_renewal_notice_is_its_own_not_the_trials_margin():
    days = Days(trial_margin=3, renewal_notice=7)
    renewal = plan("prime_renewal", date(2026, 12, 20), NOW, TOKYO, days=days)
    trial = plan("trial_cancel", date(2026, 12, 20), NOW, TOKYO, days=days)
    assert isinstance(renewal, Plan) and local(renewal) == [(12, 13, 9, 0)]
    assert isinstance(trial, Plan) and local(trial) == [(12, 17, 9, 0), (12, 20, 9, 0)]


def test_the_day_counts_come_from_the_fact_sheet():
    facts = {
        "trial_cancel_margin_days": Fact(value="3", status="current", sources=["000"]),
        "renewal_notice_days": Fact(value="6", status="current", kind="policy", note="n"),
        "return_notice_days": Fact(value="9", status="current", kind="policy", note="n"),
    }
    days = days_from_facts(facts)
    assert (days.trial_margin, days.renewal_notice, days.return_notice) == (3, 6, 9)
    assert days.account_close_reply == Days().account_close_reply  # absent: the default


def test_a_deadline_too_close_for_any_push_is_refused_as_too_late():
    late_evening = at(2026, 12, 5, 22, 0)
    result = plan("trial_cancel", date(2026, 12, 5), late_evening, TOKYO)
    assert isinstance(result, Refused) and result.why == "too_late"


def test_pushes_already_past_are_dropped_but_later_ones_kept():
    result = plan("trial_cancel", date(2026, 12, 5), at(2026, 12, 3, 12), TOKYO)
    assert isinstance(result, Plan) and local(result) == [(12, 5, 9, 0)]


def test_a_chosen_window_moves_the_pushes():
    evening = PushHours(18, 21)
    result = plan("trial_cancel", date(2026, 12, 5), NOW, TOKYO, hours=evening)
    assert isinstance(result, Plan) and local(result) == [(12, 2, 18, 0), (12, 5, 18, 0)]


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        (at(2026, 12, 2, 3, 0), at(2026, 12, 2, 9, 0)),  # 3 a.m. waits for 9:00
        (at(2026, 12, 2, 9, 0), at(2026, 12, 2, 9, 0)),
        (at(2026, 12, 2, 20, 59), at(2026, 12, 2, 20, 59)),
        (at(2026, 12, 2, 21, 0), at(2026, 12, 3, 9, 0)),  # the window closes at 21:00
        (at(2026, 12, 31, 23, 30), at(2027, 1, 1, 9, 0)),
    ],
)
def test_quiet_hours_wait_for_the_next_window(when, expected):
    assert PushHours().next_open(when) == expected


def test_a_push_found_due_in_the_night_waits_for_the_morning():
    due = at(2026, 12, 2, 9, 0).astimezone(UTC)
    night = at(2026, 12, 2, 23, 10).astimezone(UTC)  # the dispatcher was down all day
    assert due_now(due, night, TOKYO, PushHours()) == at(2026, 12, 3, 9, 0)
    assert due_now(due, at(2026, 12, 2, 8, 0), TOKYO, PushHours()) == due


def test_push_hours_must_be_hours():
    for start, end in ((21, 9), (9, 9), (-1, 5), (9, 25)):
        with pytest.raises(ValueError):
            PushHours(start, end)
    assert PushHours.parse("9-21") == PushHours(9, 21)
    assert PushHours.parse("18-24") == PushHours(18, 24)
    for text in ("99-3", "21-9", "9-", "-9", "9", "9-21-1", "０-5", "1e1-20", ""):
        assert PushHours.parse(text) is None, text
    assert PushHours.stored(None, None) == PushHours.stored(12, None) == PushHours()
    assert PushHours.stored(99, 3) == PushHours.stored(21, 9) == PushHours()
    assert PushHours.stored(7, 21) == PushHours(7, 21)


TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "direction", "expected"),
    [
        ("12月5日", "future", date(2026, 12, 5)),
        ("１２月５日", "future", date(2026, 12, 5)),
        ("2026/12/5", "future", date(2026, 12, 5)),
        ("２０２６年１２月５日です", "future", date(2026, 12, 5)),
        ("2027-01-10", "future", date(2027, 1, 10)),
        ("1/10", "future", date(2027, 1, 10)),  # already past this year: next year's
        ("11月20日に届いた", "past", date(2026, 11, 20)),
        ("12月20日", "past", date(2025, 12, 20)),  # a delivery cannot be in the future
        ("11月23日", "past", TODAY),
        ("11月23日", "future", TODAY),
        ("2月29日", "future", date(2028, 2, 29)),
        ("2月30日", "future", None),
        ("13月1日", "future", None),
        ("2026/2/30", "future", None),
        ("あした", "future", None),
        ("", "past", None),
    ],
)
def test_typed_dates(text, direction, expected):
    assert parse_date(text, TODAY, direction) == expected


@pytest.mark.parametrize(
    ("day", "written"),
    [(date(2026, 12, 5), "12月5日(土)"), (date(2026, 11, 23), "11月23日(月)"),
     (date(2027, 1, 1), "1月1日(金)")],
)
def test_dates_are_written_the_japanese_way(day, written):
    assert format_ja(day) == written


@pytest.mark.parametrize(
    ("today", "day", "written"),
    [(date(2026, 12, 1), date(2027, 1, 5), "1月5日(火)"),  # next month, though next year
     (date(2026, 1, 3), date(2025, 12, 28), "12月28日(日)"),  # last week, last year
     (date(2026, 12, 1), date(2025, 1, 1), "2025年1月1日(水)"),  # long ago: the year matters
     (date(2026, 12, 1), date(2027, 6, 1), "2027年6月1日(火)"),
     (date(2026, 12, 1), date(2026, 6, 1), "6月1日(月)")],  # this year
)
def test_a_far_date_in_another_year_carries_its_year(today, day, written):
    assert format_ja(day, today) == written


def test_a_row_with_a_start_and_no_end_is_planned_and_sent_with_the_same_hours():
    """Planned with 9-21 but dispatched with 12-21 (the start kept, the end defaulted): the
    person was told pushes come from 9:00, and they came at 12:00. Half a window is no window:
    one reading of a row now serves both."""
    from supportnavi.conversation.service import _window
    from supportnavi.store.batch import UserRow

    row = UserRow("U" + "0" * 32, "active", 12, None, new=False)
    assert _window(row) == PushHours.stored(12, None) == PushHours()


def test_a_window_to_midnight_is_read_alike_by_the_planner_and_the_dispatcher():
    """`24` was 23:59:59 for the planner and time.max for the dispatcher: a push found due in
    the last second of the day went out for one and waited a day for the other."""
    last_second = at(2026, 12, 2, 23, 59).replace(second=59, microsecond=500_000)
    assert PushHours(18, 24).next_open(last_second) == last_second
    due = due_now(last_second.astimezone(UTC), last_second.astimezone(UTC), TOKYO,
                  PushHours.stored(18, 24))
    assert due == last_second
