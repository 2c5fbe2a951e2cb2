from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's own class attribute
        datetime: DateTime(timezone=True),
        dict[str, Any]: JSON,
    }


class User(Base):
    """A LINE user (or group or room) the bot has heard from. Its row is the per-user lock."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | blocked
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    blocked_at: Mapped[datetime | None] = mapped_column(default=None)
    # The hours (in SUPPORTNAVI_TZ) the person accepts pushes in; NULL: the default 9:00-21:00.
    push_start_hour: Mapped[int | None] = mapped_column(Integer, default=None)
    push_end_hour: Mapped[int | None] = mapped_column(Integer, default=None)

    __table_args__ = (
        Index("ix_users_first_seen", "first_seen"),
        Index("ix_users_blocked_at", "blocked_at"),
    )


class ConversationState(Base):
    __tablename__ = "conversation_states"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    route: Mapped[str | None] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)  # back stack and variables
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class StepRecord(Base):
    """The step history: what each input resolved to and where it led. Never the raw text."""

    __tablename__ = "step_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(32))
    route: Mapped[str | None] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(64))
    resolved: Mapped[str] = mapped_column(String(128))
    event_id: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_step_history_user", "user_id", "id"),
        Index("ix_step_history_route", "route", "node"),
        Index("ix_step_history_at", "at"),  # the dashboard reads the last weeks only
    )


class StepRollup(Base):
    """The dashboard's counts of one period of the step history (admin/rollups.py): written once
    every visit the period counts is over, so they never change; the summary adds them up and
    reads raw rows only after the last one. `basis` is the zone and the end nodes they were
    counted with; a marker row (route and node "*") says the period is complete."""

    __tablename__ = "step_rollups"

    basis: Mapped[str] = mapped_column(String(96), primary_key=True)
    part: Mapped[str] = mapped_column(String(8), primary_key=True)  # head | begin
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    period_end: Mapped[datetime] = mapped_column(primary_key=True)
    route: Mapped[str] = mapped_column(String(64), primary_key=True)  # "*": the marker
    node: Mapped[str] = mapped_column(String(64), primary_key=True)  # "*": the whole route
    span: Mapped[str] = mapped_column(String(8))  # day | hour
    day: Mapped[date]  # the local day the period is in
    visits: Mapped[int] = mapped_column(Integer, default=0)
    ended: Mapped[int] = mapped_column(Integer, default=0)
    gave_up: Mapped[int] = mapped_column(Integer, default=0)
    in_progress: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    yes: Mapped[int] = mapped_column(Integer, default=0)
    no: Mapped[int] = mapped_column(Integer, default=0)
    leaves: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_step_rollups_marker", "basis", "route", "period_start"),)


class ProcessedEvent(Base):
    """A handled webhookEventId, so that a redelivery is skipped; pruned once LINE can no
    longer redeliver it."""

    __tablename__ = "processed_events"
    __table_args__ = (Index("ix_processed_events_at", "processed_at"),)

    webhook_event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(32))
    processed_at: Mapped[datetime]


class Meta(Base):
    """Facts about the database itself, by key: e.g. `mode`, whether a real LINE channel or
    the simulator has used it."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))
    updated_at: Mapped[datetime]


# What an outbox row's `messages` become once it is sent or has failed for good: the words
# the bot said may repeat what the person typed (a phone number, a link's host), and nothing
# needs them any more.
CLEARED_MESSAGES: dict[str, Any] = {"messages": []}


