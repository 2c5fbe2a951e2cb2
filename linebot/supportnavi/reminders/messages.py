"""What a pushed reminder says: system.yaml's text for its kind, with the deadline filled in,
a button that opens the route where the person can act, and one that stops the reminder."""

from __future__ import annotations

from datetime import date

from supportnavi.engine import OutText, Scenarios, keys, postback
from supportnavi.reminders.rules import format_ja


def render(scenarios: Scenarios, kind: str, given: date, deadline: date) -> list[OutText]:
    text = scenarios.system.reminders[kind]
    labels = scenarios.system.labels
    buttons = (
        postback.global_reply(text.button, keys.Route(text.route)),
        postback.global_reply(labels.stop_reminder, keys.Stop(kind, given)),
        postback.global_reply(labels.menu, keys.DoAction("menu")),
    )
    return [OutText(text.text.replace("{deadline}", format_ja(deadline)), buttons)]
