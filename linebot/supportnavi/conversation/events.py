"""What the service needs to know about one webhook event, free of the SDK's types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from supportnavi.engine import Input, OutText

EventType = Literal["follow", "unfollow", "message", "postback", "ignored"]


@dataclass(frozen=True)
class InboundEvent:
    event_id: str
    type: EventType
    source_type: str  # the LINE event type as sent, for logs and counters
    user_key: str | None  # userId, or the group or room id
    reply_token: str | None
    timestamp_ms: int
    standby: bool = False
    redelivery: bool = False
    input: Input | None = None


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: int | None = None
    error: str | None = None
    # the reply token was refused (expired or used): a push is the only way left
    token_invalid: bool = False

    @property
    def retryable(self) -> bool:
        """LINE did not take it, or may have without saying so: 5xx, 429 or no answer."""
        return self.maybe_taken or (not self.ok and self.status == 429)

    @property
    def maybe_taken(self) -> bool:
        """Not confirmed, yet LINE may have it: a 5xx, or no answer at all."""
        return not self.ok and (self.status is None or self.status >= 500)


@dataclass(frozen=True)
class Delivery:
    outbox_id: str
    user_key: str
    reply_token: str | None
    messages: list[OutText]
