from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from supportnavi.conversation.events import SendResult
from supportnavi.engine import OutText


class Sender(Protocol):
    """What the service needs from LINE. The line adapter implements it."""

    async def reply(self, reply_token: str, messages: list[OutText]) -> SendResult: ...

    async def push(self, to: str, messages: list[OutText], retry_key: str) -> SendResult: ...

    async def multicast(
        self, to: list[str], messages: list[OutText], retry_key: str
    ) -> SendResult: ...


class ObservedSender:
    """A Sender that shows every answer LINE gave (to the metrics), then returns it."""

    def __init__(self, sender: Sender, observe: Callable[[str, SendResult], None]) -> None:
        self._sender = sender
        self._observe = observe

    async def reply(self, reply_token: str, messages: list[OutText]) -> SendResult:
        result = await self._sender.reply(reply_token, messages)
        self._observe("reply", result)
        return result

    async def push(self, to: str, messages: list[OutText], retry_key: str) -> SendResult:
        result = await self._sender.push(to, messages, retry_key)
        self._observe("push", result)
        return result

    async def multicast(self, to: list[str], messages: list[OutText], retry_key: str) -> SendResult:
        result = await self._sender.multicast(to, messages, retry_key)
        self._observe("multicast", result)
        return result
