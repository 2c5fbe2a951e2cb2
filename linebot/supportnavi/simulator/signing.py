"""Webhook bodies as LINE builds and signs them: the one client of `/callback` that the
simulator page, `supportnavi chat` and the tests share (events built to webhook.yml, signed
with HMAC-SHA256 of the channel secret, as the `x-line-signature` header carries it)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from typing import Any

BOT_USER_ID = "U" + "5a" * 16  # the bot's own id, as LINE puts in `destination`


def sign(secret: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_body(user_id: str, event: dict[str, Any]) -> dict[str, Any]:
    """One event wrapped as LINE sends it (see webhook.yml)."""
    base = {
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "mode": "active",
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }
    if event["type"] != "unfollow":
        base["replyToken"] = uuid.uuid4().hex
    return {"destination": BOT_USER_ID, "events": [{**base, **event}]}


def text_event(text: str) -> dict[str, Any]:
    """A typed text message, as `webhook_body` takes it."""
    message = {"type": "text", "id": str(uuid.uuid4().int)[:18], "text": text,
               "quoteToken": "q" + uuid.uuid4().hex}
    return {"type": "message", "message": message}


def postback_event(data: str, params: dict[str, str] | None = None) -> dict[str, Any]:
    """A tap on a postback action; `params` carries a date picker's date or a rich-menu
    switch's outcome, as LINE adds them."""
    postback: dict[str, Any] = {"data": data}
    if params:
        postback["params"] = params
    return {"type": "postback", "postback": postback}


def follow_event(unblocked: bool = False) -> dict[str, Any]:
    return {"type": "follow", "follow": {"isUnblocked": unblocked}}
