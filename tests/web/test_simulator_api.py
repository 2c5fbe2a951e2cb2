"""The /simulator page's API, as the page uses it: every action is a webhook LINE would send,
signed and posted to /callback; the chat is what the fake LINE API recorded for that person;
bad input is a 4xx with a reason; outside simulator mode nothing of it is there."""

from __future__ import annotations

import json
import re
import shutil
from datetime import datetime, time, timedelta
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from supportnavi.app import create_app
from supportnavi.reminders.dispatcher import Dispatcher
from supportnavi.richmenu.layout import IMAGES, plan
from supportnavi.settings import SIMULATOR_CHANNEL_SECRET, Settings
from supportnavi.simulator.fake_line import FakeLine
from supportnavi.simulator.signing import sign
from tests.conftest import Served, bot_settings
from tests.support.line_spec import webhook_errors
from tests.web.conftest import SimApp, SimPerson, said

TOKYO = ZoneInfo("Asia/Tokyo")
PICK = "日付を選ぶ（カレンダー）"


async def at_trial_remind(sim: SimApp) -> SimPerson:
    """A new friend at trial_cancel's reminder offer, reached by chips and a typed text."""
    person = await sim.new_user()
    await person.do(type="follow")
    assert "無料体験" in said(await person.do(type="text", text="無料体験をやめたい"))
    await person.tap("終了日の調べ方へ")
    assert "終わる日を教えてください" in said(await person.tap("期限の前に知らせてほしい"))
    return person


# --- outside simulator mode -----------------------------------------------------------------


async def test_nothing_of_the_simulator_outside_simulator_mode(tmp_path, sqlite_template,
                                                               fake_line):
    path = tmp_path / "line.db"
    shutil.copy(sqlite_template, path)
    _, line_url = fake_line
    app = create_app(bot_settings(f"sqlite+aiosqlite:///{path}", line_url))
    async with Served(app) as served, httpx.AsyncClient(base_url=served.url) as http:
        answers = [
            await http.get("/simulator"),
            await http.get("/simulator/api/users"),
            await http.get("/simulator/api/richmenu"),
            await http.get("/simulator/richmenu/procedures.png"),
            await http.get("/simulator/api/messages", params={"user": "U" + "0" * 32}),
            await http.post("/simulator/api/users"),
            await http.post("/simulator/api/events",
                            json={"user": "U" + "0" * 32, "type": "follow"}),
        ]
        for answer in answers:
            assert answer.status_code == 404, (answer.request.url, answer.text)
            assert "only in simulator mode" in answer.json()["detail"]
        assert (await http.get("/healthz")).json()["mode"] == "line"


# --- the page and its files -----------------------------------------------------------------


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            if found.get(name):
                self.urls.append(str(found[name]))


async def test_the_page_loads_only_files_this_server_serves(sim):
    page = await sim.http.get("/simulator")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assets = _Assets()
    assets.feed(page.text)
    assert sorted(assets.urls) == ["/static/simulator.css", "/static/simulator.js",
                                   "/static/simulator.svg"]
    kinds = {}
    for url in assets.urls:
        answer = await sim.http.get(url)
        assert answer.status_code == 200, url
        kinds[url.rsplit(".", 1)[1]] = answer.headers["content-type"]
    assert kinds["js"].startswith(("text/javascript", "application/javascript"))
    assert kinds["css"].startswith("text/css")
    # no address elsewhere in the script (but the SVG namespace, a name, not a place), and
    # no import or font in the style sheet
    script = (await sim.http.get("/static/simulator.js")).text
    elsewhere = set(re.findall(r"[\"'`](https?://[^\"'`]*)", script))
    assert elsewhere == {"http://www.w3.org/2000/svg"}
    style = (await sim.http.get("/static/simulator.css")).text
    assert "@import" not in style and "url(" not in style and "@font-face" not in style


