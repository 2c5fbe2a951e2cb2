"""The dispatcher's rate: a burst plus a full second of steady sending never goes over the
configured requests per second (checked on the limiter's own numbers, not on a clock)."""

from __future__ import annotations

import pytest

from supportnavi.reminders.dispatcher import Rate


@pytest.mark.parametrize("per_second", [2, 20, 200, 2000])
def test_a_burst_plus_one_second_of_draining_stays_within_the_rate(per_second):
    limiter = Rate(per_second).limiter
    burst = limiter.max_rate
    drained_in_a_second = limiter.max_rate / limiter.time_period
    assert burst + drained_in_a_second <= per_second + 1e-9
    assert drained_in_a_second >= 0.9 * per_second or per_second < 20  # ≥90% usable


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError):
        Rate(0)
