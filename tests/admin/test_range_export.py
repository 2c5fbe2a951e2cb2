"""/admin's dates and downloads (issue 19): from/to on every page (the default and `days` as
before), bad dates a 400 with the reason (the page's form again, or JSON), and the daily and
funnel CSVs behind the token, as attachments, with the numbers the pages show."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import pytest

from supportnavi.admin.rollups import Rollups
from tests.admin.conftest import ADMIN_TOKEN
from tests.admin.test_queries import PHONE_TO_END, Clock, friend, jst
from tests.support.line_user import walk

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def client(bot: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=bot.url, timeout=15, headers=BEARER)


def rows(answer: httpx.Response) -> list[dict[str, str]]:
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment; filename=")
    assert answer.text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))


async def history(bot: Any) -> Clock:
    """Two days: one visit to the end on 11/28 (rolled up), one on 11/30 (today's raw rows)."""
    clock = Clock(bot)
    clock.at(jst(28, 10))
    done = await friend(bot)
    await done.open("prime_cancel")
    await walk(done, [*PHONE_TO_END, "はい、解決した"])
    clock.at(jst(30, 9))
    services = bot.app.state.services
    await Rollups(services.db, services.scenarios, services.settings.zone).run_once(clock.now)
    clock.at(jst(30, 10))
    again = await friend(bot)
    await again.open("prime_cancel")
    await walk(again, PHONE_TO_END[:2])
    return clock


async def test_from_and_to_choose_the_days_and_days_still_works(admin_bot):
    await history(admin_bot)
    async with client(admin_bot) as http:
        def started(answer: httpx.Response) -> int:
            assert answer.status_code == 200, answer.text
            return next(f["started"] for f in answer.json()["funnels"]
                        if f["route"] == "prime_cancel")

        api = "/admin/api/summary"
        assert started(await http.get(api)) == 2
        assert started(await http.get(api, params={"days": 1})) == 1
        assert started(await http.get(api, params={"from": "2026-11-28", "to": "2026-11-28"})) == 1
        assert started(await http.get(api, params={"from": "2026-11-29"})) == 1
        assert started(await http.get(api, params={"to": "2026-11-29", "days": 2})) == 1
        found = (await http.get(api, params={"from": "2026-11-27", "to": "2026-11-29"})).json()
        assert (found["first_day"], found["last_day"], found["days"]) == (
            "2026-11-27", "2026-11-29", 3)
        for path in ("/admin", "/admin/routes/prime_cancel"):
            page = await http.get(path, params={"from": "2026-11-28", "to": "2026-11-29"})
            assert page.status_code == 200
            assert 'value="2026-11-28"' in page.text and 'value="2026-11-29"' in page.text
            assert "from=2026-11-28&amp;to=2026-11-29" in page.text  # links keep the dates
        overview = (await http.get("/admin")).text
        assert 'href="/admin/export/daily.csv"' in overview
        assert 'href="/admin/routes/prime_cancel"' in overview
        route = (await http.get("/admin/routes/prime_cancel")).text
        assert 'href="/admin/export/funnel/prime_cancel.csv"' in route


async def test_bad_dates_are_a_400_with_the_reason(admin_bot):
    Clock(admin_bot).at(jst(30, 10))
    bad = [
        ({"from": "2026-13-01"}, "not a date"),
        ({"to": "yesterday"}, "not a date"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, "is after to"),
        ({"to": "2026-12-01"}, "after today"),
        ({"from": "2026-01-01"}, "90 days"),
    ]
    async with client(admin_bot) as http:
        for params, reason in bad:
            for path in ("/admin/api/summary", "/admin/export/daily.csv",
                         "/admin/export/funnel/prime_cancel.csv",
                         "/admin/routes/prime_cancel/graph.svg"):
                answer = await http.get(path, params=params)
                assert answer.status_code == 400, (path, params)
                assert reason in answer.json()["detail"], (path, params)
            for path in ("/admin", "/admin/routes/prime_cancel"):
                page = await http.get(path, params=params)
                assert page.status_code == 400, (path, params)
                assert page.headers["content-type"].startswith("text/html")
                assert reason in page.text and 'role="alert"' in page.text
                assert '<input type="date" id="range-from" name="from"' in page.text


async def test_the_csvs_need_the_token_and_hold_the_pages_numbers(admin_bot):
    await history(admin_bot)
    async with httpx.AsyncClient(base_url=admin_bot.url, timeout=15) as anyone:
        for path in ("/admin/export/daily.csv", "/admin/export/funnel/prime_cancel.csv"):
            assert (await anyone.get(path)).status_code == 401
    async with client(admin_bot) as http:
        assert (await http.get("/admin/export/funnel/no_such_route.csv")).status_code == 404
        days = rows(await http.get("/admin/export/daily.csv", params={"days": 3}))
        assert [d["day"] for d in days] == ["2026-11-28", "2026-11-29", "2026-11-30"]
        by_day = {d["day"]: d for d in days}
        assert by_day["2026-11-28"]["visits"] == "1"  # from the rollup
        assert by_day["2026-11-28"]["reached_end"] == "1"
        assert by_day["2026-11-28"]["yes"] == "1"
        assert by_day["2026-11-28"]["new_users"] == "1"
        assert by_day["2026-11-29"]["visits"] == "0"
        assert by_day["2026-11-30"]["visits"] == "1"  # today's raw rows
        assert by_day["2026-11-30"]["in_progress"] == "1"
        summary = (await http.get("/admin/api/summary", params={"days": 3})).json()
        funnel = next(f for f in summary["funnels"] if f["route"] == "prime_cancel")
        exported = rows(await http.get("/admin/export/funnel/prime_cancel.csv",
                                       params={"days": 3}))
        whole, nodes = exported[0], exported[1:]
        assert (whole["from"], whole["to"], whole["node"]) == ("2026-11-28", "2026-11-30", "")
        assert int(whole["visits"]) == funnel["started"] == 2
        assert int(whole["reached_end"]) == funnel["reached_end"] == 1
        assert [n["node"] for n in nodes] == [n["node"] for n in funnel["nodes"]]
        assert [int(n["visits"]) for n in nodes] == [n["visits"] for n in funnel["nodes"]]
