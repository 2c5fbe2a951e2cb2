"""Sending messages to LINE's Messaging API.

Replies, pushes and multicasts take a fast path: each distinct message list is turned into
JSON once, by the SDK's own models (`to_sdk(...)` and `.to_dict()`, so the body is the one the
SDK would send), and posted with one shared aiohttp session. Building and validating the SDK's
pydantic request models for every request, and its `trust_env` session (a proxy and netrc
lookup in a thread per request), cost about 1 ms per request: a quarter of LINE's 2,000
pushes/s for one dispatcher, and the largest part of a webhook event's reply. A bot's screens
repeat (the menu, a route's steps), so most replies reuse a JSON made before.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
from linebot.v3.messaging import (
    ApiException,
    AsyncApiClient,
    AsyncMessagingApi,
    Configuration,
    DatetimePickerAction,
    PostbackAction,
    QuickReply,
    QuickReplyItem,
    TextMessage,
    URIAction,
)

from supportnavi.conversation.events import LineAnswer, SendResult
from supportnavi.engine import OutText
from supportnavi.engine import QuickReply as EngineQuickReply
from supportnavi.metrics import LINE_REQUESTS, line_result

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
        self._base_url = base_url.rstrip("/")
        self._access_token = access_token
        self._max_connections = configuration.connection_pool_maxsize
        self._session: aiohttp.ClientSession | None = None
        # the environment's proxy for LINE (HTTPS_PROXY, NO_PROXY), looked up once: the fast
        # path's session does not read the environment per request (see `_http`)
        self._proxy = proxy_for(self._base_url)
        self._json: dict[tuple[OutText, ...], str] = {}  # messages -> their JSON, as the SDK's
        self._items: dict[EngineQuickReply, dict[str, Any]] = {}  # one button -> its JSON

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
        await self._client.close()

    async def reply(self, reply_token: str, messages: list[OutText]) -> SendResult:
        # the same keys, in the same order, as ReplyMessageRequest's JSON
        body = (f'{{"replyToken": {json.dumps(reply_token)}, '
                f'"messages": {self.messages_json(messages)}, "notificationDisabled": false}}')
        return await self._post("reply", body, None)

    async def push(self, to: str, messages: list[OutText], retry_key: str) -> SendResult:
        # the same keys, in the same order, as PushMessageRequest's JSON
        body = (f'{{"to": {json.dumps(to)}, "messages": {self.messages_json(messages)}, '
                f'"notificationDisabled": false}}')
        return await self._post("push", body, retry_key)

    async def multicast(self, to: list[str], messages: list[OutText], retry_key: str) -> SendResult:
        """The same messages to up to 500 people in one request; 409 (the key was accepted
        before) is a success for every one of them."""
        # the same keys, in the same order, as MulticastRequest's JSON
        body = (f'{{"messages": {self.messages_json(messages)}, "to": {json.dumps(to)}, '
                f'"notificationDisabled": false}}')
        return await self._post("multicast", body, retry_key)

    def messages_json(self, messages: list[OutText]) -> str:
        """The messages as the SDK serialises them, made once per distinct list (the
        dispatcher renders a reminder's text once and sends it to many; a screen's reply is
        the same for everyone who reaches it)."""
        key = tuple(messages)
        found = self._json.get(key)
        if found is None:
            if len(self._json) >= 10_000:
                self._json.clear()
            found = self._json[key] = json.dumps([self._message_dict(m) for m in messages])
        return found

    def _message_dict(self, message: OutText) -> dict[str, Any]:
        """TextMessage(...).to_dict(), with each link or date-picker item serialised by the SDK
        once (they repeat across thousands of pushes), and postback items, the SDK's dict
        written out (every reminder has a stop button of its own: one pydantic model each was
        a tenth of a push's CPU)."""
        if not message.quick_replies:
            return {"type": "text", "text": message.text}
        items = []
        for reply in message.quick_replies:
            if reply.kind == "postback":
                items.append(_postback_item(reply))
                continue
            item = self._items.get(reply)
            if item is None:
                if len(self._items) >= 10_000:
                    self._items.clear()
                item = self._items[reply] = _item(reply).to_dict()
            items.append(item)
        return {"type": "text", "quickReply": {"items": items}, "text": message.text}

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
                trust_env=False,  # the SDK's True looks proxies up in a thread per request
            )
        return self._session

    async def _post(self, op: str, body: str, retry_key: str | None) -> SendResult:
        headers = {
            "Authorization": f"Bearer {self._access_token}",
            "Content-Type": "application/json",
        }
        if retry_key is not None:
            headers["X-Line-Retry-Key"] = retry_key
        try:
            async with self._http().post(f"{self._base_url}/v2/bot/message/{op}",
                                         data=body.encode(), headers=headers,
                                         proxy=self._proxy) as response:
                return _answer(op, response.status, await response.read())
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            return _no_answer(op, exc)

    async def _call(self, op: str, call: object) -> SendResult:
        try:
            response: Any = await asyncio.wait_for(call, self._timeout)  # type: ignore[arg-type]
        except ApiException as exc:
            return _answer(op, exc.status, exc.body)
        except (TimeoutError, OSError, aiohttp.ClientError) as exc:
            return _no_answer(op, exc)
        except ValueError as exc:
            # LINE accepted the request but its answer did not parse (the SDK validates it).
            log.warning("%s sent, but the answer did not parse: %s", op, exc)
            LINE_REQUESTS.labels(op, "ok").inc()
            return SendResult(LineAnswer.OK, error="unparsed response")
        return _answer(op, int(response.status_code), None)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url`, as the SDK's own session would use it
    (`HTTP_PROXY`/`HTTPS_PROXY`, unless `NO_PROXY` names the host); None: go direct."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    proxy = getproxies().get(parts.scheme)
    # a fake LINE API on this machine (simulator mode, the tests) is never behind a proxy
    if not proxy or host in ("127.0.0.1", "localhost", "::1") or proxy_bypass(host):
        return None
    return proxy


# LINE's words that tell one 400 or 429 from another (the Messaging API reference's
# "Status codes" and "Rate limits"): a used or expired reply token, a person who blocked the
# bot, the month's quota rather than the rate.
_BLOCKED = re.compile(r"friend|block|unfollow", re.IGNORECASE)
_MONTHLY_QUOTA = re.compile(r"monthly limit", re.IGNORECASE)


def classify(op: str, status: int, message: str) -> LineAnswer:
    """What LINE's answer to a reply, push or multicast means: the one reading of it."""
    if 200 <= status < 300:
        return LineAnswer.OK
    if status == 409 and op != "reply":
        return LineAnswer.ACCEPTED_BEFORE
    if status == 429:
        return (LineAnswer.QUOTA_EXHAUSTED if _MONTHLY_QUOTA.search(message)
                else LineAnswer.RATE_LIMITED)
    if status >= 500:
        return LineAnswer.SERVER_ERROR
    if status == 400 and op == "reply" and "reply token" in message.lower():
        return LineAnswer.TOKEN_INVALID
    if status == 400 and op == "push" and _BLOCKED.search(message):
        return LineAnswer.BLOCKED
    return LineAnswer.REFUSED


def _answer(op: str, status: int, body: object) -> SendResult:
    """What LINE's answer means, through the SDK or the fast path alike."""
    message = "" if 200 <= status < 300 else _error_message(body)
    result = SendResult(classify(op, status, message), status, message or None)
    LINE_REQUESTS.labels(op, line_result(status, result.ok)).inc()
    return result


def _no_answer(op: str, exc: BaseException) -> SendResult:
    """A timeout or a connection error: LINE may or may not have the request."""
    LINE_REQUESTS.labels(op, line_result(None, ok=False)).inc()
    return SendResult(LineAnswer.NO_ANSWER, error=f"{type(exc).__name__}: {exc}")


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


def _postback_item(q: EngineQuickReply) -> dict[str, Any]:
    """`_item(q).to_dict()` for a postback button: the same keys, in the same order
    (tests/reminders/test_sender_fast_path.py holds them to the SDK's)."""
    return {"action": {"type": "postback", "label": q.label, "data": q.data,
                       "displayText": q.label}, "type": "action"}


def _item(q: EngineQuickReply) -> QuickReplyItem:
    if q.kind == "uri":
        return QuickReplyItem(action=URIAction(label=q.label, uri=external(q.uri)))
    if q.kind == "date":
        return QuickReplyItem(action=DatetimePickerAction(
            label=q.label, data=q.data, mode="date",
            initial=q.initial or None, min=q.min or None, max=q.max or None,
        ))
    return QuickReplyItem(action=PostbackAction(label=q.label, data=q.data, display_text=q.label))