async def test_the_rich_menu_is_the_one_richmenu_deploy_sends(sim):
    menus = plan(sim.services.scenarios)
    got = (await sim.http.get("/simulator/api/richmenu")).json()
    assert got["chat_bar"] == menus[0].chat_bar
    assert got["default"] == menus[0].alias_id
    assert [m["alias_id"] for m in got["menus"]] == [m.alias_id for m in menus]
    for shown, menu in zip(got["menus"], menus, strict=True):
        assert [{k: v for k, v in a.items() if k != "label"} for a in shown["areas"]] \
            == menu.areas()
        tile_labels = [t.label.replace("\n", "") for t in menu.tiles]
        tab_labels = [t.label for t in menu.tabs if not t.current]
        assert [a["label"] for a in shown["areas"]] == tab_labels + tile_labels
        image = await sim.http.get(shown["image"])
        assert image.headers["content-type"] == "image/png"
        assert image.content == (IMAGES / menu.image_file).read_bytes()
    missing = await sim.http.get("/simulator/richmenu/secret.png")
    assert missing.status_code == 404 and "secret.png" in missing.json()["detail"]


# --- what the simulator sends to /callback ----------------------------------------------------


async def test_every_webhook_the_simulator_posts_is_one_line_would_send(sim):
    person = await at_trial_remind(sim)
    day = (datetime.now(TOKYO).date() + timedelta(days=30)).isoformat()
    assert "このトークでお知らせします" in said(await person.pick(PICK, day))
    await person.do(type="richmenuswitch", alias_id="supportnavi-trouble")
    tile = plan(sim.services.scenarios)[1].tiles[0]
    await person.do(type="postback", data=tile.data, display_text=tile.display_text)
    await person.do(type="richmenuswitch", alias_id="supportnavi-procedures")
    await person.do(type="unfollow")
    await person.do(type="follow")

    events = []
    for posted in sim.capture.posted:
        body = json.loads(posted.body)
        assert webhook_errors(body) == [], body
        assert posted.signature == sign(SIMULATOR_CHANNEL_SECRET, posted.body)
        [event] = body["events"]
        assert event["source"] == {"type": "user", "userId": person.id}
        events.append(event)
    assert [e["type"] for e in events] == [
        "follow", "message", "postback", "postback", "postback", "postback", "postback",
        "postback", "unfollow", "follow"]
    assert [e["follow"]["isUnblocked"] for e in events if e["type"] == "follow"] == [False, True]
    assert "replyToken" not in events[-2]  # LINE gives an unfollow no reply token
    assert events[4]["postback"]["params"] == {"date": day}
    switches = [e["postback"]["params"] for e in events if e["type"] == "postback"
                and "newRichMenuAliasId" in e["postback"].get("params", {})]
    assert switches == [
        {"newRichMenuAliasId": "supportnavi-trouble", "status": "SUCCESS"},
        {"newRichMenuAliasId": "supportnavi-procedures", "status": "SUCCESS"}]
    assert len({e["webhookEventId"] for e in events}) == len(events)


async def test_the_chat_is_what_reached_the_person(sim):
    person = await sim.new_user()
    other = await sim.new_user()
    await other.do(type="follow")
    entries = await person.do(type="follow")
    assert [(e["from"], e.get("kind"), e.get("via")) for e in entries] == [
        ("person", "follow", None), ("bot", None, "reply")]
    assert "友だち追加ありがとうございます" in said(entries)
    entries = await person.tap("プライム会員をやめる")
    # a postback shows its displayText as the person's bubble, as LINE does
    assert entries[0] == {"from": "person", "kind": "postback", "text": "プライム会員をやめる",
                          "at": entries[0]["at"], "seq": 3}
    assert "プライム会員の解約ですね" in said(entries)
    entries = await person.do(type="text", text="戻る\n（改行も）")
    assert entries[0]["text"] == "戻る\n（改行も）"
    # the other person's chat has only their own follow and its answer
    await other.read()
    assert [e["from"] for e in other.entries] == ["person", "bot"]
    # a reader that is up to date gets nothing new, and a rich-menu switch shows nothing
    assert await person.read() == []
    assert await person.do(type="richmenuswitch", alias_id="supportnavi-trouble") == []
    users = (await sim.http.get("/simulator/api/users")).json()["users"]
    assert [(u["id"], u["number"], u["relation"], u["richmenu"]) for u in users] == [
        (person.id, 1, "friend", "supportnavi-trouble"),
        (other.id, 2, "friend", "supportnavi-procedures")]


