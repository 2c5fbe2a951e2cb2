"""Scenario changes without a restart (issue 18, part 2), in one server process: a broken
change is not loaded (the old scenarios keep serving, /healthz says why), a fixed one is; people
standing on a node an edit removed are told and continue from their route's start; a swap
while events are handled changes nothing of them.

The server runs on its own copy of scenarios/ in the test's temporary folder, looked at every
0.2 s; every wait is "within 10 s", by polling."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from supportnavi.app import create_app
from supportnavi.edition import Live, Reloader, stamp, version_of
from supportnavi.engine import State, Text, advance, keys, load_scenarios, postback
from supportnavi.engine.state import Postback
from supportnavi.settings import REPO_ROOT
from supportnavi.simulator.fake_line import FakeLine
from tests.conftest import Bot, Served, bot_settings
from tests.support.line_user import LineUser
from tests.support.serve_run import ROOT, ServeProcess

SCENARIOS = REPO_ROOT / "scenarios"
SYSTEM = yaml.safe_load((SCENARIOS / "system.yaml").read_text(encoding="utf-8"))
RENEWED = SYSTEM["texts"]["renewed"]
STALE_START = SYSTEM["texts"]["stale"].split("{")[0]
WITHIN = 10.0  # seconds: the promise


def _edit(directory: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = directory / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _remove_node(route: dict[str, Any], node_id: str) -> None:
    """The node gone, and every button that led to it."""
    del route["nodes"][node_id]
    for node in route["nodes"].values():
        node["buttons"] = [b for b in node.get("buttons", []) if b.get("to") != node_id]


async def _health(bot: Bot) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{bot.url}/healthz")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


async def _until(bot: Bot, ready: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + WITHIN
    while True:
        health = await _health(bot)
        if ready(health["scenarios"]):
            return health
        assert time.monotonic() < deadline, f"not within {WITHIN} s: {health['scenarios']}"
        await asyncio.sleep(0.1)


@pytest.fixture
def scenarios_dir(tmp_path: Path) -> Path:
    copy = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, copy)
    return copy


@pytest.fixture
async def live_bot(sqlite_template: Path, tmp_path: Path, scenarios_dir: Path,
                   fake_line: tuple[FakeLine, str]) -> AsyncIterator[Bot]:
    """The bot on SQLite, on its own scenarios, which it looks at every 0.2 s."""
    db = tmp_path / "bot.db"
    shutil.copy(sqlite_template, db)
    db_url = f"sqlite+aiosqlite:///{db}"
    fake, line_url = fake_line
    app = create_app(bot_settings(db_url, line_url, SUPPORTNAVI_SCENARIOS=str(scenarios_dir),
                                  SUPPORTNAVI_SCENARIOS_POLL=0.2))
    async with Served(app) as served:
        yield Bot(served.url, fake, db_url, app)


async def test_a_broken_change_keeps_the_old_scenarios_and_a_fixed_one_loads(
    live_bot: Bot, scenarios_dir: Path
) -> None:
    bot = live_bot
    first = (await _health(bot))["scenarios"]
    assert first == {"version": version_of(scenarios_dir), "error": None}
    person = bot.user()
    start = await person.open("prime_pause")
    old_text = start[0]["text"]

    # broken: a button to a node that does not exist (lint: file:line: message)
    _edit(scenarios_dir, "prime_pause.yaml",
          lambda r: r["nodes"]["start"]["buttons"].append({"label": "どこへも", "to": "nowhere"}))
    broken = (await _until(bot, lambda s: s["error"] is not None))["scenarios"]
    assert broken["version"] == first["version"]  # the old edition still serves
    assert re.fullmatch(r".*prime_pause\.yaml:\d+: .*nowhere.*", broken["error"]), broken
    again = await person.open("prime_pause")
    assert [m["text"] for m in again] == [m["text"] for m in start]  # served as before
    assert "どこへも" not in [q["action"]["label"] for q in person.last_quick_replies]

    # fixed, with a new first bubble
    def fixed(route: dict[str, Any]) -> None:
        route["nodes"]["start"]["buttons"].pop()
        route["nodes"]["start"]["say"][0] = "一時停止のご案内です（新しい版）。"

    _edit(scenarios_dir, "prime_pause.yaml", fixed)
    loaded = (await _until(bot, lambda s: s["error"] is None
                           and s["version"] != first["version"]))["scenarios"]
    assert loaded["version"] == version_of(scenarios_dir)
    now = await person.open("prime_pause")
    assert now[0]["text"] == "一時停止のご案内です（新しい版）。" != old_text


async def test_people_on_a_removed_node_start_their_route_again_and_its_buttons_are_stale(
    live_bot: Bot, scenarios_dir: Path
) -> None:
    bot = live_bot
    typing, tapping = bot.user(), bot.user()
    for person in (typing, tapping):
        await person.open("prime_pause")
        await person.tap("一時停止が向く場合を見る")  # on prime_pause.when
    old_button = tapping.button("ウェブで一時停止する")  # a button of `when`
    version = (await _health(bot))["scenarios"]["version"]

    _edit(scenarios_dir, "prime_pause.yaml", lambda r: _remove_node(r, "when"))
    await _until(bot, lambda s: s["version"] != version and s["error"] is None)

    start_say = load_scenarios(scenarios_dir).routes["prime_pause"].nodes["start"].say
    answer = await typing.say(typing.text("2"))  # the removed screen's 2nd button, typed
    assert [m["text"] for m in answer] == [RENEWED, *start_say]
    assert "一時停止が向く場合を見る" not in [q["action"]["label"]
                                         for q in typing.last_quick_replies]
    # from there on, the new start screen as usual
    assert (await typing.tap("ウェブで一時停止する"))[0]["text"].startswith("【ウェブで一時停止】")

    stale = await tapping.say(tapping.postback(old_button["data"]))
    assert stale[0]["text"].startswith(STALE_START)
    assert [m["text"] for m in stale[1:]] == start_say  # their route's start
    assert (await tapping.tap("アプリで一時停止する"))[0]["text"].startswith("【アプリで")


def test_a_person_whose_route_is_gone_gets_the_menu() -> None:
    scenarios = load_scenarios(SCENARIOS)
    routes = {k: v for k, v in scenarios.routes.items() if k != "prime_pause"}
    menu = [page.model_copy(update={"routes": [r for r in page.routes if r != "prime_pause"]})
            for page in scenarios.system.menu]
    edited = dataclasses.replace(scenarios, routes=routes,
                                 system=scenarios.system.model_copy(update={"menu": menu}))
    state = State(route="prime_pause", node="when", stack=[("prime_pause", "start")])
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    out = advance(edited, state, Text("はい"), now)
    assert out.messages[0].text == RENEWED
    assert out.messages[1].text.startswith(SYSTEM["texts"]["menu_prompt"])
    assert (out.state.route, out.state.node) == (None, None)
    assert [s.kind for s in out.steps][:1] == ["renewed"]
    tap = postback.encode(postback.Tap(keys.To("web"), "prime_pause", "when"))
    stale = advance(edited, state, Postback(tap), now)
    assert stale.steps[-1].kind == "stale" and (stale.state.route, stale.state.node) == (None,
                                                                                         None)
    # a secret typed there is still warned about first
    secret = advance(edited, state, Text("パスワードは abc123"), now)
    assert secret.resolved.startswith("secret:")


async def test_the_reloader_loads_a_change_in_a_thread_and_swaps_one_reference(
    scenarios_dir: Path
) -> None:
    """What the watcher does, without a server: a touch (same content) is no change, a broken
    file is refused with file:line, and the swap is one new Edition in `live.current`."""
    built: list[str] = []

    def load(directory: Path) -> Any:
        from supportnavi.compose import checked

        return checked(directory)

    def build(scenarios: Any, version: str) -> Any:
        import threading

        from supportnavi.edition import Edition

        built.append(threading.current_thread().name)
        return Edition(scenarios, version)

    live = Live(dataclasses.replace(Live.fixed(load_scenarios(scenarios_dir)).current,
                                    version=version_of(scenarios_dir)))
    first = live.current
    reloader = Reloader(live, scenarios_dir, load=load, build=build, poll=0)
    assert await reloader.check() is False  # first look: the files are those served
    (scenarios_dir / "contact.yaml").touch()
    assert await reloader.check() is False and live.current is first and built == []

    (scenarios_dir / "contact.yaml").write_text("id: contact\nstart: [\n", encoding="utf-8")
    assert await reloader.check() is False and live.current is first
    assert live.error is not None and re.match(r".*contact\.yaml:\d+: ", live.error)
    assert await reloader.check(asked=True) is False  # the same broken files: not tried again

    shutil.copy(SCENARIOS / "contact.yaml", scenarios_dir / "contact.yaml")
    assert stamp(scenarios_dir) != ()
    assert await reloader.check() is True
    assert live.error is None and live.current is not first
    assert live.current.version == first.version  # the same files as at the start
    assert built and all(name != "MainThread" for name in built)


async def test_a_swap_during_a_burst_loses_fails_and_doubles_nothing(
    live_bot: Bot, scenarios_dir: Path
) -> None:
    """Events in flight while the files change: every one answered once, with 200."""
    bot = live_bot
    people = [bot.user() for _ in range(8)]
    version = (await _health(bot))["scenarios"]["version"]
    sent: list[dict[str, Any]] = []

    async def one(person: LineUser, i: int) -> int:
        event = person.postback(postback.encode(postback.Tap(
            keys.Route("prime_pause" if i % 2 else "contact"))))
        person.seen_tokens.add(event["replyToken"])
        sent.append(event)
        return (await person.post(person.body(event))).status_code

    async def burst() -> list[int]:
        return list(await asyncio.gather(*(one(p, i) for i in range(6) for p in people)))

    statuses = await burst()
    _edit(scenarios_dir, "prime_pause.yaml",
          lambda r: r["nodes"]["start"]["say"].__setitem__(0, "一時停止（版B）"))
    deadline = time.monotonic() + WITHIN
    while (await _health(bot))["scenarios"]["version"] == version:
        statuses += await burst()
        assert time.monotonic() < deadline
    statuses += await burst()
    assert set(statuses) == {200}
    for event in sent:
        await people[0].wait_for_reply(event)
    tokens = [r.body["replyToken"] for r in bot.fake.records if r.path.endswith("/reply")]
    assert sorted(tokens) == sorted(e["replyToken"] for e in sent)  # each once
    texts = {r.body["messages"][0]["text"] for r in bot.fake.records
             if r.path.endswith("/reply")}
    assert "一時停止（版B）" in texts  # the new edition answered the last ones


def _loaded(server: ServeProcess, version: str) -> None:
    deadline = time.monotonic() + WITHIN
    while f"scenarios {version} loaded" not in server.output():
        assert time.monotonic() < deadline, server.output()[-3000:]
        time.sleep(0.1)


def test_reload_and_sighup_reach_a_one_process_server(
    sqlite_template: Path, tmp_path: Path, scenarios_dir: Path
) -> None:
    """`serve` with one worker: the server itself takes the SIGHUP, from `supportnavi reload`
    or from kill; each swap is in the log within 10 s, and the server never restarts."""
    db = tmp_path / "serve.db"
    shutil.copy(sqlite_template, db)
    pidfile = tmp_path / "serve.pid"
    server = ServeProcess(f"sqlite+aiosqlite:///{db}", "http://127.0.0.1:9",
                          tmp_path / "serve.log", "--no-dispatcher",
                          SUPPORTNAVI_SCENARIOS=str(scenarios_dir),
                          SUPPORTNAVI_SCENARIOS_POLL="0", SUPPORTNAVI_PIDFILE=str(pidfile),
                          SUPPORTNAVI_LOG_LEVEL="info", SUPPORTNAVI_LOG_FORMAT="text")
    with server:
        assert server.proc is not None and int(pidfile.read_text()) == server.proc.pid
        say = lambda text: lambda r: r["nodes"]["start"]["say"].__setitem__(0, text)  # noqa: E731
        _edit(scenarios_dir, "prime_pause.yaml", say("版B"))
        done = subprocess.run([sys.executable, "-m", "supportnavi", "reload"], cwd=ROOT,
                              env=server.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        _loaded(server, version_of(scenarios_dir))
        _edit(scenarios_dir, "prime_pause.yaml", say("版C"))
        os.kill(server.proc.pid, signal.SIGHUP)
        _loaded(server, version_of(scenarios_dir))
        assert httpx.get(f"{server.url}/healthz", timeout=10).json()["scenarios"] == {
            "version": version_of(scenarios_dir), "error": None}
        assert server.proc.poll() is None
    assert server.output().count("Application startup complete.") == 1
    assert not pidfile.exists()


def test_reload_says_why_when_there_is_no_server(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from supportnavi.cli import app

    missing = CliRunner().invoke(app, ["reload", "--pidfile", str(tmp_path / "none.pid")])
    assert missing.exit_code == 1 and "no pidfile" in missing.output
    garbage = tmp_path / "garbage.pid"
    garbage.write_text("not a pid\n")
    assert CliRunner().invoke(app, ["reload", "--pidfile", str(garbage)]).exit_code == 1
    stale = tmp_path / "stale.pid"
    stale.write_text(f"{os.getpid()}\n")  # alive, but pytest, not a `supportnavi serve`
    refused = CliRunner().invoke(app, ["reload", "--pidfile", str(stale)])
    assert refused.exit_code == 1 and "not a running `supportnavi serve`" in refused.output


async def test_the_dispatcher_reads_the_edition_once_per_pass_and_follows_a_swap(
    live_bot: Bot,
) -> None:
    """A reminder pushed after a swap says the new edition's text (what the last pass rendered
    is not reused), from a dispatcher that reads the process's `Live`."""
    from supportnavi.edition import Edition
    from supportnavi.reminders.dispatcher import Dispatcher
    from tests.reminders.test_dispatcher import TOKYO, jst, schedule

    services = live_bot.app.state.services
    await schedule(live_bot.db_url, "U" + "b" * 32, "trial_cancel", datetime(2026, 12, 5).date())
    dispatcher = Dispatcher(services.db, services.sender, services.live, TOKYO)
    assert (await dispatcher.run_once(jst(12, 2, 9, 0))).sent == 1
    old = services.live.current
    text = old.scenarios.system.reminders["trial_cancel"]
    reminders = {**old.scenarios.system.reminders,
                 "trial_cancel": text.model_copy(update={"text": "新しい版のお知らせ {deadline}"})}
    system = old.scenarios.system.model_copy(update={"reminders": reminders})
    services.live.swap(Edition(dataclasses.replace(old.scenarios, system=system), "v2",
                               old.classifier, old.planner, old.menus))
    assert (await dispatcher.run_once(jst(12, 5, 9, 0))).sent == 1
    pushed = [r.body["messages"][0]["text"] for r in live_bot.fake.records
              if r.path.endswith("/push")]
    assert pushed[0].startswith(text.text.split("{")[0])
    assert pushed[1].startswith("新しい版のお知らせ 12月5日")
