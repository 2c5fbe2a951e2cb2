"""How many wrong dashboard tokens are heard: without a limit, a guesser tries well over a
thousand a second.

`PER_ADDRESS` wrong tokens (the login form's or a bearer header's) from one address within
`WINDOW_SECONDS` lock that address out for `WINDOW_SECONDS`; `EVERYONE` from all addresses
together within the window lock out every token check for the rest of it, so that a guesser
with many addresses is slowed too. A locked-out attempt is refused before its token is
compared: it learns nothing, and it does not count again. A right token clears its address's
count. Sessions (a cookie) need no token and are never throttled, so an operator already
logged in keeps the dashboard while a guesser holds the ceiling.

The counts live in this process, not the database: a failure must cost a guesser's target
nothing but memory (on SQLite a write per guess would take the lock the webhook needs), and
with `serve --workers N` each worker counts apart, so the limits are N times these. The
memory is bounded: at most `EVERYONE` failures are counted per window, and an address whose
failures are older than the window and that is not locked out is forgotten.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

PER_ADDRESS = 5
EVERYONE = 100
WINDOW_SECONDS = 300
ADDRESS_MAX = 64  # what uvicorn gives is an IP; anything else is cut to this


@dataclass(frozen=True)
class Refusal:
    retry_after: int  # whole seconds, at least 1: the Retry-After header
    reason: str


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)  # within the window, oldest first
    locked_until: float = 0.0

    def locked_for(self, now: float) -> float:
        return self.locked_until - now

    def add(self, now: float, limit: int, window: float) -> None:
        while self.times and self.times[0] <= now - window:
            self.times.popleft()
        self.times.append(now)
        if len(self.times) >= limit:
            self.locked_until = now + window
            self.times.clear()  # the lockout replaces them: after it, a fresh count

    def stale(self, now: float, window: float) -> bool:
        return self.locked_until <= now and (not self.times or self.times[-1] <= now - window)


class Throttle:
    def __init__(self, *, per_address: int = PER_ADDRESS, everyone: int = EVERYONE,
                 window: float = WINDOW_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_address = per_address
        self.everyone = everyone
        self.window = window
        self.clock = clock
        self._addresses: dict[str, _Failures] = {}
        self._everyone = _Failures()

    def check(self, address: str | None) -> Refusal | None:
        """None: compare this address's token. Otherwise why not, and for how long."""
        now = self.clock()
        mine = self._addresses.get(_key(address))
        if mine is not None and (wait := mine.locked_for(now)) > 0:
            seconds = _seconds(wait)
            return Refusal(seconds, "too many wrong tokens from this address: try again in "
                                    f"{seconds} s")
        if (wait := self._everyone.locked_for(now)) > 0:
            seconds = _seconds(wait)
            return Refusal(seconds, "too many wrong tokens from every address together: token "
                                    f"checks are paused, try again in {seconds} s (a logged-in "
                                    "session still works)")
        return None

    def failed(self, address: str | None) -> None:
        now = self.clock()
        if len(self._addresses) >= 2 * self.everyone:
            self._forget(now)
        self._addresses.setdefault(_key(address), _Failures()).add(
            now, self.per_address, self.window)
        self._everyone.add(now, self.everyone, self.window)

    def succeeded(self, address: str | None) -> None:
        self._addresses.pop(_key(address), None)

    def _forget(self, now: float) -> None:
        for key in [k for k, v in self._addresses.items() if v.stale(now, self.window)]:
            del self._addresses[key]


def _key(address: str | None) -> str:
    """An IPv4 address as it is; an IPv6 one by its /64, which one subscriber usually holds
    whole (counted one by one, its 2^64 addresses would never be locked out)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:ADDRESS_MAX]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:203.0.113.7 is 203.0.113.7
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))