async def test_a_reminder_push_and_multicast_show_in_the_chat(sim):
    first = await at_trial_remind(sim)
    deadline = datetime.now(TOKYO).date() + timedelta(days=30)
    await first.pick(PICK, deadline.isoformat())
    push_at = datetime.combine(deadline - timedelta(days=3), time(9), TOKYO)
    services = sim.services
    dispatcher = Dispatcher(services.db, services.sender, services.scenarios, TOKYO)
    assert (await dispatcher.run_once(push_at)).sent == 1
    [entry] = await first.read()
    assert (entry["from"], entry["via"]) == ("bot", "push")
    assert "【リマインダー】" in said([entry])
    assert "このリマインダーを止める" in [a["label"] for a in first.chips()]

    # two more people with the same deadline get the same push as one multicast
    second = await at_trial_remind(sim)
    await second.pick(PICK, deadline.isoformat())
    third = await at_trial_remind(sim)
    await third.pick(PICK, deadline.isoformat())
    assert (await dispatcher.run_once(push_at)).sent == 2
    assert await first.read() == []
    for person in (second, third):
        vias = [e.get("via") for e in await person.read()]
        assert vias == ["multicast"], vias


# --- bad input ----------------------------------------------------------------------------------

USER = "U" + "ab" * 16


@pytest.mark.parametrize(("body", "reason"), [
    ({"user": USER, "type": "shout"}, "does not match any of the expected tags"),
    ({"type": "follow"}, "Field required"),
    ({"user": "U123", "type": "follow"}, "should match pattern"),
    ({"user": USER.upper(), "type": "follow"}, "should match pattern"),
    ({"user": USER, "type": "text", "text": ""}, "at least 1 character"),
    ({"user": USER, "type": "text", "text": " \n "}, "text is blank"),
    ({"user": USER, "type": "text", "text": "あ" * 5001}, "at most 5000 characters"),
    ({"user": USER, "type": "text", "text": 5}, "valid string"),
    ({"user": USER, "type": "postback", "data": "x" * 301}, "at most 300 characters"),
    ({"user": USER, "type": "postback", "data": "x", "date": "12月5日"}, "should match pattern"),
    ({"user": USER, "type": "postback", "data": "x", "date": "2026-02-30"}, "out of range"),
    ({"user": USER, "type": "postback", "data": "x", "colour": "red"}, "Extra inputs"),
    ({"user": USER, "type": "richmenuswitch"}, "Field required"),
])
async def test_a_bad_event_is_a_400_with_the_reason(sim, body, reason):
    answer = await sim.http.post("/simulator/api/events", json=body)
    assert answer.status_code == 400, answer.text
    assert reason in json.dumps(answer.json(), ensure_ascii=False)
    assert sim.capture.posted == []  # nothing reached /callback


async def test_a_body_that_is_no_json_is_a_400(sim):
    answer = await sim.http.post("/simulator/api/events", content=b"{not json",
                                 headers={"content-type": "application/json"})
    assert answer.status_code == 400 and "json" in answer.text.lower()


@pytest.mark.parametrize("params", [{}, {"user": "nobody"}, {"user": USER, "after": -1},
                                    {"user": USER, "after": "last"}])
async def test_a_bad_messages_query_is_a_400(sim, params):
    answer = await sim.http.get("/simulator/api/messages", params=params)
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["loc"][0] == "query"


