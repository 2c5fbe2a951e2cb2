"""/admin over HTTP: off without a token (404 everywhere, with the reason), 401 without the
token or with a wrong one, in with the bearer header or the login form's cookie, out again with
logout; and neither a person's id nor anything they typed in any page or in the JSON."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from supportnavi.web.admin import COOKIE
from tests.admin.conftest import ADMIN_TOKEN
from tests.support.line_user import walk

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
PAGES = ["/admin", "/admin/api/summary", "/admin/routes/prime_cancel", "/admin/static/admin.css",
         "/admin/nothing/here"]


def client(bot: Any, **kwargs: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.url, timeout=15, **kwargs)


async def test_without_a_token_every_admin_path_is_404_and_says_why(bot):
    async with client(bot) as http:
        for path in PAGES:
            for headers in ({}, BEARER):
                answer = await http.get(path, headers=headers)
                assert answer.status_code == 404, path
                assert "SUPPORTNAVI_ADMIN_TOKEN" in answer.json()["detail"]
        for path in ("/admin/login", "/admin/logout"):
            answer = await http.post(path, data={"token": ADMIN_TOKEN})
            assert answer.status_code == 404
            assert "SUPPORTNAVI_ADMIN_TOKEN" in answer.json()["detail"]


async def test_no_token_or_a_wrong_one_is_401(admin_bot):
    async with client(admin_bot) as http:
        page = await http.get("/admin")
        assert page.status_code == 401
        assert page.headers["www-authenticate"].startswith("Bearer")
        assert '<form method="post" action="/admin/login">' in page.text
        assert 'type="password"' in page.text
        assert ADMIN_TOKEN not in page.text
        for headers in ({"Authorization": "Bearer not-the-token"},
                        {"Authorization": f"Basic {ADMIN_TOKEN}"},
                        {"Authorization": "Bearer"},
                        {"Authorization": f"Bearer {ADMIN_TOKEN}x"}):
            assert (await http.get("/admin", headers=headers)).status_code == 401, headers
            api = await http.get("/admin/api/summary", headers=headers)
            assert api.status_code == 401
            assert api.json()["detail"]
        assert (await http.get("/admin/routes/prime_cancel")).status_code == 401
        # a wrong session cookie is no way in either
        http.cookies.set(COOKIE, f"made-up-session.{'0' * 64}", path="/admin")
        assert (await http.get("/admin")).status_code == 401


async def test_the_bearer_header_lets_in(admin_bot):
    async with client(admin_bot, headers=BEARER) as http:
        page = await http.get("/admin")
        assert page.status_code == 200
        assert "運用ダッシュボード" in page.text and "ルートごとの結果" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert "script-src" not in page.headers["content-security-policy"]  # default 'none'
        data = (await http.get("/admin/api/summary")).json()
        assert {"users", "funnels", "reminders", "incidents", "definitions"} <= set(data)
        assert data["funnels"][0]["route"] == "prime_cancel"  # in the menu's order
        route = await http.get("/admin/routes/prime_cancel")
        assert route.status_code == 200 and "<svg" in route.text
        css = await http.get("/admin/static/admin.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_bad_requests_get_a_4xx_with_a_reason(admin_bot):
    async with client(admin_bot, headers=BEARER) as http:
        for days in ("0", "91", "many"):
            answer = await http.get("/admin/api/summary", params={"days": days})
            assert answer.status_code == 400, days
            assert answer.json()["detail"] == "bad request"
        assert (await http.get("/admin/api/summary", params={"days": 7})).json()["days"] == 7
        missing = await http.get("/admin/routes/no_such_route")
        assert missing.status_code == 404 and "no_such_route" in missing.json()["detail"]
        huge = await http.post("/admin/login", content=b"token=" + b"x" * 10_000,
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert huge.status_code == 413


async def test_the_login_form_sets_a_cookie_that_works_and_logout_clears_it(admin_bot):
    async with client(admin_bot) as http:
        wrong = await http.post("/admin/login", data={"token": "guess-SECRET-guess"})
        assert wrong.status_code == 401
        assert "トークンが違います" in wrong.text
        assert "guess-SECRET-guess" not in wrong.text  # what was typed is not shown back
        assert "set-cookie" not in wrong.headers

        answer = await http.post("/admin/login", data={"token": ADMIN_TOKEN})
        assert answer.status_code == 303 and answer.headers["location"] == "/admin"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert "Path=/admin" in cookie
        assert ADMIN_TOKEN not in cookie
        page = await http.get("/admin")
        assert page.status_code == 200 and "ログアウト" in page.text
        assert (await http.get("/admin/api/summary")).status_code == 200
        assert ADMIN_TOKEN not in page.text

        kept = http.cookies.get(COOKIE)
        out = await http.post("/admin/logout")
        assert out.status_code == 303
        assert f'{COOKIE}=""' in out.headers["set-cookie"] or "Max-Age=0" in out.headers["set-cookie"]
        assert http.cookies.get(COOKIE) is None
        assert (await http.get("/admin")).status_code == 401
        # the server ended the session: the cookie kept from before logout lets nobody in
        http.cookies.set(COOKIE, kept, path="/admin")
        assert (await http.get("/admin")).status_code == 401


async def test_no_person_id_and_nothing_typed_appears_anywhere(admin_bot, monkeypatch):
    marker = "MARKER" + uuid.uuid4().hex[:12]
    person = admin_bot.user("U" + uuid.uuid4().hex)
    await person.say(person.follow())
    await person.say(person.text(f"{marker} プライムやめたい"))
    await walk(person, ["電話で解約する"])
    await person.say(person.text(f"{marker} ここでやめます"))

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise KeyError(marker)

    monkeypatch.setattr("supportnavi.conversation.service.advance", explode)
    crashed = await person.post(person.body(person.text(marker)))
    assert crashed.status_code == 200  # answered with an apology, and counted
    monkeypatch.undo()

    async with client(admin_bot, headers=BEARER) as http:
        for _ in range(100):  # the incident is written after the answer goes out
            data = (await http.get("/admin/api/summary")).json()
            if data["incidents"]["last_24h"]:
                break
            await asyncio.sleep(0.05)
        assert data["incidents"]["last_24h"] == [
            {"place": "engine", "code": "KeyError in advance()", "count": 1}]
        prime = next(f for f in data["funnels"] if f["route"] == "prime_cancel")
        assert prime["started"] == 1 and prime["nodes"][0]["visits"] == 1
        bodies = [(await http.get(path)).text for path in
                  ["/admin", "/admin/api/summary",
                   *(f"/admin/routes/{f['route']}" for f in data["funnels"])]]
    for body in bodies:
        assert person.user_id not in body
        assert marker not in body


async def test_a_route_page_and_its_picture_need_the_token_and_a_known_route(admin_bot):
    async with client(admin_bot) as http:
        for path in ("/admin/routes/prime_cancel", "/admin/routes/prime_cancel/graph.svg"):
            assert (await http.get(path)).status_code == 401, path
            answer = await http.get(path, headers=BEARER)
            assert answer.status_code == 200, path
        svg = await http.get("/admin/routes/prime_cancel/graph.svg", headers=BEARER)
        assert svg.headers["content-type"].startswith("image/svg+xml")
        assert svg.text.lstrip().startswith(("<svg", "<?xml"))
        for path in ("/admin/routes/no_such_route", "/admin/routes/no_such_route/graph.svg"):
            answer = await http.get(path, headers=BEARER)
            assert answer.status_code == 404, path
            assert "no_such_route" in answer.json()["detail"]
        bad_days = await http.get("/admin/routes/prime_cancel?days=0", headers=BEARER)
        assert bad_days.status_code == 400


async def test_a_cookie_that_names_no_session_it_could_hold_is_401_not_500(admin_bot):
    """The session cookie is `<id>.<hmac>`: an id that is not ASCII, longer than the column
    holds, or missing, is a way in for nobody, and a 500 for nobody either."""
    async with client(admin_bot) as http:
        for session_id in ("\u00b2".encode("latin-1"), b"9" * 4301, b"", b"\xff" * 64):
            answer = await http.get("/admin", headers={"cookie": COOKIE.encode() + b"=" +
                                                       session_id + b"." + b"0" * 64})
            assert answer.status_code == 401, session_id[:6]
            api = await http.get("/admin/api/summary", headers={
                "cookie": COOKIE.encode() + b"=" + session_id + b"." + b"0" * 64})
            assert api.status_code == 401 and api.json()["detail"], session_id[:6]
