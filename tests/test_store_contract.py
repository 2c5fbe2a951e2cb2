"""One storage contract for both databases (issue 15; aiogram runs one storage test suite
against every backend): every store operation, run the same way on SQLite and on PostgreSQL,
leaves the same rows. The group commit's statements (store/batch.py: PostgreSQL Core, SQLite
text), the outbox's transitions (store/outbox.py), repo.py's queries and the retention's
pruning are all in the script."""

from __future__ import annotations

import asyncio
import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text

from supportnavi.engine.hours import PushHours
from supportnavi.store import repo
from supportnavi.store.batch import StateRow, batch_store
from supportnavi.store.db import Database
from supportnavi.store.models import Reminder
from supportnavi.store.retention import Housekeeper, Retention
from tests.support.db import empty_pg

T0 = datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
ALICE, BOB, CAROL = ("U" + c * 32 for c in "abc")


def _outbox_row(i: int, user: str, token: str | None) -> dict[str, Any]:
    return {"id": f"00000000-0000-0000-0000-{i:012d}", "user_id": user, "event_id": f"e{i}",
            "reply_token": token,
            "messages": {"messages": [{"text": f"答え{i}", "quick_replies": []}]},
            "status": "pending", "attempts": 0, "error": None, "created_at": T0,
            "sent_at": None, "event_at": T0}


async def script(db: Database) -> None:
    """Every operation of the store, as the service, the relay, the dispatcher and the
    housekeeping use them."""
    async with db.transaction() as session:
        store = await batch_store(session)
        fresh = await store.claim_events([("e1", ALICE, "follow"), ("e2", BOB, "message"),
                                          ("e1", ALICE, "follow")], T0)
        assert fresh == {"e1", "e2"}
        users = await store.lock_users([BOB, ALICE, ALICE], T0)
        assert users[ALICE].new and users[BOB].new
        await store.save_states({ALICE: (StateRow("returns", "start", {"stack": [], "vars": {
            "fact@x": "phone_prime"}}, 1), 2), BOB: (StateRow(None, None, {}, 1), 1)}, T0)
        await store.add_steps([{"user_id": ALICE, "at": T0, "kind": "enter", "route": "returns",
                                "node": "start", "resolved": "button:route:returns",
                                "event_id": "e1"}])
        await store.add_outbox([_outbox_row(i, ALICE if i % 2 else BOB, f"t{i}" if i < 5
                                            else None) for i in range(1, 8)])
        await store.set_push_window(ALICE, 7, 21)
    async with db.transaction() as session:
        store = await batch_store(session)
        assert (await store.claim_events([("e1", ALICE, "follow")], T0)) == set()
        users = await store.lock_users([ALICE, CAROL], T0 + timedelta(minutes=1))
        assert not users[ALICE].new and (users[ALICE].push_start_hour, users[ALICE].push_end_hour) == (7, 21)
        states = await store.load_states([ALICE, BOB])
        assert states[ALICE].version == 2 and states[ALICE].node == "start"
        await store.finish_outboxes([
            ("00000000-0000-0000-0000-000000000001", "sent", None, True),
            ("00000000-0000-0000-0000-000000000002", "retry", "500: trouble", True),
            ("00000000-0000-0000-0000-000000000003", "failed", "400: bad", False),
            ("00000000-0000-0000-0000-000000000004", "sent", None, None),
        ], T0 + timedelta(seconds=1))
        await store.set_user_status(CAROL, "blocked", T0)
        await store.set_user_status(CAROL, "active", None)
    async with db.transaction() as session:
        # the relay's own transitions, and the switch to a push
        assert await repo.switch_outbox_to_push(session, "00000000-0000-0000-0000-000000000005")
        await repo.finish_outbox(session, "00000000-0000-0000-0000-000000000002", "retry",
                                 error="503: again", now=T0, retry_at=T0 + timedelta(seconds=2),
                                 by_relay=True, reply_maybe_sent=False)
        await repo.finish_outbox(session, "00000000-0000-0000-0000-000000000006", "sent",
                                 error=None, now=T0, by_relay=True, drop_token=True)
        await repo.finish_outbox(session, "00000000-0000-0000-0000-000000000007", "failed",
                                 error="x" * 300, now=T0, by_relay=True)
        # a late answer never undoes a sent row
        await repo.finish_outbox(session, "00000000-0000-0000-0000-000000000001", "failed",
                                 error="late", now=T0, by_relay=True)
        rows = repo.add_reminders(session, ALICE, "trial_cancel", date(2026, 12, 10),
                                  date(2026, 12, 10), [T0 + timedelta(days=5),
                                                       T0 + timedelta(days=8)], T0)
        for n, row in enumerate(rows):  # fixed ids, so the two databases can be compared
            row.id, row.retry_key = f"r{n}", f"k{n}"
        more = repo.add_reminders(session, BOB, "return_window", date(2026, 12, 1),
                                  date(2026, 12, 30), [T0 + timedelta(days=20)], T0)
        more[0].id, more[0].retry_key = "r9", "k9"
    async with db.transaction() as session:
        assert [r.id for r in await repo.reminders_of(session, ALICE)] == ["r0", "r1"]
        await repo.cancel_reminders(session, ALICE, "trial_cancel", date(2026, 12, 10))
        await repo.block(session, BOB, T0 + timedelta(hours=1))
    async with db.transaction() as session:
        skipped = await repo.reminders_of(session, BOB, skipped=True)
        repo.revive_reminders(skipped, T0 + timedelta(days=1), keep=True)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC).isoformat()
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == " ":
        return datetime.fromisoformat(value).replace(tzinfo=UTC).isoformat()  # SQLite's text
    return value


