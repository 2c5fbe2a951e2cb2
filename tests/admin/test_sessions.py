"""Dashboard sessions live in the database: logout ends one for every copy of its cookie, an
expired or unknown one lets nobody in, a login clears the expired rows away, and a new token
ends them all. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, update

from supportnavi.store.models import AdminSession
from supportnavi.web.admin import COOKIE, _cookie
from tests.admin.conftest import ADMIN_TOKEN
from tests.support.db import session_at


def client(bot: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.url, timeout=15)


async def log_in(http: httpx.AsyncClient) -> str:
    answer = await http.post("/admin/login", data={"token": ADMIN_TOKEN})
    assert answer.status_code == 303, answer.text
    cookie = http.cookies.get(COOKIE)
    assert cookie is not None
    return cookie


async def rows(db_url: str) -> list[AdminSession]:
    async with session_at(db_url) as session:
        return list((await session.execute(select(AdminSession))).scalars())


async def test_logout_ends_the_session_for_every_copy_of_the_cookie(admin_bot):
    async with client(admin_bot) as http, client(admin_bot) as copy:
        cookie = await log_in(http)
        copy.cookies.set(COOKIE, cookie, path="/admin")  # kept by someone, or a second tab
        assert (await copy.get("/admin")).status_code == 200
        assert len(await rows(admin_bot.db_url)) == 1

        assert (await http.post("/admin/logout")).status_code == 303
        assert await rows(admin_bot.db_url) == []
        refused = await copy.get("/admin/api/summary")
        assert refused.status_code == 401
        assert "log in again" in refused.json()["detail"]
        http.cookies.set(COOKIE, cookie, path="/admin")  # the browser's own, put back
        assert (await http.get("/admin")).status_code == 401


async def test_an_expired_session_is_refused_and_a_login_deletes_the_expired_rows(admin_bot):
    async with client(admin_bot) as http:
        cookie = await log_in(http)
        [row] = await rows(admin_bot.db_url)
        assert timedelta(hours=11, minutes=59) < row.expires_at - row.created_at <= timedelta(
            hours=12)
        async with session_at(admin_bot.db_url) as session:
            await session.execute(update(AdminSession).values(
                expires_at=datetime.now(UTC) - timedelta(seconds=1)))
            await session.commit()
        refused = await http.get("/admin/api/summary")
        assert refused.status_code == 401 and "expired" in refused.json()["detail"]

        other = await log_in(http)
        assert other != cookie
        assert [r.id for r in await rows(admin_bot.db_url)] == [other.partition(".")[0]]
        assert (await http.get("/admin")).status_code == 200


async def test_an_unknown_session_or_one_signed_with_another_token_lets_nobody_in(admin_bot):
    async with client(admin_bot) as http:
        cookie = await log_in(http)
        session_id = cookie.partition(".")[0]
        for forged in (_cookie(ADMIN_TOKEN, "made-up-session-id"),  # signed, but no such row
                       _cookie("another-token-0123456789", session_id),  # the token changed
                       f"{session_id}.{'0' * 64}",
                       session_id,
                       cookie + "0"):
            http.cookies.set(COOKIE, forged, path="/admin")
            answer = await http.get("/admin/api/summary")
            assert answer.status_code == 401, forged
        http.cookies.set(COOKIE, cookie, path="/admin")
        assert (await http.get("/admin/api/summary")).status_code == 200


async def test_logout_without_a_session_or_with_a_forged_one_ends_nothing(admin_bot):
    async with client(admin_bot) as http, client(admin_bot) as stranger:
        await log_in(http)
        assert (await stranger.post("/admin/logout")).status_code == 303
        [row] = await rows(admin_bot.db_url)
        stranger.cookies.set(COOKIE, f"{row.id}.{'0' * 64}", path="/admin")  # id without key
        assert (await stranger.post("/admin/logout")).status_code == 303
        assert len(await rows(admin_bot.db_url)) == 1
        assert (await http.get("/admin")).status_code == 200
