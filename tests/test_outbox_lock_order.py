"""The two writers of outbox outcomes, the group commit (the webhook's own tries) and the relay,
lock the rows they write in id order, so that on PostgreSQL they can wait for each other but
never deadlock (a deadlock fails one whole transaction: a batch of events answered 500).

Staged deterministically: another transaction holds the lower row; the writer is given its
outcomes higher row first; once the writer waits, the other transaction asks for the higher
row too. A writer in id order holds nothing while it waits, so that second lock is granted at
once; a writer in the given order would hold the higher row, and PostgreSQL would report a
deadlock."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from sqlalchemy import select

from supportnavi.conversation.relay import Relay, _Outcome, _Row
from supportnavi.store.batch import batch_store
from supportnavi.store.db import Database
from supportnavi.store.models import Outbox, User
from tests.support.db import session_at

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
LOW, HIGH = "00000000-0000-4000-8000-000000000001", "00000000-0000-4000-8000-000000000002"

Writer = Callable[[Database, list[str]], Awaitable[None]]


async def group_commit(db: Database, ids: list[str]) -> None:
    async with db.transaction() as session:
        store = await batch_store(session)
        await store.finish_outboxes([(i, "sent", None, False) for i in ids], NOW)


async def relay(db: Database, ids: list[str]) -> None:
    rows = [_Row(i, "U1", None, {}, 1, NOW, NOW, True) for i in ids]
    writer = Relay(db, sender=None, grace=timedelta(seconds=15),  # type: ignore[arg-type]
                   lease=timedelta(seconds=30), clock=lambda: NOW)
    await writer._write([_Outcome(row, "sent", maybe_sent=False) for row in rows])


async def _rows(db_url: str) -> None:
    async with session_at(db_url) as session:
        session.add(User(id="U1", status="active", first_seen=NOW, last_seen=NOW))
        await session.flush()
        for i in (LOW, HIGH):
            session.add(Outbox(id=i, user_id="U1", event_id=uuid.uuid4().hex, reply_token="t",
                               messages={"messages": []}, created_at=NOW))
        await session.commit()


async def _waiting_on_a_lock(conn: asyncpg.Connection, deadline: float) -> None:
    while time.monotonic() < deadline:
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()")
        if waiting:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the writer never waited for the row the other transaction holds")


@pytest.mark.parametrize("db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)],
                         indirect=True)
@pytest.mark.parametrize("writer", [group_commit, relay], ids=["group_commit", "relay"])
async def test_outcomes_are_written_in_id_order_so_two_writers_never_deadlock(
    db_url: str, writer: Writer
) -> None:
    await _rows(db_url)
    db = Database(db_url)
    other = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        probe = await asyncpg.connect(db_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            tx = other.transaction()
            await tx.start()
            await other.execute("SET LOCAL lock_timeout = '5s'")
            await other.execute("SELECT id FROM outbox WHERE id = $1 FOR UPDATE", LOW)
            writing = asyncio.create_task(writer(db, [HIGH, LOW]))
            await _waiting_on_a_lock(probe, time.monotonic() + 10)
            # the writer waits for LOW; had it taken HIGH first, this is a deadlock
            await other.execute("SELECT id FROM outbox WHERE id = $1 FOR UPDATE", HIGH)
            await tx.commit()
            await asyncio.wait_for(writing, 10)
        finally:
            await probe.close()
    finally:
        await other.close()
        await db.dispose()
    async with session_at(db_url) as session:
        status = dict((await session.execute(select(Outbox.id, Outbox.status))).all())
    assert status == {LOW: "sent", HIGH: "sent"}
