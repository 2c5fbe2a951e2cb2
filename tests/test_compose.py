"""One composition root (issue 15): every command builds its parts from the same settings, the
same way. `reminders dispatch` ignored SUPPORTNAVI_SQLITE_BUSY_TIMEOUT and waited 15 s between
passes where the setting says 30."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from typer.testing import CliRunner

from supportnavi import cli, compose
from supportnavi.migrate import upgrade
from supportnavi.settings import Settings


class Stop(Exception):
    pass


@pytest.fixture
def line_env(monkeypatch, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path}/bot.db"
    upgrade(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "t")
    monkeypatch.setenv("LINE_API_BASE_URL", "http://127.0.0.1:9")  # nothing is due: never called
    monkeypatch.setenv("SUPPORTNAVI_SQLITE_BUSY_TIMEOUT", "4321")
    monkeypatch.setenv("SUPPORTNAVI_DISPATCH_INTERVAL", "42")
    return url


def test_reminders_dispatch_honours_the_same_settings_as_serve(line_env, monkeypatch):
    built: list[Any] = []
    waited: list[float] = []
    real_database = compose.database

    def database(settings: Settings) -> Any:
        db = real_database(settings)
        built.append(db)
        return db

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        raise Stop  # one pass, then stop where the next would wait

    monkeypatch.setattr(compose, "database", database)
    monkeypatch.setattr(asyncio, "sleep", sleep)
    monkeypatch.setattr("gc.freeze", lambda: None)  # an in-process run must not freeze the tests
    result = CliRunner().invoke(cli.app, ["reminders", "dispatch"])
    assert isinstance(result.exception, Stop), result.output
    assert "sent 0" in result.output, result.output
    assert [db.busy_timeout_ms for db in built] == [4321]
    assert waited == [42.0]


def test_the_dashboard_reader_and_the_server_share_the_busy_timeout(line_env):
    settings = Settings(SUPPORTNAVI_ADMIN_TOKEN="a" * 20)
    db = compose.database(settings)
    reader = compose.reader(settings, db)
    assert db.busy_timeout_ms == 4321
    assert reader is not None and reader._engine is not None
    assert reader._engine.dialect.name == "sqlite"
    asyncio.run(reader.dispose())
    asyncio.run(db.dispose())
