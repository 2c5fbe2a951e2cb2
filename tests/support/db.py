"""Reading a test database directly, the way a test checks what the bot wrote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy import inspect, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from supportnavi.store.db import Database
from supportnavi.store.models import Base, Reminder, User

# Every table of the models, for a test that empties the shared test PostgreSQL: a table added
# later is emptied too, with no list to keep up.
EVERY_TABLE = ", ".join(table.name for table in Base.metadata.sorted_tables)


@asynccontextmanager
async def session_at(db_url: str) -> AsyncIterator[AsyncSession]:
    """A session on its own engine, disposed afterwards (the app's pool stays untouched)."""
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            yield session
    finally:
        await db.dispose()


async def pg_execute(url: str, sql: str) -> None:
    """One statement on a PostgreSQL given by its SQLAlchemy URL, on a connection of its own
    (CREATE/DROP DATABASE cannot run in a transaction, TRUNCATE must not wait on a pool)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def empty_pg(url: str) -> None:
    await pg_execute(url, f"TRUNCATE {EVERY_TABLE} CASCADE")


async def all_reminders(db_url: str) -> list[Reminder]:
    async with session_at(db_url) as session:
        return list((await session.execute(select(Reminder))).scalars())


async def every_row(db_url: str) -> str:
    """Every row of every table in the database, as one string: what a test searches for
    something the bot must not keep. Each row's repr, and each value as it is (a repr escapes
    a tab or a zero-width space)."""
    engine = create_async_engine(db_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            dump = []
            for table in tables:
                rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
                dump.append(f"{table}: {[tuple(r) for r in rows]}")
                dump.extend(str(value) for row in rows for value in row)
            return "\n".join(dump)
    finally:
        await engine.dispose()


async def lock_user(session: AsyncSession, user_id: str, now: datetime) -> User:
    """A person's row, made if new and held locked until the transaction ends, as the group
    commit's `lock_users` does for many: for tests that write rows of their own."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(User)
        .values(id=user_id, status="active", first_seen=now, last_seen=now)
        .on_conflict_do_nothing(index_elements=[User.id])
    )
    user = (
        await session.execute(
            select(User).where(User.id == user_id).with_for_update().execution_options(
                populate_existing=True
            )
        )
    ).scalar_one()
    return user
