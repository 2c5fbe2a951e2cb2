"""/admin/unmatched and GET /admin/api/unmatched (issue 18): behind the dashboard's token; each
entry accepted as an example of a route or a branch (then the YAML line to paste), or ignored;
`supportnavi examples export`; and the 「いいえ」 rate per end node on a route's page."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from supportnavi import cli
from supportnavi.admin import inbox
from supportnavi.admin.queries import Reader, summary
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT
from supportnavi.store.db import Database
from tests.admin.test_http import BEARER, client
from tests.admin.test_queries import PHONE_TO_END, TOKYO, friend
from tests.support.line_user import walk

UNREAD = "ぴよぴよ ぽよぽよ 12345"  # a long number: masked
KEPT = "ぴよぴよ ぽよぽよ <数字>"


async def _typed(bot: Any, text: str, times: int = 1) -> None:
    user = bot.user()
    for _ in range(times):
        await user.say(user.text(text))


async def _items(http: Any, **params: str) -> list[dict[str, Any]]:
    answer = await http.get("/admin/api/unmatched", params=params)
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_without_the_token_nothing_is_shown_or_changed(admin_bot):
    await _typed(admin_bot, "ぴよぴよ")
    async with client(admin_bot) as http:
        page = await http.get("/admin/unmatched")
        assert page.status_code == 401 and "ぴよぴよ" not in page.text
        assert 'action="/admin/login"' in page.text  # the login form
        api = await http.get("/admin/api/unmatched")
        assert api.status_code == 401 and "ぴよぴよ" not in api.text
        for action in ("accept", "ignore"):
            answer = await http.post(f"/admin/unmatched/1/{action}", data={"place": "returns"})
            assert answer.status_code == 401
        wrong = await http.get("/admin/api/unmatched",
                               headers={"Authorization": "Bearer not-the-token-at-all"})
        assert wrong.status_code == 401
    async with client(admin_bot, headers=BEARER) as http:
        [item] = await _items(http)
        assert item["status"] == "new"  # the refused posts changed nothing


async def test_accept_shows_the_yaml_line_and_ignore_hides(admin_bot):
    await _typed(admin_bot, UNREAD, times=2)
    await _typed(admin_bot, "解約")
    async with client(admin_bot, headers=BEARER) as http:
        items = await _items(http)
        assert [i["text"] for i in items] == ["解約", KEPT]  # newest activity first
        unread = items[1]
        assert unread["count"] == 2 and unread["where"] == "menu"
        assert set(unread) >= {"text", "count", "where", "guesses", "first_seen", "last_seen",
                               "status"}
        asked = items[0]
        assert [g["route"] for g in asked["guesses"]] == [
            "prime_cancel", "trial_cancel", "order_cancel"]
        assert all(set(g) == {"route", "node", "score"} for g in asked["guesses"])
        datetime.fromisoformat(unread["first_seen"])

        page = await http.get("/admin/unmatched")
        assert page.status_code == 200
        assert "script" not in page.text and "default-src 'none'" in page.headers[
            "content-security-policy"]
        assert page.text.index(KEPT.replace("<", "&lt;").replace(">", "&gt;")) < page.text.index(
            "解約</p>")  # by count
        # the select defaults to the best guess
        assert re.search(rf'id="place-{asked["id"]}".*?<option value="prime_cancel" selected',
                         page.text, re.S)

        accepted = await http.post(f"/admin/unmatched/{unread['id']}/accept",
                                   data={"place": "returns.cannot"}, follow_redirects=False)
        assert accepted.status_code == 303
        shown = await http.get(accepted.headers["location"])
        assert "scenarios/returns.yaml の nodes: → cannot: → examples: の下" in shown.text
        assert f"      - {KEPT}".replace("<", "&lt;").replace(">", "&gt;") in shown.text
        route_level = await http.post(f"/admin/unmatched/{asked['id']}/accept",
                                      data={"place": "prime_cancel"}, follow_redirects=False)
        shown = await http.get(route_level.headers["location"])
        assert "scenarios/prime_cancel.yaml の先頭の examples: の下" in shown.text
        assert "<code>  - 解約</code>" in shown.text

        done = await _items(http, status="accepted")
        assert {(i["text"], i["accepted"]) for i in done} == {
            (KEPT, "returns.cannot"), ("解約", "prime_cancel")}
        assert await _items(http, status="new") == []

        ignored = await http.post(f"/admin/unmatched/{asked['id']}/ignore",
                                  follow_redirects=False)
        assert ignored.status_code == 303
        page = await http.get("/admin/unmatched")
        assert "解約</p>" not in page.text and "  - 解約" not in page.text
        assert [i["text"] for i in await _items(http, status="ignored")] == ["解約"]

        # the overview links to it
        assert 'href="/admin/unmatched"' in (await http.get("/admin")).text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_bad_requests_get_a_4xx_with_a_reason(admin_bot):
    await _typed(admin_bot, "ぴよぴよ")
    async with client(admin_bot, headers=BEARER) as http:
        [item] = await _items(http)
        for place in ("", "nowhere", "returns.nowhere", "returns.cannot.more"):
            answer = await http.post(f"/admin/unmatched/{item['id']}/accept",
                                     data={"place": place})
            assert answer.status_code == 400 and "place" in answer.json()["detail"]
        assert (await http.post("/admin/unmatched/99999/accept",
                                data={"place": "returns"})).status_code == 404
        assert (await http.post("/admin/unmatched/99999/ignore")).status_code == 404
        assert (await http.post("/admin/unmatched/x/ignore")).status_code == 400
        assert (await http.get("/admin/api/unmatched?status=maybe")).status_code == 400
        big = await http.post(f"/admin/unmatched/{item['id']}/accept",
                              content=b"place=" + b"a" * 5000,
                              headers={"content-type": "application/x-www-form-urlencoded"})
        assert big.status_code == 413
        elsewhere = await http.post(f"/admin/unmatched/{item['id']}/ignore",
                                    headers={"sec-fetch-site": "cross-site"})
        assert elsewhere.status_code == 403
        other = await http.post(f"/admin/unmatched/{item['id']}/ignore",
                                headers={"origin": "https://evil.example"})
        assert other.status_code == 403
        [still] = await _items(http)
        assert still["status"] == "new"


def test_examples_export_writes_the_accepted_grouped_by_route_and_node(db_url, tmp_path,
                                                                      monkeypatch):
    scenarios = load_scenarios(REPO_ROOT / "scenarios")

    async def prepare() -> None:
        from tests.test_unmatched import _handle
        await _handle(db_url, scenarios, [
            ("U" + "1" * 32, "ぴよぴよ"), ("U" + "2" * 32, "ぽよぽよ: はい"),
            ("U" + "3" * 32, "解約"), ("U" + "4" * 32, "もにょもにょ")])
        db = Database(db_url)
        reader = Reader(db)
        try:
            ids = {e.text: e.id for e in await inbox.entries(reader)}
            await inbox.accept(db, ids["ぴよぴよ"], "returns", "cannot")
            await inbox.accept(db, ids["ぽよぽよ: はい"], "returns", None)
            await inbox.accept(db, ids["解約"], "prime_cancel", None)
            await inbox.ignore(db, ids["もにょもにょ"])
        finally:
            await reader.dispose()
            await db.dispose()

    asyncio.run(prepare())
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(cli.app, ["examples", "export"])
    assert result.exit_code == 0, result.output
    documents = list(yaml.safe_load_all(result.stdout))
    assert documents == [
        {"examples": ["解約"]},
        {"examples": ["ぽよぽよ: はい"], "nodes": {"cannot": {"examples": ["ぴよぴよ"]}}},
    ]
    assert result.stdout.startswith("# scenarios/prime_cancel.yaml\n")
    assert "# scenarios/returns.yaml\n" in result.stdout
    # and the lists paste into the route files: the keys are theirs
    returns = yaml.safe_load((REPO_ROOT / "scenarios" / "returns.yaml").read_text())
    assert "examples" in returns and "examples" in returns["nodes"]["cannot"]

    out = tmp_path / "examples.yaml"
    result = CliRunner().invoke(cli.app, ["examples", "export", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert list(yaml.safe_load_all(out.read_text(encoding="utf-8"))) == documents


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_no_rate_per_end_node_on_the_route_page(admin_bot):
    for answer in ("はい、解決した", "いいえ、まだ", "いいえ、まだ"):
        person = await friend(admin_bot)
        await person.open("prime_cancel")
        await walk(person, [*PHONE_TO_END, answer])
    services = admin_bot.app.state.services
    reader = Reader(services.db)
    try:
        found = await summary(reader, services.scenarios, datetime.now(UTC), TOKYO)
    finally:
        await reader.dispose()
    prime = found.funnel("prime_cancel")
    answered = [e for e in prime.endings if e.yes + e.no]
    assert len(answered) == 1
    [ending] = answered
    assert (ending.yes, ending.no) == (1, 2) and ending.no_rate == pytest.approx(2 / 3)
    route = services.scenarios.routes["prime_cancel"]
    assert [e.node for e in prime.endings] == [n for n in (e.node for e in prime.endings)
                                               if route.nodes[n].end]
    async with client(admin_bot, headers=BEARER) as http:
        page = (await http.get("/admin/routes/prime_cancel")).text
        data = (await http.get("/admin/api/summary")).json()
    assert re.search(rf"{re.escape(ending.title)}<span class=\"id\">{ending.node}</span></th>"
                     r"<td>1</td><td>2</td><td>67%</td>", page)
    shown = next(f for f in data["funnels"] if f["route"] == "prime_cancel")
    one = next(e for e in shown["endings"] if e["node"] == ending.node)
    assert one["no_rate"] == pytest.approx(2 / 3) and (one["yes"], one["no"]) == (1, 2)

