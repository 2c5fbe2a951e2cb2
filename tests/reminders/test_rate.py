"""The dispatcher's rate: a burst plus a full second of steady sending never goes over the
configured requests per second (checked on the limiter's own numbers, not on a clock)."""

from __future__ import annotations

import asyncio

import pytest

from supportnavi.reminders.rate import Rate


@pytest.mark.parametrize("per_second", [2, 20, 200, 2000])
def test_a_burst_plus_one_second_of_draining_stays_within_the_rate(per_second):
    rate = Rate(per_second)
    limiter = rate.limiter
    burst = limiter.max_rate
    drained_in_a_second = limiter.max_rate / limiter.time_period
    unused_turns = rate.chunk - 1  # taken from the bucket by one caller, left for the next
    assert burst + drained_in_a_second + unused_turns <= per_second + 1e-9
    assert drained_in_a_second >= 0.9 * per_second or per_second < 20  # ≥90% usable


def test_a_rate_must_be_positive():
    with pytest.raises(ValueError):
        Rate(0)


class CountingBucket:
    """Stands in for the limiter: counts the turns taken, and how many callers wait at once."""

    def __init__(self, max_rate: float) -> None:
        self.max_rate = max_rate
        self.taken = 0
        self.waiting = 0
        self.most_waiting = 0

    async def acquire(self, amount: float = 1) -> None:
        self.waiting += 1
        self.most_waiting = max(self.most_waiting, self.waiting)
        await asyncio.sleep(0)
        self.waiting -= 1
        self.taken += int(amount)


async def test_callers_share_turns_taken_in_chunks_and_never_use_more_than_taken():
    rate = Rate(2000)
    assert rate.chunk == 10
    bucket = CountingBucket(rate.limiter.max_rate)
    rate._limiter = bucket  # type: ignore[assignment]
    await asyncio.gather(*(rate.acquire() for _ in range(64)))
    taken = bucket.taken - bucket.max_rate  # it starts full: no first burst
    assert taken >= 64  # every request had its turn from the bucket...
    assert taken - 64 < rate.chunk  # ...and fewer than a chunk are left unused
    assert bucket.most_waiting == 1  # one caller waits on the bucket at a time


async def test_a_slow_down_drops_the_turns_taken_from_the_old_bucket():
    rate = Rate(2000)
    await rate.acquire()  # takes a chunk, uses one
    assert rate._banked == rate.chunk - 1
    await rate.slow_down()
    assert rate._banked == 0 and rate.current == 1000
