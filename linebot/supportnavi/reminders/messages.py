"""What a pushed reminder says: system.yaml's text for its kind, with the deadline filled in
and a button that opens the route where the person can act."""

from __future__ import annotations

from datetime import date

from supportnavi.engine import OutText, Scenarios, postback
from supportnavi.reminders.rules import format_ja


def render(scenarios: Scenarios, kind: str, deadline: date) -> list[OutText]:
    text = scenarios.system.reminders[kind]
    buttons = (
        postback.global_reply(text.button, f"route:{text.route}"),
        postback.global_reply(scenarios.system.labels.menu, "action:menu"),
    )
    return [OutText(text.text.replace("{deadline}", format_ja(deadline)), buttons)]
