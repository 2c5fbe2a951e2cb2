"""The engine's answers, pinned: `advance()` at every node of every route (and at the menu), fed
every button the node shows, about thirty typed inputs (commands, menu numbers, dates, phone
numbers, links, secrets, greetings, route words), a follow and a sticker. For each, what the
person would see and what the bot would keep: the texts, the buttons' labels and postback data,
the steps, the effects and the new state.

It is the safety net under refactors of the engine (issue 15): a change that moves code must
leave this file as it is, and the postback data of buttons already on people's phones must stay
byte-identical. A change of behaviour rewrites it on purpose, in a commit of its own:

    SUPPORTNAVI_UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/engine/test_outcome_snapshot.py

Texts and button lists are stored once each and referred to by number, to keep the file small.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from supportnavi.engine import Follow, OtherMessage, Postback, State, Text, advance
from supportnavi.engine.hours import PushHours
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.outcome import Outcome
from supportnavi.engine.ports import Context, ReminderInfo
from supportnavi.reminders.planner import RulesPlanner, days_from_facts
from supportnavi.settings import REPO_ROOT

SNAPSHOT = Path(__file__).parent / "snapshots" / "outcomes.json"
NOW = datetime(2026, 11, 20, 1, 30, tzinfo=UTC)  # 10:30 in Tokyo, a Friday
TYPED = [
    "戻る", "最初から", "メニュー", "ヘルプ", "もどる", "1", "９", "15", "99",
    "12月5日", "2026/12/5", "2026‐12‐5", "２０２６ー１２ー５", "9999年12月31日", "1月40日",
    "0120-999-373", "０１２０９９９３７３", "03-5555-0178", "250-1234567-1234567",
    "https://www.amazon.co.jp/", "amazon.co.jp.evil.example/login", "https://example.com/a",
    "4111 1111 1111 1111", "パスワードは hunter2", "確認コード 123456",
    "こんにちは", "ありがとうございます", "返品", "プライムやめたい", "楽天の解約", "あいうえお",
]


def context(scenarios: Any) -> Context:
    planner = RulesPlanner(ZoneInfo("Asia/Tokyo"), days_from_facts(scenarios.facts))
    pending = (
        ReminderInfo("trial_cancel", date(2026, 12, 5), date(2026, 12, 5),
                     datetime(2026, 12, 2, 0, 0, tzinfo=UTC)),
        ReminderInfo("return_window", date(2026, 12, 9), date(2026, 12, 9),
                     datetime(2026, 12, 4, 0, 0, tzinfo=UTC)),
    )
    return Context(planner=planner, window=PushHours(9, 21), reminders=pending, skipped=())


class Tables:
    """Texts and button lists, each stored once."""

    def __init__(self) -> None:
        self.texts: dict[str, int] = {}
        self.buttons: dict[str, int] = {}

    def text(self, value: str) -> int:
        return self.texts.setdefault(value, len(self.texts))

    def button_list(self, value: list[list[str]]) -> int:
        key = json.dumps(value, ensure_ascii=False)
        return self.buttons.setdefault(key, len(self.buttons))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__,
                **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def record(tables: Tables, given: str, outcome: Outcome) -> dict[str, Any]:
    messages = [
        {"text": tables.text(m.text),
         "buttons": tables.button_list([[q.label, q.kind, q.data, q.uri, q.initial, q.min, q.max]
                                        for q in m.quick_replies]) if m.quick_replies else None}
        for m in outcome.messages
    ]
    state = outcome.state
    return {
        "in": given,
        "messages": messages,
        "steps": [[s.kind, s.route, s.node] for s in outcome.steps],
        "resolved": outcome.resolved,
        "effects": _plain(list(outcome.effects)),
        "state": [state.route, state.node, [list(p) for p in state.stack], dict(state.vars)],
        "needs_reminders": outcome.needs_reminders,
    }


def snapshot() -> dict[str, Any]:
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    ctx = context(scenarios)
    tables = Tables()
    places: dict[str, list[dict[str, Any]]] = {}
    spots = [(None, None)] + [(r, n) for r in sorted(scenarios.routes)
                              for n in scenarios.routes[r].nodes]
    for route_id, node_id in spots:
        state = (State() if route_id is None else
                 State(route=route_id, node=node_id,
                       stack=[(route_id, scenarios.routes[route_id].start)]))
        shown = advance(scenarios, state, OtherMessage("sticker"), NOW, ctx)
        inputs: list[tuple[str, Any]] = [("follow", Follow()), ("sticker", OtherMessage("sticker"))]
        for reply in shown.messages[-1].quick_replies:
            if reply.kind == "postback":
                inputs.append((f"tap {reply.label}", Postback(reply.data)))
            elif reply.kind == "date":
                inputs.append((f"pick {reply.initial}", Postback(reply.data,
                                                                  {"date": reply.initial})))
        labels = [q.label for q in shown.messages[-1].quick_replies]
        inputs += [(f"type {t}", Text(t)) for t in [*TYPED, *labels[:1]]]
        key = "menu" if route_id is None else f"{route_id}.{node_id}"
        places[key] = [record(tables, given, advance(scenarios, state, event, NOW, ctx))
                       for given, event in inputs]
    return {
        "texts": list(tables.texts),
        "buttons": [json.loads(b) for b in tables.buttons],
        "places": places,
    }


def dumps(data: dict[str, Any]) -> str:
    """JSON with one text, one button list and one answer a line, so that a diff shows which
    answers changed."""
    def line(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    out = ['{"texts": [', ",\n".join(line(t) for t in data["texts"]), '],', '"buttons": [',
           ",\n".join(line(b) for b in data["buttons"]), '],', '"places": {']
    out.append(",\n".join(f"{line(key)}: [\n" + ",\n".join(line(r) for r in records) + "\n]"
                           for key, records in data["places"].items()))
    out.append("}}")
    return "\n".join(out) + "\n"


def test_every_nodes_answers_are_as_pinned() -> None:
    got = dumps(snapshot())
    if os.environ.get("SUPPORTNAVI_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(got, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8")
    if got != expected:
        diff = difflib.unified_diff(expected.splitlines(), got.splitlines(), "pinned", "now",
                                    n=2, lineterm="")
        shown = "\n".join(list(diff)[:80])
        raise AssertionError(f"the engine's answers changed (a behaviour change? rewrite the "
                             f"snapshot in a commit of its own):\n{shown}")
