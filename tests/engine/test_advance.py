"""advance() without I/O: the state machine on the real scenarios."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from supportnavi.engine import Follow, OtherMessage, Postback, State, Text, advance
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sc():
    return load_scenarios(REPO_ROOT / "scenarios")


def tap(sc, state, label):
    shown = advance(sc, state, Text("__probe__"), NOW).messages[-1].quick_replies
    for q in shown:
        if q.label == label:
            return advance(sc, state, Postback(q.data), NOW)
    raise AssertionError(f"{label!r} not shown; shown: {[q.label for q in shown]}")


def test_follow_resets_to_the_menu(sc):
    out = advance(sc, State(route="contact", node="chat"), Follow(), NOW)
    assert out.state.route is None and out.state.stack == []
    assert [s.kind for s in out.steps] == ["follow"]
    assert 1 <= len(out.messages) <= 5


def test_every_node_renders_within_lines_limits(sc):
    for route in sc.routes.values():
        for node_id in route.nodes:
            state = State(route=route.id, node=node_id, stack=[(route.id, route.start)])
            for event in (Text("？？"), OtherMessage("sticker"), Postback("junk")):
                out = advance(sc, state, event, NOW)
                assert 1 <= len(out.messages) <= 5
                assert len(out.messages[-1].quick_replies) <= 13
                assert all(len(q.label) <= 20 for q in out.messages[-1].quick_replies)


def test_back_returns_along_the_path_and_then_to_the_menu(sc):
    s = advance(sc, State(), Text("プライム解約"), NOW).state
    s = tap(sc, s, "ウェブで解約する").state
    s = tap(sc, s, "次へ（手順4・5）").state
    assert s.node == "web_2"
    out = advance(sc, s, Text("戻る"), NOW)
    assert out.state.node == "web_1" and out.resolved == "command:back"
    out = advance(sc, out.state, Text("戻る"), NOW)
    assert out.state.node == "start"
    out = advance(sc, out.state, Text("戻る"), NOW)
    assert out.state.route is None


def test_restart_goes_to_the_route_start_from_anywhere(sc):
    s = State(route="contact", node="dead", stack=[("contact", "start"), ("contact", "phone")])
    out = advance(sc, s, Text("最初から"), NOW)
    assert (out.state.route, out.state.node) == ("contact", "start")
    assert out.state.stack == []


def test_stale_postback_keeps_the_state(sc):
    s = State(route="prime_cancel", node="phone_1", stack=[("prime_cancel", "start")])
    out = advance(sc, s, Postback("v=1&k=to:web_1&r=prime_cancel&n=start"), NOW)
    assert (out.state.route, out.state.node) == ("prime_cancel", "phone_1")
    assert out.steps[0].kind == "stale"


def test_a_button_removed_from_the_node_is_stale_even_with_the_right_node(sc):
    s = State(route="prime_cancel", node="start")
    out = advance(sc, s, Postback("v=1&k=to:after&r=prime_cancel&n=start"), NOW)
    assert out.state.node == "start" and out.steps[0].kind == "stale"


def test_a_node_removed_by_an_edit_falls_back_to_its_routes_start(sc):
    # issue 18: told the screen is new, then the route's start (the menu only when the route
    # is gone too: tests/test_reload.py)
    out = advance(sc, State(route="prime_cancel", node="gone"), Text("ヘルプ"), NOW)
    assert out.messages[0].text == sc.system.texts.renewed
    assert [m.text for m in out.messages[1:]] == sc.routes["prime_cancel"].nodes["start"].say
    assert (out.state.route, out.state.node) == ("prime_cancel", "start")
    out = advance(sc, State(route="prime_cancel", node="gone"), Postback("junk"), NOW)
    assert (out.state.route, out.state.node) == ("prime_cancel", "start")
    assert out.steps[-1].kind == "stale"


def test_menu_postback_works_from_any_state(sc):
    out = advance(sc, State(route="contact", node="chat"), Postback("v=1&k=route:prime_cancel"),
                  NOW)
    assert (out.state.route, out.state.node) == ("prime_cancel", "start")
    assert out.state.stack[-1] == ("contact", "chat")


def test_resolved_yes_and_no_are_recorded(sc):
    end = State(route="contact", node="done")
    out = tap(sc, end, "はい、解決した")
    assert out.steps[0].kind == "resolved_yes" and out.state.route is None
    out = tap(sc, end, "いいえ、まだ")
    assert out.steps[0].kind == "resolved_no"


def test_the_engine_never_echoes_what_was_typed_into_its_record(sc):
    out = advance(sc, State(), Text("私のパスワードは hunter2 です"), NOW)
    assert "hunter2" not in out.resolved
    assert all("hunter2" not in m.text for m in out.messages)
