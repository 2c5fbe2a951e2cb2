"""LINE's rate limits as the dispatcher keeps them: at most so many requests in any one second,
halved for a while after LINE says the rate was exceeded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from aiolimiter import AsyncLimiter

log = logging.getLogger(__name__)


class Rate:
    """At most `per_second` requests in any one-second window.

    aiolimiter's leaky bucket drains at 95% of the rate and holds at most 5% of it as a burst,
    so a burst plus a full second of steady sending still stays under the limit (for rates of
    2/s and up). `slow_down()` halves it (a 429 from LINE) until `slowdown` seconds pass.

    Requests take their turn from the bucket `chunk` at a time (a tenth of the burst: 10 at
    2,000/s), and the next callers use what one took: one limiter wait per ten requests
    instead of one each, which were an eighth of a push's CPU with 64 sends waiting. At most
    `chunk - 1` taken turns are unused at any moment, so the bucket drains that much slower.
    """

    BURST = 0.05

    def __init__(
        self, per_second: float, *, slowdown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_second <= 0:
            raise ValueError("a rate must be positive")
        self.limit = per_second
        self.current = per_second
        self.slowdown = slowdown
        self.slow_until: float | None = None
        self.slowdowns = 0
        self._clock = clock
        self._last_halved: float | None = None
        self._limiter, self.chunk = self._make(per_second)
        self._banked = 0  # turns taken from the bucket, not yet used
        self._refill = asyncio.Lock()
        self._primed = False

    @classmethod
    def _make(cls, rate: float) -> tuple[AsyncLimiter, int]:
        burst = max(1.0, rate * cls.BURST)
        chunk = max(1, int(burst // 10))
        drain = max(rate - burst - (chunk - 1), rate / 2)
        return AsyncLimiter(burst, burst / drain), chunk

    @property
    def limiter(self) -> AsyncLimiter:
        return self._limiter

    async def acquire(self) -> None:
        if self.slow_until is not None and self._clock() >= self.slow_until:
            self.slow_until = None
            await self._set(self.limit)  # the slow-down is over
            log.info("LINE rate back to %.0f requests/s", self.limit)
        while self._banked <= 0:
            async with self._refill:  # one caller waits on the bucket, the others on it
                if not self._primed:
                    # Start full, as after a slow-down: a process that just started (or came
                    # back after a crash) cannot know what went out in the last second, and a
                    # first burst on top of a full second was the one window LINE saw over
                    # its limit.
                    self._primed = True
                    await self._limiter.acquire(self._limiter.max_rate)
                if self._banked > 0:
                    break
                limiter, chunk = self._limiter, self.chunk
                await limiter.acquire(chunk)
                if limiter is not self._limiter:
                    return  # slowed down meanwhile: use one turn, keep none
                self._banked += chunk
        self._banked -= 1

    async def slow_down(self) -> None:
        """LINE answered 429 for the rate: halve it, at most once a second (requests already in
        flight answer 429 together), down to 1/64 of the limit."""
        now = self._clock()
        self.slow_until = now + self.slowdown
        if self._last_halved is not None and now - self._last_halved < 1.0:
            return
        self._last_halved = now
        self.slowdowns += 1
        await self._set(max(self.current / 2, self.limit / 64))
        log.warning("LINE says the rate limit was exceeded: %.0f requests/s for %.0f s",
                    self.current, self.slowdown)

    async def _set(self, rate: float) -> None:
        self.current = rate
        limiter, chunk = self._make(rate)
        # start full: a new bucket must not grant a fresh burst on top of what just went out
        await limiter.acquire(limiter.max_rate)
        self._limiter, self.chunk, self._banked = limiter, chunk, 0
        self._primed = True
