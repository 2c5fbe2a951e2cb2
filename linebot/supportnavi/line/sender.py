"""Sending messages through the SDK's AsyncMessagingApi."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    DatetimePickerAction,
    MulticastRequest,
    PostbackAction,
    PushMessageRequest,
    QuickReply,
    QuickReplyItem,
    ReplyMessageRequest,
    TextMessage,
    URIAction,
)

from supportnavi.conversation.events import SendResult
from supportnavi.engine import OutText
from supportnavi.engine import QuickReply as EngineQuickReply

log = logging.getLogger(__name__)


class LineSender:
    """Made and closed in the app's lifespan; one HTTP connection pool per process."""

    def __init__(
        self, base_url: str, access_token: str, timeout: float = 5.0, *,
        max_connections: int | None = None,
    ) -> None:
        configuration = Configuration(host=base_url, access_token=access_token)
        if max_connections is not None:
            # the SDK's default pool is 5 per CPU; the reminder dispatcher sends concurrently
            configuration.connection_pool_maxsize = max_connections
        self._client = AsyncApiClient(configuration)
        self._api = AsyncMessagingApi(self._client)
        self._timeout = timeout

    async def close(self) -> None:
        await self._client.close()

    async def reply(self, reply_token: str, messages: list[OutText]) -> SendResult:
        request = ReplyMessageRequest(reply_token=reply_token, messages=to_sdk(messages))
        return await self._call("reply", self._api.reply_message_with_http_info(request))

    async def push(self, to: str, messages: list[OutText], retry_key: str) -> SendResult:
        request = PushMessageRequest(to=to, messages=to_sdk(messages))
        return await self._call(
            "push", self._api.push_message_with_http_info(request, x_line_retry_key=retry_key)
        )

    async def multicast(self, to: list[str], messages: list[OutText], retry_key: str) -> SendResult:
        """The same messages to up to 500 people in one request; 409 (the key was accepted
        before) is a success for every one of them."""
        request = MulticastRequest(to=to, messages=to_sdk(messages))
        return await self._call(
            "multicast", self._api.multicast_with_http_info(request, x_line_retry_key=retry_key)
        )

    async def _call(self, op: str, call: object) -> SendResult:
        try:
            response: Any = await asyncio.wait_for(call, self._timeout)  # type: ignore[arg-type]
        except ApiException as exc:
            message = _error_message(exc.body)
            if op in ("push", "multicast") and exc.status == 409:
                return SendResult(ok=True, status=409)  # this retry key was accepted before
            invalid = op == "reply" and exc.status == 400 and "reply token" in message.lower()
            return SendResult(ok=False, status=exc.status, error=message, token_invalid=invalid)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}")
        except ValueError as exc:
            # LINE accepted the request but its answer did not parse (the SDK validates it).
            log.warning("%s sent, but the answer did not parse: %s", op, exc)
            return SendResult(ok=True, error="unparsed response")
        return SendResult(ok=True, status=int(response.status_code))


def _error_message(body: object) -> str:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        return str(json.loads(str(body)).get("message", body))
    except (ValueError, AttributeError):
        return str(body)[:200]


def to_sdk(messages: list[OutText]) -> list[TextMessage]:
    return [
        TextMessage(
            text=m.text,
            quick_reply=QuickReply(items=[_item(q) for q in m.quick_replies])
            if m.quick_replies
            else None,
        )
        for m in messages
    ]


def external(uri: str) -> str:
    """Ask LINE to open a page in the phone's own browser, not LINE's in-app one.

    A person should sign in to Amazon where they always do (its app or their browser), never in
    a browser that a chat opened; `openExternalBrowser=1` is LINE's documented switch for it.
    """
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != "openExternalBrowser"]
    query.append(("openExternalBrowser", "1"))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _item(q: EngineQuickReply) -> QuickReplyItem:
    if q.kind == "uri":
        return QuickReplyItem(action=URIAction(label=q.label, uri=external(q.uri)))
    if q.kind == "date":
        return QuickReplyItem(action=DatetimePickerAction(
            label=q.label, data=q.data, mode="date",
            initial=q.initial or None, min=q.min or None, max=q.max or None,
        ))
    return QuickReplyItem(action=PostbackAction(label=q.label, data=q.data, display_text=q.label))
