"""The wording of every route as a person reads it, after the facts are filled in: the slips a
content audit found once (a doubled phrase, a lost line break, arrow chains, the bot's own
sourcing jargon, a typed domain) must not come back, and bubbles stay short."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT

SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")
LONGEST_BUBBLE = 200  # characters; a phone shows about 20 a line


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")


def shown() -> list[tuple[str, str]]:
    """Every text the bot can show: routes' bubbles, titles and labels, and system.yaml's."""
    found: list[tuple[str, str]] = []
    for route_id, route in SCENARIOS.routes.items():
        for node_id, node in route.nodes.items():
            found += _strings(node.model_dump(exclude={"input"}), f"{route_id}.{node_id}")
    found += _strings(SCENARIOS.system.model_dump(exclude={"understanding", "commands"}),
                      "system")
    return found


def bubbles() -> list[tuple[str, str]]:
    return [(f"{r}.{n}", text) for r, route in SCENARIOS.routes.items()
            for n, node in route.nodes.items() for text in node.say]


def test_no_phrase_is_written_twice_in_a_row():
    # 「AmazonからAmazonから電話をもらう」: a search-and-replace once ran over a phrase that already
    # held its replacement's first words
    doubled = re.compile(r"(\w{4,})\1")
    found = [(where, m.group(0)) for where, text in shown() if (m := doubled.search(text))]
    assert found == []


def test_no_line_break_was_lost_in_the_yaml():
    # a line break inside a double-quoted YAML string folds into a space: 「…確実です。 ※ …」
    found = [where for where, text in shown() if re.search(r"[。）」] [^\s{]", text)]
    assert found == []


def test_steps_are_numbered_not_arrow_chains():
    found = [where for where, text in bubbles() if "」→「" in text]
    assert found == []


def test_no_bubble_speaks_of_where_the_bot_got_its_material():
    found = [where for where, text in shown() if "もとにしたガイド" in text]
    assert found == []


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "scenarios").glob("*.yaml")),
                         ids=lambda p: p.name)
def test_amazons_domain_is_written_only_as_its_fact(path):
    if path.name == "facts.yaml":
        return
    assert "amazon.co.jp" not in path.read_text(encoding="utf-8").lower()


def test_bubbles_stay_short():
    long = [(where, len(text)) for where, text in bubbles() if len(text) > LONGEST_BUBBLE]
    assert long == []


def test_prime_cancel_offers_the_callback_before_a_call():
    labels = [b.label for b in SCENARIOS.routes["prime_cancel"].nodes["start"].buttons]
    assert labels.index("Amazonから電話をもらう") < labels.index("電話で解約する")


def test_a_pushed_reminder_holds_on_its_deadline_day():
    # one text serves every push of a kind, the last morning's too: never "before then"
    found = [kind for kind, reminder in SCENARIOS.system.reminders.items()
             if "その前に" in reminder.text or "前に解約" in reminder.text]
    assert found == []
