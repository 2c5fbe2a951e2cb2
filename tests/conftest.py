"""Fixtures: a fake LINE API and the bot, both served by uvicorn on 127.0.0.1, and a database
for each backend. Tests that take `db_url` run on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from supportnavi.app import create_app
from supportnavi.migrate import upgrade
from supportnavi.settings import Settings
from supportnavi.simulator.fake_line import FakeLine
from tests.support import paths
from tests.support.db import empty_pg, pg_execute
from tests.support.line_user import LineUser

# Before any test module is collected: every file opened from here on, by this process or a
# process it starts, must lie inside the repository (tests/support/paths.py).
_OUTSIDE_REPORT = Path(tempfile.mkdtemp(prefix="supportnavi-paths-")) / "outside.txt"
_PATH_GUARD = paths.install(_OUTSIDE_REPORT)
_reported_seen = 0


def _opened_outside() -> list[str]:
    global _reported_seen
    children = paths.reported(_OUTSIDE_REPORT)
    found = _PATH_GUARD.take() + children[_reported_seen:]
    _reported_seen = len(children)
    return found


@pytest.fixture(autouse=True)
def _only_files_inside_the_repository() -> Iterator[None]:
    before = _opened_outside()
    yield
    found = before + _opened_outside()
    if found:
        pytest.fail("opened outside the repository (a clone with nothing beside it has none of "
                    "these): " + ", ".join(sorted(set(found))[:10]), pytrace=False)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    found = _opened_outside()
    if found:
        print("\nopened outside the repository:", *sorted(set(found)), sep="\n  ")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

PG_ADMIN_URL = os.environ.get("SUPPORTNAVI_TEST_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
CHANNEL_SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"


def _pg_available() -> bool:
    import asyncpg

    async def probe() -> None:
        url = PG_ADMIN_URL.replace("postgresql+asyncpg", "postgresql")
        conn = await asyncpg.connect(url, timeout=3)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    return True


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Each test leaves logging as it found it. A CLI command run in-process applies the app's
    logging config (a handler on the stderr of that run, which is closed afterwards, and
    aiosqlite capped at INFO), and without this a later test would inherit both."""
    import logging

    loggers = [logging.getLogger(), *(
        v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger))]
    saved = [(lg, lg.level, list(lg.handlers), lg.propagate, lg.disabled) for lg in loggers]
    known = {id(lg) for lg in loggers}
    yield
    for lg, level, handlers, propagate, disabled in saved:
        lg.setLevel(level)
        lg.handlers[:] = handlers
        lg.propagate, lg.disabled = propagate, disabled
    for lg in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(lg, logging.Logger) and id(lg) not in known:
            lg.setLevel(logging.NOTSET)  # made by the test: no level or handler of its own
            lg.handlers.clear()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    if not _pg_available():
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required when CI=true, and it is down")
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 on this machine")
    name = f"supportnavi_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(pg_execute(PG_ADMIN_URL, f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    yield url
    asyncio.run(pg_execute(PG_ADMIN_URL, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "bot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    asyncio.run(empty_pg(url))
    return url


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Served:
    """An ASGI app served by uvicorn on 127.0.0.1 inside the test's event loop."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = _free_socket()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Served:
        self.task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self.task.done():
                self.task.result()
            await asyncio.sleep(0.01)
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await self.task
        self.sock.close()


@pytest.fixture
async def fake_line() -> AsyncIterator[tuple[FakeLine, str]]:
    fake = FakeLine()
    async with Served(fake.app()) as served:
        yield fake, served.url


def bot_settings(db_url: str, line_url: str, **extra: Any) -> Settings:
    # no reminder dispatcher on a timer in test apps: tests run it themselves at a fixed now
    extra.setdefault("SUPPORTNAVI_DISPATCHER", False)
    return Settings(
        LINE_CHANNEL_SECRET=CHANNEL_SECRET,
        LINE_CHANNEL_ACCESS_TOKEN=ACCESS_TOKEN,
        LINE_API_BASE_URL=line_url,
        DATABASE_URL=db_url,
        **extra,
    )


@pytest.fixture
async def bot(db_url: str, fake_line: tuple[FakeLine, str]) -> AsyncIterator[Bot]:
    fake, line_url = fake_line
    app = create_app(bot_settings(db_url, line_url))
    async with Served(app) as served:
        yield Bot(served.url, fake, db_url, app)


class Bot:
    def __init__(self, url: str, fake: FakeLine, db_url: str, app: FastAPI) -> None:
        self.url = url
        self.fake = fake
        self.db_url = db_url
        self.app = app

    def user(self, user_id: str | None = None) -> LineUser:
        return LineUser(self, user_id or "U" + uuid.uuid4().hex)
