"""A bot served from its own thread (its own event loop), for tests that are not async: the
hypothesis fuzzers post thousands of requests from plain functions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import pytest
from fastapi import FastAPI

from supportnavi.app import create_app
from supportnavi.simulator.fake_line import FakeLine
from tests.conftest import Served, bot_settings
from tests.support.db import empty_pg


class ThreadedBot:
    """The bot and a fake LINE API on 127.0.0.1, served by a thread's event loop until
    `close()`."""

    def __init__(self, db_url: str, **settings: Any) -> None:
        self.db_url = db_url
        self.fake = FakeLine()
        self.app: FastAPI | None = None
        self.url = ""
        self._ready: Future[None] = Future()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._run, args=(settings,), daemon=True)
        self._thread.start()
        self._ready.result(timeout=120)

    def _run(self, settings: dict[str, Any]) -> None:
        asyncio.run(self._serve(settings))

    async def _serve(self, settings: dict[str, Any]) -> None:
        try:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            async with Served(self.fake.app()) as line:
                self.app = create_app(bot_settings(self.db_url, line.url, **settings))
                async with Served(self.app) as bot:
                    self.url = bot.url
                    self._ready.set_result(None)
                    await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc)
            raise

    def run(self, coro: Any, timeout: float = 60) -> Any:
        """Run a coroutine on the bot's loop (to read its state), and wait for it."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def close(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)


@pytest.fixture
def threaded_bot(db_url: str) -> Iterator[ThreadedBot]:
    bot = ThreadedBot(db_url)
    yield bot
    bot.close()


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The test PostgreSQL alone (for tests of what only it does), emptied."""
    asyncio.run(empty_pg(pg_database))
    return pg_database
