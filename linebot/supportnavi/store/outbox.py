"""The outbox's transitions, stated once: how a try at sending a row is written down, by the
webhook's own delivery (through the group commit) and by the relay alike, on both databases.

They were written three times (the ORM's update for the relay, PostgreSQL Core statements and
SQLite text for the group commit), and nothing checked that the copies agreed. Now each is one
Core statement, built once per (outcome, who, token) and run as it is on either database.

The rules:
- only a `pending` row changes, so a late answer never undoes another try's `sent`;
- a failure of the webhook's own try (not the relay's) is written only while no relay has
  taken the row (`next_attempt_at` is NULL): from then on, the relay owns it;
- `sent` and `failed` clear the row's words (`CLEARED_MESSAGES`): they may repeat what the
  person typed, and nothing needs them any more;
- `reply_maybe_sent` changes only when the try says something about it (NULL keeps it).
"""

from __future__ import annotations

from typing import Any, Literal, cast

from sqlalchemy import Boolean, DateTime, String, Table, bindparam, func, update
from sqlalchemy.sql.dml import Update

from supportnavi.store.models import CLEARED_MESSAGES, Outbox

OUTBOX = cast(Table, Outbox.__table__)
OutboxOutcome = Literal["sent", "retry", "failed"]

_STATEMENTS: dict[tuple[str, bool, bool], Update] = {}


def transition(outcome: OutboxOutcome, *, by_relay: bool, drop_token: bool = False) -> Update:
    """The statement for one kind of try's outcome; its parameters are those of `params`."""
    key = (outcome, by_relay, drop_token)
    statement = _STATEMENTS.get(key)
    if statement is None:
        statement = _STATEMENTS[key] = _build(outcome, by_relay=by_relay, drop_token=drop_token)
    return statement


def params(outbox_id: str, *, now: Any, error: str | None, retry_at: Any = None,
           reply_maybe_sent: bool | None = None) -> dict[str, Any]:
    return {"b_id": outbox_id, "b_now": now, "b_error": error[:255] if error else None,
            "b_retry_at": retry_at, "b_maybe": reply_maybe_sent}


def _build(outcome: OutboxOutcome, *, by_relay: bool, drop_token: bool) -> Update:
    query = update(OUTBOX).where(OUTBOX.c.id == bindparam("b_id"),
                                 OUTBOX.c.status == "pending")
    if outcome != "sent" and not by_relay:
        query = query.where(OUTBOX.c.next_attempt_at.is_(None))
    values: dict[str, Any] = {
        "attempts": OUTBOX.c.attempts + 1,
        "error": bindparam("b_error", type_=String()),
        # NULL keeps what the row says (a push says nothing about the reply)
        "reply_maybe_sent": func.coalesce(bindparam("b_maybe", type_=Boolean),
                                          OUTBOX.c.reply_maybe_sent),
    }
    if outcome == "sent":
        values.update(status="sent", sent_at=bindparam("b_now", type_=DateTime(timezone=True)),
                      next_attempt_at=None, messages=CLEARED_MESSAGES)
    elif outcome == "retry":
        values["next_attempt_at"] = bindparam("b_retry_at", type_=DateTime(timezone=True))
    else:
        values.update(status="failed", next_attempt_at=None, messages=CLEARED_MESSAGES)
    if drop_token:
        values["reply_token"] = None
    return query.values(**values)
