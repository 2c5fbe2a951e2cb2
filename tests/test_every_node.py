"""Every node of every route, reached through the real webhook by tapping, breadth-first.

For each route a fresh user opens it and we explore: at each node we tap every button, note
where it led (the node named in the new buttons' postback data), and go back with 戻る. Nodes
that read a phone number are fed one number of each verdict. The walk must reach every node,
find no dead end, and every request the bot sent must be one LINE's OpenAPI spec accepts
(5 messages, 13 quick replies, 20-character labels, ...).
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any
from urllib.parse import parse_qs

import pytest

from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT
from tests.support.line_spec import request_errors
from tests.support.line_user import LineUser, reach, texts

SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")
NAV = {"戻る", "メニュー"}
# One typed number per verdict, for nodes that read a phone number.
NUMBER_SAMPLES = ["０１２０－９９９－３７３", "0120-899-543", "022-745-6363", "0120-01-9625",
                  "050-8888-1234", "でんわ"]
# One of each verdict where a node asks for a link: Amazon's, a lookalike, unknown, none.
LINK_SAMPLES = ["https://www.amazon.co.jp/", "amazon.co.jp.evil.example/login",
                "https://example.com/", "りんく"]


def where(quick_replies: list[dict[str, Any]]) -> tuple[str, str] | None:
    """The (route, node) a reply shows: local buttons carry it in their postback data."""
    for item in quick_replies:
        action = item["action"]
        if action["type"] != "postback":
            continue
        fields = {k: v[0] for k, v in parse_qs(action["data"]).items()}
        if "r" in fields:
            return fields["r"], fields["n"]
    return None


async def walk_route(bot, route_id: str) -> set[str]:
    route = SCENARIOS.routes[route_id]
    paths: dict[str, list[tuple[str, str]]] = {route.start: []}  # node -> how to get there
    todo = deque([route.start])
    while todo:
        node_id = todo.popleft()
        user: LineUser = bot.user()
        await user.say(user.follow())
        await _open(user, route_id)
        for how, what in paths[node_id]:
            await (user.tap(what) if how == "tap" else user.say(user.text(what)))
        assert where(user.last_quick_replies) == (route_id, node_id)
        shown = list(user.last_quick_replies)
        labels = [q["action"]["label"] for q in shown]
        forward = [q for q in shown if q["action"]["label"] not in NAV]
        node = route.nodes[node_id]
        assert forward, f"{route_id}.{node_id} is a dead end: {labels}"
        moves: list[tuple[str, str]] = []
        for item in forward:
            action = item["action"]
            if action["type"] == "uri":
                assert action["uri"].startswith("https://"), action
                assert action["uri"].endswith("openExternalBrowser=1"), action  # not in LINE
                continue
            if action["type"] == "datetimepicker":  # schedules, moves nowhere: see test_reminders
                assert action["mode"] == "date" and node.remind is not None, action
                continue
            moves.append(("tap", action["label"]))
        if node.input is not None:
            samples = LINK_SAMPLES if node.input.kind == "link" else NUMBER_SAMPLES
            moves.extend(("text", sample) for sample in samples)
        for how, what in moves:
            said = await (user.tap(what) if how == "tap" else user.say(user.text(what)))
            assert said and all(m["text"].strip() for m in said)
            landed = where(user.last_quick_replies)
            if landed is not None and landed[0] == route_id and landed[1] not in paths:
                paths[landed[1]] = [*paths[node_id], (how, what)]
                todo.append(landed[1])
            if landed != (route_id, node_id):
                back = await user.tap("戻る") if "戻る" in _labels(user) else None
                if back is None or where(user.last_quick_replies) != (route_id, node_id):
                    # はい (resolved) leaves for the menu; 戻る from there returns, else restart
                    await _open(user, route_id)
                    for step_how, step_what in paths[node_id]:
                        await (user.tap(step_what) if step_how == "tap"
                               else user.say(user.text(step_what)))
            assert where(user.last_quick_replies) == (route_id, node_id), texts(said)
    return set(paths)


async def _open(user: LineUser, route_id: str) -> None:
    """Open the route as from the menu. A start that lists reminders shows its `empty` node
    while there is nothing to list, so the person first asks for one (contact's follow-up,
    dated today), as a person would."""
    route = SCENARIOS.routes[route_id]
    if route.nodes[route.start].empty is not None:
        await reach(user, "contact", "remind")
        picker = next(q["action"] for q in user.last_quick_replies
                      if q["action"]["type"] == "datetimepicker")
        await user.say(user.postback(picker["data"], date=picker["initial"]))
    await user.open(route_id)


def _labels(user: LineUser) -> list[str]:
    return [q["action"]["label"] for q in user.last_quick_replies]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_every_node_of_every_route_is_reached_and_sends_valid_requests(bot):
    found = await asyncio.gather(*(walk_route(bot, r) for r in SCENARIOS.routes))
    for route_id, nodes in zip(SCENARIOS.routes, found, strict=True):
        assert nodes == set(SCENARIOS.routes[route_id].nodes), route_id
    assert len(bot.fake.records) > 100
    for record in bot.fake.records:
        assert request_errors(record.method, record.path, record.body) == [], record.body


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_menu_lists_every_route_and_a_typed_number_opens_it(bot):
    user = bot.user()
    await user.say(user.follow())
    pages = [texts(await user.tap(p.label)) for p in SCENARIOS.system.menu[1:]]
    menu_text = texts(await user.say(user.text("メニュー"))) + "".join(pages)
    numbered = [r for p in SCENARIOS.system.menu for r in p.routes]
    assert set(numbered) == set(SCENARIOS.routes)
    for i, route_id in enumerate(numbered, start=1):
        assert f"{i}. {SCENARIOS.routes[route_id].menu_label}" in menu_text
    await user.say(user.text(str(numbered.index("number_check") + 1)))
    assert where(user.last_quick_replies) == ("number_check", "start")
