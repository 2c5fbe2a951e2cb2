"""The dispatcher inside the server: a running app pushes a due reminder by itself, and
`--no-dispatcher` (SUPPORTNAVI_DISPATCHER=false) keeps it out."""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from typer.testing import CliRunner

from supportnavi import cli
from supportnavi.app import create_app
from supportnavi.settings import Settings
from supportnavi.store import repo
from supportnavi.store.db import Database
from supportnavi.store.models import User
from tests.conftest import Served, bot_settings
from tests.support.db import lock_user
from tests.support.line_spec import request_errors


async def due_now(db_url: str, user_id: str) -> str:
    """A reminder due a minute ago by the real clock, for someone whose window is all day
    (so the test does not depend on the hour it runs at). Returns its retry key."""
    now = datetime.now(UTC)
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            await lock_user(session, user_id, now)
            user = await session.get(User, user_id)
            assert user is not None
            user.push_start_hour, user.push_end_hour = 0, 24
            today = now.date()
            [row] = repo.add_reminders(session, user_id, "prime_renewal", today + timedelta(3),
                                       today + timedelta(3), [now - timedelta(minutes=1)], now)
            return row.retry_key
    finally:
        await db.dispose()


async def _served(db_url: str, line_url: str, dispatcher: bool):
    settings = bot_settings(db_url, line_url, SUPPORTNAVI_DISPATCHER=dispatcher,
                            SUPPORTNAVI_DISPATCH_INTERVAL=0.05)
    app = create_app(settings)
    return app, Served(app)


async def test_a_running_app_pushes_a_due_reminder_by_itself(db_url, fake_line):
    fake, line_url = fake_line
    user_id = "U" + uuid.uuid4().hex
    key = await due_now(db_url, user_id)
    app, served = await _served(db_url, line_url, dispatcher=True)
    async with served:
        for _ in range(400):  # wait for the background pass (bounded, no timing asserted)
            if fake.push_attempt_keys:
                break
            await asyncio.sleep(0.025)
        assert fake.push_attempt_keys == [key]
        [push] = [r for r in fake.records if r.path == "/v2/bot/message/push"]
        assert push.body["to"] == user_id
        assert request_errors(push.method, push.path, push.body) == []
        async with httpx.AsyncClient(base_url=served.url) as client:
            reminders = (await client.get("/healthz")).json()["reminders"]
        assert reminders["running"] is True and reminders["paused"] is None
        assert app.state.services.dispatcher.last_run is not None
    assert fake.push_attempt_keys == [key]  # once


async def test_with_the_dispatcher_off_the_app_pushes_nothing(db_url, fake_line):
    fake, line_url = fake_line
    await due_now(db_url, "U" + uuid.uuid4().hex)
    app, served = await _served(db_url, line_url, dispatcher=False)
    async with served:
        assert app.state.services.dispatcher is None
        async with httpx.AsyncClient(base_url=served.url) as client:
            health = (await client.get("/healthz")).json()
        assert health["reminders"] == {"running": False}
        await asyncio.sleep(0.5)  # ten intervals of the dispatcher it does not have
    assert fake.push_attempt_keys == []


@pytest.mark.parametrize(("args", "expected"), [
    ([], True), (["--no-dispatcher"], False), (["--dispatcher"], True),
])
def test_serve_turns_the_dispatcher_on_by_default_and_off_when_told(
    monkeypatch, tmp_path, args, expected
):
    ran: list[dict] = []
    made: list[Settings] = []
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: ran.append(k))
    monkeypatch.setattr("supportnavi.app.create_app", lambda settings: made.append(settings))
    for name in ("SUPPORTNAVI_DISPATCHER", "SUPPORTNAVI_WORKERS", "HOST", "PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/serve.db")
    # a real channel's server: it needs no database before uvicorn starts
    monkeypatch.setenv("LINE_CHANNEL_SECRET", "s")
    monkeypatch.setenv("LINE_CHANNEL_ACCESS_TOKEN", "t")
    result = CliRunner().invoke(cli.app, ["serve", "--no-migrate", *args])
    assert result.exit_code == 0, result.output
    assert len(ran) == 1
    [settings] = made  # the app is made from what serve read, flags over the environment
    assert settings.dispatcher is expected
    assert settings.workers == 1
    # and one worker needs nothing written to the environment
    assert "SUPPORTNAVI_DISPATCHER" not in os.environ


def test_each_worker_takes_its_share_of_the_rate(tmp_path):
    from supportnavi import compose

    settings = Settings(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/x.db",
                        SUPPORTNAVI_WORKERS=4)
    d = compose.dispatcher(settings, None, None, None)  # type: ignore[arg-type]
    assert (d.push_rate.limit, d.multicast_rate.limit) == (500, 50)

