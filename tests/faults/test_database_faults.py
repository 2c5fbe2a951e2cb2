"""A database that is briefly locked or gone: the webhook answers 500 (LINE redelivers),
without a traceback; /healthz says the database is down (503); and once it is back, the
redelivered events are handled and answered exactly once.

SQLite: another process holds the write lock for longer than the busy timeout. PostgreSQL: the
bot reaches it through a TCP proxy on 127.0.0.1 that the test stops (every connection cut,
new ones refused) and starts again."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from supportnavi.app import create_app
from tests.conftest import Served, bot_settings
from tests.faults.checks import received, row_counts, snapshot, wait_until_sent
from tests.support.load import plan_people, redelivered, signed

HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("LOCKED", flush=True)
sys.stdin.read()  # until the test closes it
connection.execute("ROLLBACK")
"""
LEAKS = ("Traceback", 'File "', "sqlalchemy", "sqlite3", "asyncpg", "OperationalError",
         "Error:")


@contextlib.contextmanager
def write_lock_held(path: str):
    """Another process holding SQLite's write lock until the block ends."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, path], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "LOCKED"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=20)


class TcpProxy:
    """127.0.0.1:port → the target, until `stop()` cuts every connection and refuses new ones;
    `start()` again opens the same port."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port,
                                                 reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        self.writers.clear()
        await self.server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update({writer, up_writer})

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.difference_update({writer, up_writer})


async def _post(client: httpx.AsyncClient, event: dict[str, Any]) -> httpx.Response:
    body, headers = signed(event)
    return await client.post("/callback", content=body, headers=headers)


async def _health(client: httpx.AsyncClient) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    return response.status_code, response.json()


async def _outage_then_recovery(db_url: str, bot_url: str, fake, outage, scenarios) -> None:
    """Events during the outage get 500 and leave nothing; their redelivery, once the
    database is back, is handled and answered once."""
    people = plan_people(scenarios, 4, 1, seed=11)  # four people's first event: a follow
    events = [planned[0] for planned in people.values()]
    async with httpx.AsyncClient(base_url=bot_url, timeout=30) as client:
        assert (await _health(client))[0] == 200
        async with outage():
            answers = await asyncio.gather(*(_post(client, p.event) for p in events))
            status, health = await _health(client)
        assert [a.status_code for a in answers] == [500] * 4
        for answer in answers:
            assert answer.json() == {"detail": "temporary failure, please redeliver"}
            assert not any(leak in answer.text for leak in LEAKS), answer.text
        assert status == 503 and health["status"] == "down", health
        assert fake.records == []

        assert (await _health(client))[0] == 200  # back
        again = await asyncio.gather(*(_post(client, redelivered(p.event)) for p in events))
        assert [a.status_code for a in again] == [200] * 4
        twice = await asyncio.gather(*(_post(client, redelivered(p.event)) for p in events))
        assert [a.status_code for a in twice] == [200] * 4  # already processed: skipped
    outbox = await wait_until_sent(db_url)
    assert sorted(o["event_id"] for o in outbox) == sorted(p.event_id for p in events)
    assert {o["status"] for o in outbox} == {"sent"}
    got = received([{"path": r.path, "body": r.body, "retry_key": r.retry_key}
                    for r in fake.records], outbox, {p.event_id: p.reply_token for p in events})
    assert sorted(got.values()) == [1] * 4 and set(got) == {o["id"] for o in outbox}
    assert (await snapshot(db_url)).processed == {p.event_id for p in events}


async def test_sqlite_locked_by_another_process_answers_500_then_recovers(
    tmp_path, sqlite_template, fake_line
):
    path = tmp_path / "locked.db"
    shutil.copy(sqlite_template, path)
    db_url = f"sqlite+aiosqlite:///{path}"
    fake, line_url = fake_line
    app = create_app(bot_settings(db_url, line_url, SUPPORTNAVI_SQLITE_BUSY_TIMEOUT=300,
                                  SUPPORTNAVI_RELAY_GRACE=1, SUPPORTNAVI_RELAY_INTERVAL=0.3))

    @contextlib.asynccontextmanager
    async def outage() -> AsyncIterator[None]:
        with write_lock_held(str(path)):
            yield
        assert set((await row_counts(db_url)).values()) == {0}  # nothing got through

    async with Served(app) as bot:
        await _outage_then_recovery(db_url, bot.url, fake, outage, app.state.services.scenarios)


@pytest.mark.postgres
async def test_postgresql_gone_answers_500_then_recovers(pg_url, fake_line):
    real = make_url(pg_url)
    proxy = TcpProxy(real.host or "127.0.0.1", real.port or 5432)
    await proxy.start()
    proxied = real.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    fake, line_url = fake_line
    app = create_app(bot_settings(proxied, line_url, SUPPORTNAVI_RELAY_GRACE=1,
                                  SUPPORTNAVI_RELAY_INTERVAL=0.3))

    @contextlib.asynccontextmanager
    async def outage() -> AsyncIterator[None]:
        await proxy.stop()
        try:
            yield
        finally:
            await proxy.start()
        assert set((await row_counts(pg_url)).values()) == {0}  # nothing got through

    try:
        async with Served(app) as bot:
            await _outage_then_recovery(pg_url, bot.url, fake, outage,
                                        app.state.services.scenarios)
    finally:
        with contextlib.suppress(AssertionError):
            await proxy.stop()
