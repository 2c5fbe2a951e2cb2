"""Engine messages to and from the JSON kept in the outbox."""

from __future__ import annotations

from typing import Any

from supportnavi.engine import OutText, QuickReply


def dump_messages(messages: list[OutText]) -> dict[str, Any]:
    return {
        "messages": [
            {
                "text": m.text,
                "quick_replies": [
                    {"label": q.label, "kind": q.kind, "data": q.data, "uri": q.uri}
                    for q in m.quick_replies
                ],
            }
            for m in messages
        ]
    }


def load_messages(data: dict[str, Any]) -> list[OutText]:
    return [
        OutText(
            text=m["text"],
            quick_replies=tuple(
                QuickReply(label=q["label"], kind=q["kind"], data=q["data"], uri=q["uri"])
                for q in m["quick_replies"]
            ),
        )
        for m in data["messages"]
    ]
