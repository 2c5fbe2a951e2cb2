"""What typed text at the menu is read as, for `supportnavi classify` and bench/classify.py:
the bot's own turn (advance() on a person at the menu), so that the two can never disagree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from supportnavi.engine.advance import advance
from supportnavi.engine.interpret import Reader
from supportnavi.engine.ports import Classifier, Context, Planner
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.state import State, Text


def read_at_menu(
    scenarios: Scenarios, text: str, *, planner: Planner | None = None,
    classifier: Classifier | None = None, reader: Reader | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """{"route", "node", "score", "kind", "candidates"} for `text` typed at the menu: where the
    bot takes the person (the first place offered, when it asks), and what decided."""
    # a person with no reminders: what the text is read as does not depend on them
    context = Context(planner=planner, classifier=classifier, reader=reader, reminders=(),
                      skipped=())
    outcome = advance(scenarios, State(), Text(text), now or datetime.now(UTC), context)
    understood = outcome.understood
    assert understood is not None  # typed text always records what it was read as
    route: str | None = outcome.state.route
    node: str | None = outcome.state.node
    if understood.candidates:
        route, node = understood.candidates[0].route, understood.candidates[0].node
    elif route is not None and node == scenarios.routes[route].start:
        node = None
    return {
        "route": route,
        "node": node,
        "score": round(understood.score, 4),
        "kind": understood.kind,
        "candidates": [c.route if c.node is None else f"{c.route}.{c.node}"
                       for c in understood.candidates],
    }
