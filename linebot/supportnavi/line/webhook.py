"""Signature check and parsing of webhook bodies, through the SDK's WebhookParser."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any

from linebot.v3 import WebhookParser
from linebot.v3.exceptions import InvalidSignatureError
from linebot.v3.webhooks import (
    Event,
    FollowEvent,
    MessageEvent,
    PostbackEvent,
    TextMessageContent,
    UnfollowEvent,
)

from supportnavi.conversation.events import InboundEvent
from supportnavi.engine import Follow, Input, OtherMessage, Postback, Text

log = logging.getLogger(__name__)


class BadSignature(Exception):
    pass


class MalformedBody(Exception):
    pass


class WebhookReader:
    def __init__(self, channel_secret: str) -> None:
        self._parser = WebhookParser(channel_secret)

    def read(self, body: bytes, signature: str) -> list[InboundEvent]:
        """Check the signature over the raw body, then parse. Raises BadSignature first."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            # Checked before parsing, but after the signature would be too late to matter:
            # a body that is not UTF-8 cannot have been signed by LINE either way.
            raise MalformedBody("body is not UTF-8") from exc
        try:
            events = self._parser.parse(text, signature)
        except InvalidSignatureError as exc:
            raise BadSignature("signature does not match the body") from exc
        except json.JSONDecodeError as exc:
            raise MalformedBody(f"body is not JSON: {exc.msg}") from exc
        except RecursionError as exc:  # json.loads on [[[[...]]]] a few thousand deep
            raise MalformedBody("body is not a LINE webhook: nested too deeply") from exc
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise MalformedBody("body is not a LINE webhook: expected an events list") from exc
        return [_convert(e) for e in events]


# LINE sends a text of at most 5,000 characters and postback data of at most 300: anything
# longer did not come from LINE, and is cut before any work (a 200,000-character text held
# the whole server for seconds).
MAX_TEXT, MAX_DATA = 5000, 300
# A timestamp LINE could send: milliseconds since 1970, before the year 10000 (a larger one
# made every later event of its body fail, other people's too).
MAX_TIMESTAMP_MS = 253_402_300_799_999
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _clean(value: str, limit: int) -> str:
    """At most `limit` characters, with any lone surrogate (JSON can carry one, UTF-8 cannot)
    made U+FFFD, so that nothing downstream fails to encode it."""
    return _LONE_SURROGATE.sub("\ufffd", value[:limit])


def _timestamp(value: object) -> int:
    """The event's time in milliseconds, or 0 (unknown) when it is none LINE could send."""
    try:
        ms = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
    return ms if 0 < ms <= MAX_TIMESTAMP_MS else 0


# LINE's ids are short printable ASCII (a user "U" + 32 hex digits, an event id a 26-letter
# ULID, a reply token 32 hex digits); webhook.yml bounds none of them. Anything else is not
# from LINE, and would not fit where the bot keeps it: such an event is ignored, not a 500.
ID_MAX, REPLY_TOKEN_MAX = 64, 255


def _line_like(value: object, limit: int) -> bool:
    return (isinstance(value, str) and 0 < len(value) <= limit and value.isascii()
            and value.isprintable())


def _convert(event: Any) -> InboundEvent:
    converted = _convert_event(event)
    token = converted.reply_token
    if converted.user_key is not None and not (
        _line_like(converted.event_id, ID_MAX) and _line_like(converted.user_key, ID_MAX)
        and (token is None or _line_like(token, REPLY_TOKEN_MAX))
    ):
        log.warning("a %s event whose ids LINE would not send (an id empty, too long or not "
                    "printable ASCII): ignored", converted.source_type)
        return replace(converted, type="ignored", user_key=None, reply_token=None, input=None)
    return converted


def _convert_event(event: Any) -> InboundEvent:
    if not isinstance(event, Event):
        # the SDK's UnknownEvent: a type this SDK version does not know
        raw = getattr(event, "_raw", None) or {}
        etype = str(getattr(event, "type", None) or raw.get("type", "unknown"))
        log.info("unknown webhook event type %r: ignored", etype)
        return InboundEvent(
            event_id=str(getattr(event, "webhook_event_id", "") or ""), type="ignored",
            source_type=etype[:32], user_key=None, reply_token=None, timestamp_ms=0,
        )
    source = event.source
    user_key = (
        getattr(source, "user_id", None)
        or getattr(source, "group_id", None)
        or getattr(source, "room_id", None)
    )
    mode = getattr(event.mode, "value", event.mode)
    common: dict[str, Any] = {
        "event_id": event.webhook_event_id,
        "source_type": str(event.type),
        "user_key": user_key,
        "reply_token": getattr(event, "reply_token", None),
        "timestamp_ms": _timestamp(event.timestamp),
        "standby": mode == "standby",
        "redelivery": bool(event.delivery_context.is_redelivery),
    }
    engine_input: Input | None
    if isinstance(event, FollowEvent):
        return InboundEvent(type="follow", input=Follow(), **common)
    if isinstance(event, UnfollowEvent):
        return InboundEvent(type="unfollow", **common)
    if isinstance(event, MessageEvent):
        message = event.message
        if isinstance(message, TextMessageContent):
            engine_input = Text(_clean(message.text or "", MAX_TEXT))
        else:
            engine_input = OtherMessage(str(getattr(message, "type", "unknown")))
        return InboundEvent(type="message", input=engine_input, **common)
    if isinstance(event, PostbackEvent):
        params = {_clean(str(k), MAX_DATA): _clean(str(v), MAX_DATA)
                  for k, v in (event.postback.params or {}).items()}
        if "newRichMenuAliasId" in params:
            # a tab of the rich menu switched (LINE did it on the phone): nothing to answer
            if params.get("status") != "SUCCESS":
                log.warning("rich menu switch to %r: %s", params["newRichMenuAliasId"],
                            params.get("status"))
            return InboundEvent(type="ignored", **common)
        data = event.postback.data or ""
        # longer than LINE allows: no button of ours made it, so it reads as unknown data
        data = _clean(data, MAX_DATA) if len(data) <= MAX_DATA else ""
        return InboundEvent(type="postback", input=Postback(data, params), **common)
    log.info("webhook event type %r: nothing to do", event.type)
    return InboundEvent(type="ignored", **common)
