"""`supportnavi chat`: talk to the bot in a terminal, through the real signed-webhook path.

Each line typed becomes a LINE webhook body (simulator/signing.py), signed with the channel
secret and posted to /callback. The bot's answer is read back from the fake LINE API that
recorded it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from supportnavi.settings import FAKE_LINE_PREFIX
from supportnavi.simulator.signing import (
    follow_event,
    postback_event,
    sign,
    text_event,
    webhook_body,
)


class ChatClient:
    def __init__(self, base_url: str, secret: str, user_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.user_id = user_id
        self.http = httpx.Client(timeout=10)
        self.seen = self._last_seq()
        self.quick_replies: list[dict[str, Any]] = []

    def _last_seq(self) -> int:
        records = self.http.get(f"{self.base_url}{FAKE_LINE_PREFIX}/_records").json()["records"]
        return max((r["seq"] for r in records), default=0)

    def send(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        body = json.dumps(webhook_body(self.user_id, event), ensure_ascii=False).encode()
        response = self.http.post(
            f"{self.base_url}/callback", content=body,
            headers={
                "content-type": "application/json",
                "x-line-signature": sign(self.secret, body),
            },
        )
        if response.status_code != 200:
            raise RuntimeError(f"/callback answered {response.status_code}: {response.text}")
        return self._wait_for_messages(expect=event["type"] != "unfollow")

    def _wait_for_messages(self, expect: bool, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            records = self.http.get(
                f"{self.base_url}{FAKE_LINE_PREFIX}/_records", params={"after": self.seen}
            ).json()["records"]
            mine = [r for r in records if _addressed_to(r, self.user_id)]
            if records:
                self.seen = max(r["seq"] for r in records)
            if mine or not expect or time.monotonic() > deadline:
                messages = [m for r in mine for m in r["body"]["messages"]]
                if messages:
                    self.quick_replies = (messages[-1].get("quickReply") or {}).get("items", [])
                return messages
            time.sleep(0.05)

    def say(self, line: str) -> list[dict[str, Any]]:
        """A number picks a shown button (a postback, as a tap would); anything else is text."""
        choice, _, rest = line.strip().partition(" ")
        if choice.isascii() and choice.isdecimal() and 1 <= int(choice) <= len(self.quick_replies):
            action = self.quick_replies[int(choice) - 1]["action"]
            if action["type"] == "postback":
                return self.send(postback_event(action["data"]))
            if action["type"] == "uri":
                return [{"type": "text", "text": f"(ブラウザで開くページ: {action['uri']})"}]
            if action["type"] == "datetimepicker":
                # LINE's date picker, in a terminal: "3 2026-12-05" picks that date
                if not rest.strip():
                    hint = f"(日付を選ぶには「{choice} {action.get('initial', '2026-12-05')}」の" \
                           "ように番号と日付を送ってください)"
                    return [{"type": "text", "text": hint}]
                return self.send(postback_event(action["data"], {"date": rest.strip()}))
        return self.send(text_event(line))


def _addressed_to(record: dict[str, Any], user_id: str) -> bool:
    body = record.get("body") or {}
    to = body.get("to")
    return record["path"].endswith("/reply") or to == user_id or (
        isinstance(to, list) and user_id in to  # a multicast
    )


def render(messages: list[dict[str, Any]], out: Callable[[str], None]) -> None:
    for message in messages:
        out("")
        for line in message.get("text", "").splitlines():
            out(f"  bot │ {line}")
    items = (messages[-1].get("quickReply") or {}).get("items", []) if messages else []
    if items:
        out("")
        for i, item in enumerate(items, 1):
            action = item["action"]
            mark = {"uri": " ↗", "datetimepicker": " 📅"}.get(action["type"], "")
            out(f"   [{i}] {action['label']}{mark}")


FOLLOW: dict[str, Any] = follow_event()
