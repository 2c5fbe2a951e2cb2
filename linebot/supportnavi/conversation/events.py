"""What the service needs to know about one webhook event, free of the SDK's types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
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


# LINE keeps a push's retry key for 24 hours; past that a retry could deliver twice, so the
# relay and the dispatcher give up at 23.
RETRY_KEY_LIFETIME = timedelta(hours=23)


class LineAnswer(StrEnum):
    """What LINE's answer to a reply, push or multicast means, decided once, in the adapter
    (line/sender.py): the relay, the dispatcher, delivery and the incidents read this."""

    OK = "ok"  # 2xx
    ACCEPTED_BEFORE = "accepted_before"  # 409 to a push or multicast: its retry key went
    TOKEN_INVALID = "token_invalid"  # 400 to a reply: the token expired or was used
    BLOCKED = "blocked"  # 400 to a push: the person blocked the bot, or is no friend
    RATE_LIMITED = "rate_limited"  # 429: the API rate limit; slow down
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429: the month's message quota is used up
    SERVER_ERROR = "server_error"  # 5xx: LINE's trouble, it may have taken it
    NO_ANSWER = "no_answer"  # a timeout or a broken connection: it may have taken it
    REFUSED = "refused"  # any other 4xx: it will refuse it again


@dataclass(frozen=True)
class SendResult:
    answer: LineAnswer
    status: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.answer in (LineAnswer.OK, LineAnswer.ACCEPTED_BEFORE)

    @property
    def token_invalid(self) -> bool:
        """The reply token was refused (expired or used): a push is the only way left."""
        return self.answer is LineAnswer.TOKEN_INVALID

    @property
    def retryable(self) -> bool:
        """LINE did not take it, or may have without saying so: 5xx, a rate 429 or no answer
        (a quota 429 is retried only once the quota is back)."""
        return self.maybe_taken or self.answer is LineAnswer.RATE_LIMITED

    @property
    def maybe_taken(self) -> bool:
        """Not confirmed, yet LINE may have it: a 5xx, or no answer at all."""
        return self.answer in (LineAnswer.SERVER_ERROR, LineAnswer.NO_ANSWER)


@dataclass(frozen=True)
class Delivery:
    outbox_id: str
    user_key: str
    reply_token: str | None
    messages: list[OutText]
