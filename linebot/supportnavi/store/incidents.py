"""Failures counted for the operator dashboard: the hour, where, a short code, how many.

A count is written in a transaction of its own, after the failure it counts, and recording never
raises: it must not turn an event that was handled into one that failed, and when the database
itself is what failed, the incident can only be logged. Nothing personal goes in: a code is an
exception's class name (its message may quote what a person typed) or an HTTP status with
LINE's words, cut short, with anything like an id or a long number masked.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import Incident

log = logging.getLogger(__name__)

Place = Literal["webhook", "delivery", "reminder", "engine"]
PLACES: tuple[Place, ...] = ("webhook", "delivery", "reminder", "engine")
CODE_MAX = 80
LINE_WORDS_MAX = 60

_LINE_IDS = re.compile(r"[UCR][0-9a-f]{32}")  # a user's, a group's or a room's id
_LONG_NUMBERS = re.compile(r"\d{5,}")  # a phone, card, order number or a token's digits
_SPACES = re.compile(r"\s+")


def code_of(exc: BaseException) -> str:
    """An exception's class name, never its message."""
    return type(exc).__name__[:CODE_MAX]


def code_of_send(status: int | None, error: str | None) -> str:
    """`500 fake error 500`, `no answer TimeoutError`: LINE's status and the start of its
    message, masked."""
    head = "no answer" if status is None else str(status)
    words = _SPACES.sub(" ", _LONG_NUMBERS.sub("#", _LINE_IDS.sub("<id>", error or ""))).strip()
    return f"{head} {words[:LINE_WORDS_MAX]}".strip()[:CODE_MAX]


def hour_of(at: datetime) -> datetime:
    return as_utc(at).astimezone(UTC).replace(minute=0, second=0, microsecond=0)


async def add(
    session: AsyncSession, place: Place, code: str, at: datetime, count: int = 1
) -> None:
    """Add `count` to the hour's row for this place and code (made if it is the first)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Incident).values(
        hour=hour_of(at), place=place, code=code[:CODE_MAX], count=count
    )
    await session.execute(statement.on_conflict_do_update(
        index_elements=[Incident.hour, Incident.place, Incident.code],
        set_={"count": Incident.count + statement.excluded.count},
    ))


async def record(
    db: Database, place: Place, code: str, *, at: datetime | None = None, count: int = 1
) -> None:
    """Count one failure (or `count`), in its own short transaction; never raises."""
    await record_many(db, place, {code: count}, at=at)


async def record_many(
    db: Database, place: Place, counts: Mapping[str, int], *, at: datetime | None = None
) -> None:
    if not counts:
        return
    when = at or datetime.now(UTC)
    try:
        async with db.transaction() as session:
            for code, count in counts.items():
                await add(session, place, code, when, count)
    except Exception:
        # the database is what failed, most likely: the log is all that is left
        log.exception("could not record %s incident(s) %s", place, sorted(counts))
