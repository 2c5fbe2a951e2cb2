"""The database handle: one async engine per process, made and closed by the app's lifespan."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_CONNECT_TIMEOUT_S = 5.0
HEALTH_PROBE_S = 1.0  # /healthz: how long SQLite's write lock may keep the check waiting


class Database:
    def __init__(
        self, url: str, *, echo: bool = False,
        sqlite_busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
    ) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        self.busy_timeout_ms = sqlite_busy_timeout_ms
        self._busy_timeout_s = sqlite_busy_timeout_ms / 1000
        # an error's message (and so a traceback in the logs) never carries the statement's
        # values: reply tokens, ids and message texts are parameters
        kwargs: dict[str, Any] = {"echo": echo, "hide_parameters": True}
        if self.is_sqlite:
            _ensure_parent_dir(self.url.database)
            kwargs["connect_args"] = {"timeout": sqlite_busy_timeout_ms / 1000}
        else:
            # a database that does not answer fails the event (500, LINE redelivers) in
            # seconds, not after asyncpg's default minute
            kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=True,
                          connect_args={"timeout": PG_CONNECT_TIMEOUT_S})
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer. Within a process, writers queue here, first come first served,
        # instead of spinning in SQLite's busy handler: under a burst, a busy handler that backs
        # off can lose the race again and again until busy_timeout, and the event gets a 500.
        self._sqlite_writer = asyncio.Lock() if self.is_sqlite else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction. On SQLite it starts with BEGIN IMMEDIATE: it holds the write lock
        from its first statement, which serialises writers across processes as FOR UPDATE does
        on PostgreSQL; in one process, writers also queue fairly on an asyncio lock."""
        if self._sqlite_writer is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        async with self._sqlite_writer, self.sessions() as session, session.begin():
            yield session

    async def check(self) -> None:
        """Raise unless the database would take an event's transaction now. PostgreSQL: it
        answers. SQLite: reads go on in WAL mode while another process holds the write lock,
        so the check takes the write lock itself (and lets go at once), waiting at most
        `HEALTH_PROBE_S`, on its own connection, outside this process's queue of writers."""
        if not self.is_sqlite:
            async with self.sessions() as session:
                await session.execute(text("SELECT 1"))
            return
        database = self.url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            return  # nothing another connection could open, or lock
        await asyncio.to_thread(_sqlite_write_probe, database,
                                min(HEALTH_PROBE_S, self._busy_timeout_s))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_write_probe(path: str, timeout: float) -> None:
    if not Path(path).exists():
        raise FileNotFoundError(path)
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    finally:
        connection.close()


def _ensure_parent_dir(database: str | None) -> None:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, say when transactions begin (see "begin" below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # a 200 promises the change survives a power cut
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time this project stores is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