async def rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    found = {}
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        for table in sorted(t for t in tables if t != "alembic_version"):
            result = await conn.execute(text(f'SELECT * FROM "{table}"'))
            dicts = [{k: _plain(v) for k, v in row._mapping.items()
                      if k not in ("id",) or table != "step_history"} for row in result]
            found[table] = sorted(dicts, key=lambda d: json.dumps(d, sort_keys=True,
                                                                    default=str))
    return found


def test_every_store_operation_leaves_the_same_rows_on_both_databases(
    sqlite_template: Path, pg_database: str, tmp_path: Path
) -> None:
    path = tmp_path / "contract.db"
    shutil.copy(sqlite_template, path)
    asyncio.run(empty_pg(pg_database))

    async def run(url: str) -> tuple[dict[str, list[dict[str, Any]]], ...]:
        db = Database(url)
        try:
            await script(db)
            before = await rows(db)
            await Housekeeper(db, Retention.days(7, 90)).run_once(T0 + timedelta(days=8))
            return before, await rows(db)
        finally:
            await db.dispose()

    on_sqlite, pruned_sqlite = asyncio.run(run(f"sqlite+aiosqlite:///{path}"))
    on_pg, pruned_pg = asyncio.run(run(pg_database))
    assert on_sqlite["outbox"] and on_sqlite["reminders"] and on_sqlite["users"]
    for table in on_sqlite:
        assert on_sqlite[table] == on_pg[table], table
        assert pruned_sqlite[table] == pruned_pg[table], table
    assert {r["id"][-1] for r in pruned_sqlite["outbox"]} == {"2", "5"}  # the pending ones
    # and the rows say what the rules say
    outbox = {r["id"][-1]: r for r in on_sqlite["outbox"]}
    assert outbox["1"]["status"] == "sent" and outbox["1"]["messages"] == {"messages": []}
    assert outbox["2"]["next_attempt_at"] is not None and outbox["2"]["reply_maybe_sent"] == 0
    assert outbox["3"]["status"] == "failed" and outbox["3"]["messages"] == {"messages": []}
    assert outbox["5"]["reply_token"] is None and outbox["6"]["reply_token"] is None
    assert len(outbox["7"]["error"]) == 255
    reminders = {r["id"]: r["status"] for r in on_sqlite["reminders"]}
    assert reminders == {"r0": "cancelled", "r1": "cancelled", "r9": "pending"}
    assert PushHours.stored(7, 21) == PushHours(7, 21)
    assert Reminder.__tablename__ == "reminders"
