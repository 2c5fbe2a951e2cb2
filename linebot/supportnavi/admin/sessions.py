"""Dashboard sessions, one row each in `admin_sessions`: a login adds one, logout deletes it.

They live in the database, not in a process, so that every worker and every machine agrees
that a session has ended: a cookie kept after logout (a second tab, a copy) lets nobody in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

from supportnavi.admin.queries import Reader
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import AdminSession

ID_BYTES = 32  # 256 random bits: no one guesses a live session
ID_MAX = 64  # the column's width; a longer cookie id is never looked up


async def open_session(db: Database, now: datetime, lifetime: timedelta) -> str:
    """A new session's id. Expired rows go in the same transaction: logins are rare, so the
    table stays as small as the sessions alive."""
    session_id = secrets.token_urlsafe(ID_BYTES)
    async with db.transaction() as session:
        await session.execute(delete(AdminSession).where(AdminSession.expires_at <= now))
        session.add(AdminSession(id=session_id, created_at=now, expires_at=now + lifetime))
    return session_id


async def expires_at(reader: Reader, session_id: str) -> datetime | None:
    """When the session ends; None when there is no such session (never was, or logged out).
    Read through the dashboard's reader: on SQLite it never waits for the write lock."""
    async with reader.session() as session:
        found = await session.scalar(
            select(AdminSession.expires_at).where(AdminSession.id == session_id))
    return None if found is None else as_utc(found)


async def end_session(db: Database, session_id: str) -> None:
    async with db.transaction() as session:
        await session.execute(delete(AdminSession).where(AdminSession.id == session_id))