class Outbox(Base):
    """Messages decided in a transaction, sent after it commits.

    Written in the same transaction as the state, so that a reply is never sent for a change that
    did not commit, and a redelivered event (already processed) never produces a second one.
    """

    __tablename__ = "outbox"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # also the X-Line-Retry-Key
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    event_id: Mapped[str] = mapped_column(String(64))
    reply_token: Mapped[str | None] = mapped_column(String(255))
    messages: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the relay may next take the row (conversation/relay.py): a relay's lease while it
    # sends, then the backoff after LINE's trouble. NULL: no relay has touched it yet, so the
    # webhook's own delivery may still switch it from reply to push.
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    # A reply with this token may have reached LINE without our hearing so: true from the start
    # (the webhook's own try is about to go, unrecorded), kept after a 5xx or no answer, false
    # once every try was refused outright (429). The relay reads a refused token by it.
    reply_maybe_sent: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # When LINE sent the event (its `timestamp`): the reply token's minute runs from then, not
    # from when the bot got to it (a redelivery comes late, its token as old as the event).
    event_at: Mapped[datetime | None] = mapped_column(default=None)

    __table_args__ = (Index("ix_outbox_status", "status", "created_at"),)


class Reminder(Base):
    """One push promised to one person. Its retry key is fixed when the row is made, so every
    try (after a timeout, a 5xx, a crash) reuses it and LINE delivers it at most once."""

    __tablename__ = "reminders"
    __table_args__ = (
        Index("ix_reminders_due", "status", "next_attempt_at"),
        Index("ix_reminders_user", "user_id", "status"),
        Index("ix_reminders_batch", "batch_key"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))
    given: Mapped[date]
    deadline: Mapped[date]
    due_at: Mapped[datetime]
    # pending | sent | failed | skipped (the person blocked the bot) | cancelled (they stopped it)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    retry_key: Mapped[str] = mapped_column(String(36))
    # Set before the first try when the row goes out in a multicast with others: the batch's
    # X-Line-Retry-Key, shared by every row of it, so a retry after a crash sends the same
    # request again. NULL: the row goes alone, by push, with its own retry_key.
    batch_key: Mapped[str | None] = mapped_column(String(36), default=None)
    next_attempt_at: Mapped[datetime]
    claimed_until: Mapped[datetime | None] = mapped_column(default=None)
    first_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255), default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class Incident(Base):
    """How often something failed, per hour, where and what: counts only. Never a user id, a
    text or a token (see supportnavi.store.incidents, which writes it)."""

    __tablename__ = "incidents"
    __table_args__ = (UniqueConstraint("hour", "place", "code", name="uq_incidents_hour"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hour: Mapped[datetime]  # UTC, the start of the hour it happened in
    place: Mapped[str] = mapped_column(String(16))  # webhook | delivery | reminder | engine
    code: Mapped[str] = mapped_column(String(80))  # exception class, HTTP status + LINE's words
    count: Mapped[int] = mapped_column(Integer)


class AdminSession(Base):
    """A dashboard login. The cookie carries its id (signed with the token), so that logout can
    end it on the server, for every worker and process at once: a cookie whose row is gone, or
    past `expires_at`, lets nobody in."""

    __tablename__ = "admin_sessions"
    __table_args__ = (Index("ix_admin_sessions_expires", "expires_at"),)  # pruned at login

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, 256 bits
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class UnmatchedText(Base):
    """The operators' inbox (issue 18): one row per text the bot could not place, redacted by
    the engine (engine/redact.py), and where it was typed (`route` NULL: the menu). `key` is
    the group, a SHA-256 of where and the text; `count` how often it came. Never who typed it:
    no user id, not even hashed. `status` new | accepted (with the place chosen) | ignored.
    Pruned `SUPPORTNAVI_UNMATCHED_DAYS` after `last_seen` (store/retention.py)."""

    __tablename__ = "unmatched"
    __table_args__ = (Index("ix_unmatched_last_seen", "last_seen"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    text: Mapped[str] = mapped_column(String(400))
    route: Mapped[str | None] = mapped_column(String(64))
    node: Mapped[str | None] = mapped_column(String(64))
    # the interpreter's best guesses: [{"route", "node", "score"}], best first, at most three
    guesses: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    count: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="new")  # new | accepted | ignored
    accepted_route: Mapped[str | None] = mapped_column(String(64), default=None)
    accepted_node: Mapped[str | None] = mapped_column(String(64), default=None)
