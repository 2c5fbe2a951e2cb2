"""Which mode a server runs in, and on which database. Simulator mode is only ever asked for;
and it never runs on a database a real LINE channel has used, because its relay and its
reminder dispatcher would take that channel's people's pending replies and due reminders,
send them to the in-process fake LINE API and mark them `sent` (as happened, within 30 s, on
a copy of a real database). The table `meta` says which mode has used a database."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from supportnavi.app import create_app
from supportnavi.conversation.codec import dump_messages
from supportnavi.engine import OutText
from supportnavi.settings import SIMULATOR_CHANNEL_SECRET, Settings
from supportnavi.simulator.terminal import FOLLOW, ChatClient
from supportnavi.store import repo
from supportnavi.store.db import Database
from supportnavi.store.mode import WrongDatabase
from supportnavi.store.models import Meta, Outbox, Reminder, User
from tests.conftest import bot_settings
from tests.support.db import lock_user
from tests.support.serve_run import ROOT, ServeProcess


def _simulator(db_url: str, log: Path, *args: str) -> ServeProcess:
    """`serve` asked for simulator mode (by the setting: the flag is checked elsewhere), with
    no LINE credentials and no LINE API of its own: the in-process fake."""
    server = ServeProcess(db_url, "", log, *args, SUPPORTNAVI_SIMULATOR="true")
    for name in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN", "LINE_API_BASE_URL"):
        server.env.pop(name)
    return server


def _refused(server: ServeProcess, timeout: float = 90.0) -> str:
    """Start it and expect it to exit with status 2 before it ever answers; its output."""
    server.starts += 1
    with server.log.open("a") as out:
        server.proc = subprocess.Popen(
            [sys.executable, "-m", "supportnavi", "serve", "--port", str(server.port),
             *server.args],
            cwd=ROOT, env=server.env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    try:
        while server.proc.poll() is None:
            try:
                answered = httpx.get(f"{server.url}/healthz", timeout=2).status_code
            except httpx.HTTPError:
                answered = None
            assert answered is None, f"it started:\n{server.output()}"
            assert time.monotonic() < deadline, f"neither started nor refused:\n{server.output()}"
            time.sleep(0.1)
    finally:
        server.stop()
    assert server.proc.returncode == 2, server.output()
    return server.output()


async def _mode(db_url: str) -> str | None:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            return await session.scalar(select(Meta.value).where(Meta.key == "mode"))
    finally:
        await db.dispose()


async def _a_real_persons_work(db_url: str) -> tuple[str, str]:
    """What a real database holds: a person, a reply not yet sent, a reminder due now."""
    now = datetime.now(UTC)
    user_id = "U" + uuid.uuid4().hex
    db = Database(db_url)
    try:
        async with db.transaction() as session:
            user = await lock_user(session, user_id, now)
            user.push_start_hour, user.push_end_hour = 0, 24
            outbox_id = str(uuid.uuid4())
            session.add(Outbox(id=outbox_id, user_id=user_id, event_id="E1",
                               reply_token="r" * 32, created_at=now - timedelta(minutes=5),
                               messages=dump_messages([OutText("お待たせしました")])))
            [reminder] = repo.add_reminders(session, user_id, "prime_renewal",
                                            now.date() + timedelta(3), now.date() + timedelta(3),
                                            [now - timedelta(minutes=1)], now)
            return outbox_id, reminder.id
    finally:
        await db.dispose()


async def _statuses(db_url: str, outbox_id: str, reminder_id: str) -> tuple[str, str, int]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            outbox = await session.get(Outbox, outbox_id)
            reminder = await session.get(Reminder, reminder_id)
            assert outbox is not None and reminder is not None
            return outbox.status, reminder.status, reminder.attempts
    finally:
        await db.dispose()


def test_the_simulator_refuses_a_copy_of_a_real_database_made_before_modes_were_kept(
    tmp_path, db_url
):
    """The incident: no mode recorded, but people in `users`. Whose they are nobody can tell,
    so neither the server nor the command-line dispatcher touches them in simulator mode."""
    outbox_id, reminder_id = asyncio.run(_a_real_persons_work(db_url))
    out = _refused(_simulator(db_url, tmp_path / "serve.log"))
    assert "refusing to start" in out and "already holds LINE users" in out, out
    assert "DATABASE_URL" in out  # what to do instead
    dispatch = subprocess.run(
        [sys.executable, "-m", "supportnavi", "reminders", "dispatch", "--once"], cwd=ROOT,
        env=_simulator(db_url, tmp_path / "unused.log").env, capture_output=True, text=True,
        timeout=90, check=False)
    assert dispatch.returncode == 2, dispatch.stdout + dispatch.stderr
    assert "already holds LINE users" in dispatch.stderr
    assert asyncio.run(_statuses(db_url, outbox_id, reminder_id)) == ("pending", "pending", 0)
    assert asyncio.run(_mode(db_url)) is None  # nothing was claimed


def test_a_line_server_marks_its_database_and_the_simulator_then_refuses_it(
    tmp_path, db_url, fake_line
):
    _, line_url = fake_line
    with ServeProcess(db_url, line_url, tmp_path / "line.log"):
        assert asyncio.run(_mode(db_url)) == "line"
    # an empty database still: the mark, not the people, is what refuses it
    out = _refused(_simulator(db_url, tmp_path / "sim.log", "--simulator"))
    assert "refusing to start" in out and "used by a real LINE channel" in out, out
    assert asyncio.run(_mode(db_url)) == "line"


def test_the_simulator_keeps_its_own_database_and_a_line_server_takes_it_over(tmp_path):
    """A fresh database becomes the simulator's, and stays usable by it once its made-up people
    are in `users`. A LINE server started on it later runs (the operator chose that database)
    but says so, and marks it `line`: from then on it may hold real people."""
    db_url = f"sqlite+aiosqlite:///{tmp_path}/sim.db"
    simulator = _simulator(db_url, tmp_path / "sim.log", "--simulator")
    with simulator:
        assert asyncio.run(_mode(db_url)) == "simulator"
        client = ChatClient(simulator.url, SIMULATOR_CHANNEL_SECRET, "U" + "5" * 32)
        assert client.send(FOLLOW)
    with simulator:  # again, now with a person in `users`
        assert httpx.get(f"{simulator.url}/healthz").json()["mode"] == "simulator"
    line = ServeProcess(db_url, "http://127.0.0.1:9", tmp_path / "line.log")
    with line:
        assert asyncio.run(_mode(db_url)) == "line"
    assert "was used by the simulator" in line.output()
    out = _refused(_simulator(db_url, tmp_path / "sim.log", "--simulator"))
    assert "used by a real LINE channel" in out


async def _users(db_url: str) -> list[str]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            return list((await session.execute(select(User.id))).scalars())
    finally:
        await db.dispose()


def test_chat_starts_its_simulator_only_when_asked_and_never_on_a_line_database(
    tmp_path, sqlite_template
):
    shutil.copy(sqlite_template, tmp_path / "chat.db")
    db_url = f"sqlite+aiosqlite:///{tmp_path}/chat.db"
    env = _simulator(db_url, tmp_path / "unused.log").env
    env.pop("SUPPORTNAVI_SIMULATOR")
    result = subprocess.run([sys.executable, "-m", "supportnavi", "chat"], cwd=ROOT, env=env,
                            input="", capture_output=True, text=True, timeout=90, check=False)
    assert result.returncode == 2, result.stderr
    assert "--simulator" in result.stderr and "--url" in result.stderr
    asyncio.run(_a_real_persons_work(db_url))
    result = subprocess.run([sys.executable, "-m", "supportnavi", "chat", "--simulator"],
                            cwd=ROOT, env=env, input="", capture_output=True, text=True,
                            timeout=90, check=False)
    assert result.returncode == 2, result.stderr
    assert "already holds LINE users" in result.stderr
    assert len(asyncio.run(_users(db_url))) == 1



async def test_the_apps_own_start_up_refuses_a_line_database_too(db_url):
    """Not only `serve`: every worker, and any server made with create_app, checks in its
    lifespan, before its relay or dispatcher could send anything."""
    outbox_id, reminder_id = await _a_real_persons_work(db_url)
    quiet = {"SUPPORTNAVI_DISPATCHER": False, "SUPPORTNAVI_RELAY": False}
    simulator = create_app(Settings(DATABASE_URL=db_url, SUPPORTNAVI_SIMULATOR=True, **quiet))
    with pytest.raises(WrongDatabase, match="already holds LINE users"):
        async with simulator.router.lifespan_context(simulator):
            pass
    assert await _mode(db_url) is None
    line = create_app(bot_settings(db_url, "http://127.0.0.1:9", **quiet))
    async with line.router.lifespan_context(line):
        assert await _mode(db_url) == "line"
    with pytest.raises(WrongDatabase, match="used by a real LINE channel"):
        async with simulator.router.lifespan_context(simulator):
            pass
    assert await _statuses(db_url, outbox_id, reminder_id) == ("pending", "pending", 0)


async def test_a_line_server_starts_as_before_when_it_cannot_mark_its_database(tmp_path, caplog):
    """Down or not migrated: a LINE server still starts (its /healthz says the database is
    down), as it did before modes were kept. The simulator, in the same place, refuses."""
    db_url = f"sqlite+aiosqlite:///{tmp_path}/not-migrated.db"
    quiet = {"SUPPORTNAVI_DISPATCHER": False, "SUPPORTNAVI_RELAY": False}
    line = create_app(bot_settings(db_url, "http://127.0.0.1:9", **quiet))
    async with line.router.lifespan_context(line):
        pass
    assert "could not mark the database as a LINE channel's" in caplog.text
    simulator = create_app(Settings(DATABASE_URL=db_url, SUPPORTNAVI_SIMULATOR=True, **quiet))
    with pytest.raises(OperationalError, match="no such table: meta"):
        async with simulator.router.lifespan_context(simulator):
            pass
