"""advance() answers every input, whatever a person types or a postback carries: it never
raises. An exception there is a 500 for that webhook, again on every redelivery, so the person
never gets an answer (and, before the webhook went on past a failing event, neither did anyone
else in the same body).

Text that looks like a number is where it went wrong: `str.isdigit()` is true of 「፩」 (Ethiopic)
and 「²」, which `int()` refuses, and `int()` refuses a run of more than 4,300 digits too."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from supportnavi.engine import Postback, State, Text, advance
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.ports import Context
from supportnavi.engine.scenarios import Scenarios
from supportnavi.reminders.planner import RulesPlanner, days_from_facts
from supportnavi.settings import REPO_ROOT

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
SCENARIOS: Scenarios = load_scenarios(REPO_ROOT / "scenarios")
CONTEXT = Context(planner=RulesPlanner(ZoneInfo("Asia/Tokyo"), days_from_facts(SCENARIOS.facts)),
                  reminders=(), skipped=())
# Inputs that once raised: digits int() refuses, and too many of them.
NUMBERLIKE = ["፩", "𐩀", "²", "³½", "٣", "１", "1" * 4301, "9" * 5000, "፩月፪日", "0120-፩"]


def _states() -> list[State]:
    """The menu, and one screen of each way typed text is read: a phone number asked for, a
    link asked for, a date asked for, the reminders list, an end."""
    found = [State()]
    wanted: dict[str, State | None] = {"phone": None, "link": None, "remind": None,
                                       "show": None, "end": None}
    for route in SCENARIOS.routes.values():
        for node_id, node in route.nodes.items():
            kinds = [node.input.kind] if node.input is not None else []
            kinds += [a for a in ("remind", "show", "end") if getattr(node, a)]
            for kind in kinds:
                if wanted[kind] is None:
                    wanted[kind] = State(route=route.id, node=node_id,
                                         stack=[(route.id, route.start)])
    assert all(wanted.values()), wanted
    return found + [s for s in wanted.values() if s is not None]


STATES = _states()


def _answered(state: State, event: Text | Postback) -> None:
    outcome = advance(SCENARIOS, state, event, NOW, CONTEXT)
    assert outcome.needs_reminders or 1 <= len(outcome.messages) <= 5


def test_every_kind_of_screen_is_covered():
    screens = {(s.route, s.node) for s in STATES}
    assert len(screens) == 6, screens


@pytest.mark.parametrize("text", NUMBERLIKE)
@pytest.mark.parametrize("state", STATES, ids=lambda s: f"{s.route}.{s.node}")
def test_text_that_looks_like_a_number_is_answered(state, text):
    _answered(state, Text(text))


@pytest.mark.parametrize("key", ["menu:፩", "menu:²", "menu:" + "1" * 4301, "menu:-1",
                                 "stop:trial_cancel:2026-13-45", "stop:፩", "revive:maybe",
                                 "do:window:9-21>nowhere", "route:", "to:", "action:nothing"])
@pytest.mark.parametrize("state", STATES[:2], ids=lambda s: f"{s.route}.{s.node}")
def test_a_postback_with_a_strange_key_is_answered(state, key):
    _answered(state, Postback(urlencode({"v": "1", "k": key})))


@settings(max_examples=300, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(state=st.sampled_from(STATES),
       text=st.one_of(st.text(max_size=60),
                      st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]),
                              min_size=1, max_size=30),
                      st.sampled_from(NUMBERLIKE)))
def test_any_text_anywhere_is_answered(state, text):
    _answered(state, Text(text))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(state=st.sampled_from(STATES), data=st.text(max_size=80),
       day=st.text(max_size=12))
def test_any_postback_anywhere_is_answered(state, data, day):
    _answered(state, Postback(data, {"date": day}))
