"""Running `supportnavi reminders dispatch` for real, as its own process, against the fake LINE
API as its own process: the fake's runner, many due reminders inserted in bulk, the command's
environment, and what the database says afterwards. Shared by the crash and concurrency tests
and by `bench/reminders.py`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import httpx
from sqlalchemy import func, insert, select

from supportnavi.reminders.rules import Kind
from supportnavi.store.db import Database
from supportnavi.store.models import Reminder, User
from tests.support.fake_line_server import MULTICAST, PUSH

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-access-token"
SECRET = "test-channel-secret"
Mix = Literal["personal", "shared"]
__all__ = ["MULTICAST", "PUSH"]  # re-exported: the paths the fake log names
SHARED_GROUPS = 10  # the shared mix: by default ten (kind, given date) pairs


class FakeServer:
    """`python -m tests.support.fake_line_server ARGS` on 127.0.0.1, until `stop()`; or, with
    `module="tests.support.fast_fake_line"`, the fast fake (counters only, same `/_harness`
    stats, config and reset)."""

    def __init__(self, *args: str, module: str = "tests.support.fake_line_server") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, env=_child_env(),
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"the fake LINE API did not start: {line!r}")
        self.url = line.split()[1]
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self.client.get("/_harness/stats").json()
        return result

    def deliveries(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.client.get("/_harness/deliveries").json()[
            "deliveries"]
        return result

    def records(self) -> list[dict[str, Any]]:
        """The fake's own record: a push is recorded only when the fake accepted it."""
        result: list[dict[str, Any]] = self.client.get("/_records").json()["records"]
        return result

    def configure(self, **config: Any) -> None:
        self.client.post("/_harness/config", json=config).raise_for_status()

    def reset(self) -> None:
        self.client.post("/_harness/reset").raise_for_status()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if hasattr(self, "client"):
            self.client.close()

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINE_", "SUPPORTNAVI_")) and k != "DATABASE_URL"}
    # the child imports this checkout's code, whatever the venv's editable install points at
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "linebot"), str(ROOT), *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    env.update(extra)
    return env


def dispatch_env(db_url: str, line_url: str, token: str = TOKEN, **extra: str,
                 ) -> dict[str, str]:
    return _child_env(
        DATABASE_URL=db_url, LINE_API_BASE_URL=line_url, LINE_CHANNEL_ACCESS_TOKEN=token,
        LINE_CHANNEL_SECRET=SECRET, SUPPORTNAVI_TZ="Asia/Tokyo",
        SUPPORTNAVI_SCENARIOS=str(ROOT / "scenarios"), SUPPORTNAVI_LOG_LEVEL="warning",
        **extra,
    )


def dispatch_command(now: datetime) -> list[str]:
    return [sys.executable, "-m", "supportnavi", "reminders", "dispatch", "--once",
            "--now", now.isoformat()]


def start_dispatch(db_url: str, line_url: str, now: datetime, token: str = TOKEN,
                   **extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        dispatch_command(now), cwd=ROOT, env=dispatch_env(db_url, line_url, token, **extra),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def user_id(i: int) -> str:
    return f"U{i:032x}"


def _pair(i: int, mix: Mix, groups: int) -> tuple[str, date]:
    kinds: tuple[str, ...] = get_args(Kind)
    if mix == "shared":
        group = i % groups
        return kinds[group % 2], date(2026, 12, 10) + timedelta(days=group)
    # every row its own (kind, given): its text and its stop button differ from everyone's
    return kinds[i % len(kinds)], date(2026, 12, 31) - timedelta(days=i // len(kinds))


async def seed(db_url: str, n: int, due: datetime, mix: Mix = "personal",
               groups: int = SHARED_GROUPS, chunk: int = 5000) -> None:
    """n people, each with one reminder due at `due`, inserted in bulk (a few statements
    per chunk, not one transaction per row). `personal`: every row its own text; `shared`:
    everyone in one of `groups` (kind, given date) pairs."""
    due = due.astimezone(UTC)  # SQLite compares the stored text: everything is kept in UTC
    db = Database(db_url)
    try:
        for start in range(0, n, chunk):
            users, reminders = [], []
            for i in range(start, min(n, start + chunk)):
                kind, given = _pair(i, mix, groups)
                users.append({"id": user_id(i), "status": "active", "first_seen": due,
                              "last_seen": due})
                reminders.append({
                    "id": str(uuid.uuid4()), "user_id": user_id(i), "kind": kind,
                    "given": given, "deadline": given + timedelta(days=3), "due_at": due,
                    "next_attempt_at": due, "status": "pending",
                    "retry_key": str(uuid.uuid4()), "attempts": 0, "created_at": due,
                })
            async with db.transaction() as session:
                await session.execute(insert(User), users)
                await session.execute(insert(Reminder), reminders)
    finally:
        await db.dispose()


async def reminder_rows(db_url: str) -> list[dict[str, Any]]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            result = await session.execute(
                select(Reminder.id, Reminder.user_id, Reminder.retry_key, Reminder.status,
                       Reminder.attempts))
            return [dict(row._mapping) for row in result]
    finally:
        await db.dispose()


async def status_counts(db_url: str) -> dict[str, int]:
    db = Database(db_url)
    try:
        async with db.sessions() as session:
            result = await session.execute(
                select(Reminder.status, func.count()).group_by(Reminder.status))
            return {status: int(count) for status, count in result.all()}
    finally:
        await db.dispose()


def run(coro: Any) -> Any:
    return asyncio.run(coro)