async def test_what_line_would_not_let_a_person_do_is_refused_with_the_reason(sim):
    person = await at_trial_remind(sim)
    picker = person.chip(PICK)
    too_early = (datetime.fromisoformat(picker["min"]) - timedelta(days=1)).date().isoformat()
    refusals = [
        (dict(type="postback", data=picker["data"], date=too_early), 400, "outside the date"),
        (dict(type="postback", data="v=1&k=other", date="2030-01-01"), 400, "no date picker"),
        (dict(type="richmenuswitch", alias_id="supportnavi-procedures"), 400,
         "has no tab switching"),
        (dict(type="richmenuswitch", alias_id="elsewhere"), 400, "has no tab switching"),
        (dict(type="follow"), 409, "a friend already"),
    ]
    for body, status, reason in refusals:
        answer = await person.act(**body)
        assert (answer.status_code, reason in answer.json()["detail"]) == (status, True), (
            body, answer.text)
    await person.do(type="unfollow")
    for body in (dict(type="text", text="こんにちは"), dict(type="postback", data="x"),
                 dict(type="unfollow")):
        answer = await person.act(**body)
        assert answer.status_code == 409, answer.text
        assert "blocked" in answer.json()["detail"]
    posted = len(sim.capture.posted)
    assert [json.loads(p.body)["events"][0]["type"] for p in sim.capture.posted][-1] == \
        "unfollow"
    assert posted == 5  # follow, text, two taps, unfollow: nothing refused was posted


async def test_a_failing_callback_is_a_502_with_its_status(sim, monkeypatch):
    person = await sim.new_user()

    async def broken(events: Any) -> list[Exception]:
        return [RuntimeError("the database is down") for _ in events]

    monkeypatch.setattr(sim.services.conversation, "handle_all", broken)
    answer = await person.act(type="follow")
    assert answer.status_code == 502
    assert "/callback answered 500" in answer.json()["detail"]


