from __future__ import annotations

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
