"""Wrong dashboard tokens are throttled, from the login form and in a bearer header alike: a few
from one address lock that address out (429, Retry-After, a reason) without the token being
compared at all, until the lockout passes; other addresses get in meanwhile; and many
addresses together meet one ceiling. The addresses are X-Forwarded-For from 127.0.0.1, which
uvicorn trusts by default, as it would a proxy's."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from supportnavi.admin.throttle import EVERYONE, PER_ADDRESS, WINDOW_SECONDS
from supportnavi.web.admin import COOKIE
from tests.admin.conftest import ADMIN_TOKEN

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


class Clock:
    """The throttle's clock, moved by the test: a lockout passes without a wait."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(admin_bot: Any) -> Clock:
    fixed = Clock()
    admin_bot.app.state.services.admin_throttle.clock = fixed
    return fixed


def client(bot: Any, address: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.url, timeout=15,
                             headers={"X-Forwarded-For": address})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def log_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    return await http.post("/admin/login", data={"token": token})


def compared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every token comparison from here on."""
    import supportnavi.web.admin as admin

    calls: list[str] = []
    real = admin._same

    def counting(given: str, token: str) -> bool:
        calls.append(given)
        return real(given, token)

    monkeypatch.setattr(admin, "_same", counting)
    return calls


async def test_wrong_tokens_from_one_address_lock_it_out_and_others_still_get_in(
        admin_bot, monkeypatch):
    async with client(admin_bot, "203.0.113.7") as guesser, \
            client(admin_bot, "198.51.100.20") as operator:
        for i in range(PER_ADDRESS):
            wrong = await log_in(guesser, f"guess-number-{i:04d}-xxxx")
            assert wrong.status_code == 401, i
        calls = compared(monkeypatch)
        locked = await log_in(guesser, ADMIN_TOKEN)  # even the right one, now
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) == WINDOW_SECONDS
        assert "set-cookie" not in locked.headers
        assert "しばらく" in locked.text and "トークンが違います" not in locked.text
        api = await guesser.get("/admin/api/summary", headers=bearer(ADMIN_TOKEN))
        assert api.status_code == 429 and api.headers["retry-after"]
        assert "too many wrong tokens from this address" in api.json()["detail"]
        page = await guesser.get("/admin", headers=bearer(ADMIN_TOKEN))
        assert page.status_code == 429 and "<form" in page.text
        assert calls == []  # refused before any comparison
        # another address is not held back by this one's failures
        assert (await log_in(operator, ADMIN_TOKEN)).status_code == 303
        assert (await operator.get("/admin")).status_code == 200
        assert (await operator.get("/admin/api/summary",
                                   headers=bearer(ADMIN_TOKEN))).status_code == 200


async def test_the_lockout_passes_and_then_the_right_token_works(admin_bot, clock):
    async with client(admin_bot, "203.0.113.8") as http:
        for _ in range(PER_ADDRESS):
            assert (await log_in(http, "not-the-token-at-all")).status_code == 401
        clock.now += WINDOW_SECONDS / 3
        locked = await log_in(http, ADMIN_TOKEN)
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) == WINDOW_SECONDS - WINDOW_SECONDS // 3
        clock.now += WINDOW_SECONDS  # the lockout is over
        assert (await log_in(http, ADMIN_TOKEN)).status_code == 303
        assert http.cookies.get(COOKIE)


async def test_wrong_bearer_tokens_count_as_wrong_logins_do(admin_bot, clock):
    async with client(admin_bot, "203.0.113.9") as http:
        for i in range(PER_ADDRESS - 1):
            answer = await http.get("/admin/api/summary", headers=bearer(f"wrong-{i}"))
            assert answer.status_code == 401
        assert (await log_in(http, "and-one-by-the-form")).status_code == 401
        locked = await http.get("/admin/api/summary", headers=bearer(ADMIN_TOKEN))
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) == WINDOW_SECONDS


async def test_a_right_token_clears_the_addresses_count(admin_bot, clock):
    async with client(admin_bot, "203.0.113.10") as http:
        for _ in range(2):
            for _ in range(PER_ADDRESS - 1):  # a typo or four, then the right token
                assert (await log_in(http, "a-typo-in-the-token")).status_code == 401
            assert (await log_in(http, ADMIN_TOKEN)).status_code == 303


async def test_addresses_of_one_ipv6_64_count_as_one(admin_bot, clock):
    for i in range(PER_ADDRESS):
        async with client(admin_bot, f"2001:db8:0:1::{i + 1:x}") as http:
            assert (await log_in(http, "not-the-token-at-all")).status_code == 401
    async with client(admin_bot, "2001:db8:0:1:ffff::99") as http:
        assert (await log_in(http, ADMIN_TOKEN)).status_code == 429
    async with client(admin_bot, "2001:db8:0:2::1") as http:  # the next /64 along
        assert (await log_in(http, ADMIN_TOKEN)).status_code == 303


async def test_many_addresses_together_meet_one_ceiling(admin_bot, clock):
    async with client(admin_bot, "192.0.2.250") as operator:
        assert (await log_in(operator, ADMIN_TOKEN)).status_code == 303  # a session from before
        for i in range(EVERYONE):
            async with client(admin_bot, f"10.{i // 250}.{i % 250}.1") as guesser:
                assert (await log_in(guesser, "distributed-guess-000")).status_code == 401, i
        async with client(admin_bot, "192.0.2.251") as newcomer:
            locked = await log_in(newcomer, ADMIN_TOKEN)
            assert locked.status_code == 429 and locked.headers["retry-after"]
            api = await newcomer.get("/admin/api/summary", headers=bearer(ADMIN_TOKEN))
            assert api.status_code == 429
            assert "from every address" in api.json()["detail"]
        # a session needs no token: the operator who logged in before keeps the dashboard
        assert (await operator.get("/admin")).status_code == 200
        clock.now += WINDOW_SECONDS
        async with client(admin_bot, "192.0.2.251") as newcomer:
            assert (await log_in(newcomer, ADMIN_TOKEN)).status_code == 303


async def test_wrong_tokens_sent_all_at_once_are_not_compared_past_the_limit(admin_bot, clock):
    """Many at once, each on its own connection, their bodies arriving slowly: the count is
    checked with the token in hand, not before the form was read, so a burst gets no more
    comparisons than one guess after another."""
    async def slow_form():  # the form in two pieces: the server waits for the second
        yield b"token=not-the-"
        await asyncio.sleep(0.3)
        yield b"token-at-all"

    async def guess() -> int:
        async with client(admin_bot, "203.0.113.11") as http:
            answer = await http.post("/admin/login", content=slow_form(), headers={
                "content-type": "application/x-www-form-urlencoded"})
            return answer.status_code

    statuses = await asyncio.gather(*(guess() for _ in range(4 * PER_ADDRESS)))
    assert statuses.count(401) == PER_ADDRESS, statuses
    assert statuses.count(429) == 3 * PER_ADDRESS