async def test_the_fake_keeps_counting_after_a_clear():
    """The page reads "after record N": a clear must not make new records look old."""
    fake = FakeLine()
    user = "U" + "0" * 32
    transport = httpx.ASGITransport(app=fake.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as http:
        push = {"to": user, "messages": [{"type": "text", "text": "一"}]}
        headers = {"authorization": "Bearer t"}
        await http.post("/v2/bot/message/push", json=push, headers=headers)
        [first] = fake.sent_to(user, set())
        fake.clear()
        await http.post("/v2/bot/message/push", json=push, headers=headers)
    [second] = fake.sent_to(user, set(), after=first.seq)
    assert second.seq == first.seq + 1


async def test_a_lone_surrogate_is_a_400_and_the_answer_echoes_no_input(sim):
    """JSON may carry \\ud800 alone; it is no text LINE could send. The 400 says where and why,
    never the input, which echoed could not even be encoded (it became a 500)."""
    raw = ('{"user": "' + USER + '", "type": "text", "text": "a\\ud800b"}').encode()
    answer = await sim.http.post("/simulator/api/events", content=raw,
                                 headers={"content-type": "application/json"})
    assert answer.status_code == 400, answer.text
    assert answer.json()["errors"][0]["loc"][-1] == "text"
    secret = "秘密のことば" + "x"  # too long a postback data: refused, and not repeated back
    answer = await sim.http.post("/simulator/api/events", json={
        "user": USER, "type": "postback", "data": secret * 50})  # 350 > 300
    assert answer.status_code == 400 and secret not in answer.text


# --- who may reach it ------------------------------------------------------------------------


async def test_the_simulator_answers_only_its_own_or_a_loopback_host(sim):
    """DNS rebinding: a page at evil.example, its name rebound to 127.0.0.1, reaches this
    server with `Host: evil.example` and could read every chat and act as anyone. The webhook
    still takes any Host: LINE's calls come through proxies."""
    port = sim.url.rsplit(":", 1)[1]
    paths = ["/simulator", "/simulator/api/users", "/simulator/api/richmenu",
             "/_fake_line/_records", "/_fake_line/_stats"]
    for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example",
                 "localhost.evil.example", f"[::2]:{port}", ""):
        for path in paths:
            answer = await sim.http.get(path, headers={"host": host})
            assert answer.status_code == 400, (host, path, answer.text)
            assert "Host" in answer.json()["detail"], answer.text
        answer = await sim.http.post("/simulator/api/users", json={}, headers={"host": host})
        assert answer.status_code == 400, (host, answer.text)
    assert (await sim.http.get("/simulator/api/users")).json() == {"users": []}
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "LOCALHOST", f"[::1]:{port}",
                 "127.8.9.10"):
        for path in paths:
            answer = await sim.http.get(path, headers={"host": host})
            assert answer.status_code == 200, (host, path, answer.text)
    body = b'{"destination": "U0", "events": []}'
    answer = await sim.http.post("/callback", content=body, headers={
        "host": "bot.example", "content-type": "application/json",
        "x-line-signature": sign(SIMULATOR_CHANNEL_SECRET, body)})
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("path", "body"), [
    ("/simulator/api/users", {}),
    ("/simulator/api/events", {"user": USER, "type": "follow"}),
])
async def test_a_cross_site_request_cannot_make_a_user_or_act(sim, path, body):
    """A page elsewhere can make a browser POST here: a form needs no preflight (and sends no
    JSON type), a fetch without one says where it comes from in Origin and Sec-Fetch-Site."""
    raw = json.dumps(body).encode()
    as_json = {"content-type": "application/json"}
    refused = [
        {"content-type": "application/x-www-form-urlencoded"},
        {"content-type": "text/plain"},
        {"content-type": "multipart/form-data; boundary=x"},
        {},
        {**as_json, "origin": "http://evil.example"},
        {**as_json, "origin": "null"},
        {**as_json, "origin": sim.url.replace("127.0.0.1", "localhost")},
        {**as_json, "sec-fetch-site": "cross-site"},
        {**as_json, "sec-fetch-site": "same-site"},
        {**as_json, "origin": sim.url, "sec-fetch-site": "cross-site"},
    ]
    for headers in refused:
        answer = await sim.http.post(path, content=raw, headers=headers)
        assert answer.status_code == 403, (headers, answer.text)
        assert answer.json()["detail"], answer.text
    assert (await sim.http.get("/simulator/api/users")).json() == {"users": []}
    assert sim.capture.posted == []  # nothing reached /callback
    # the page's own requests: same origin, JSON
    answer = await sim.http.post(path, content=raw, headers={
        **as_json, "origin": sim.url, "sec-fetch-site": "same-origin"})
    assert answer.status_code in (200, 201), answer.text
    answer = await sim.http.post(path, content=raw, headers={
        "content-type": "application/json; charset=utf-8", "sec-fetch-site": "none"})
    assert answer.status_code in (200, 201, 409), answer.text


@pytest.mark.parametrize(("bound", "answered", "refused"), [
    ("192.168.1.20", ["192.168.1.20:8000", "192.168.1.20", "localhost:8000"],
     ["192.168.1.21:8000", "evil.example"]),
    ("sim.lan", ["SIM.lan:8000", "127.0.0.1:8000"], ["evil.example", "sim.lan.evil.example"]),
    ("0.0.0.0", ["127.0.0.1:8000"], ["0.0.0.0:8000", "192.168.1.20:8000"]),
])
async def test_a_simulator_told_to_bind_beyond_loopback_answers_the_host_it_was_given(
    bound, answered, refused
):
    """SUPPORTNAVI_SIMULATOR_PUBLIC: reached by the name it binds, never by any name at all."""
    app = create_app(Settings(SUPPORTNAVI_SIMULATOR=True, SUPPORTNAVI_SIMULATOR_PUBLIC=True,
                              HOST=bound, LINE_CHANNEL_SECRET="", LINE_CHANNEL_ACCESS_TOKEN=""))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        for host in answered:
            answer = await http.get("/_fake_line/_stats", headers={"host": host})
            assert answer.status_code == 200, (host, answer.text)
        for host in refused:
            answer = await http.get("/_fake_line/_stats", headers={"host": host})
            assert answer.status_code == 400, (host, answer.text)
