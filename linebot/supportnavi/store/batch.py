"""The statements of one group-commit transaction (many webhook events): a few per transaction,
whatever the number of events in it.

Through the ORM, one event cost a unit of work, an identity map and a round trip per row; as
SQLAlchemy Core statements on the session, about 0.2 ms of CPU per statement (cache key,
execution context, four trips to aiosqlite's thread), which at a few events per transaction
was still more than the engine's work. So there are two implementations of one contract:

- `CoreBatch` (PostgreSQL): Core statements, each built once, so that SQLAlchemy compiles each
  once and asyncpg prepares each once;
- `SqliteBatch`: the same statements as SQL text, straight on aiosqlite's connection inside the
  session's transaction (BEGIN IMMEDIATE already issued), with SQLAlchemy's own bind and result
  processors for the columns' types, so that what is stored is byte for byte what the ORM
  stores: about 0.015 ms per statement.

Both are run by every database test (SQLite and PostgreSQL), through the conversation service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, literal_column, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.models import (
    ConversationState,
    Outbox,
    ProcessedEvent,
    StepRecord,
    UnmatchedText,
    User,
)
from supportnavi.store.outbox import params, transition

USERS = cast(Table, User.__table__)
STATES = cast(Table, ConversationState.__table__)
PROCESSED = cast(Table, ProcessedEvent.__table__)
OUTBOX = cast(Table, Outbox.__table__)
STEPS = cast(Table, StepRecord.__table__)
UNMATCHED = cast(Table, UnmatchedText.__table__)


@dataclass
class UserRow:
    """What handling an event needs of a person's row; `new`: made by this transaction."""

    id: str
    status: str
    push_start_hour: int | None
    push_end_hour: int | None
    new: bool


@dataclass
class StateRow:
    route: str | None
    node: str | None
    data: dict[str, Any]
    version: int


class BatchStore(Protocol):
    async def claim_events(self, events: Sequence[tuple[str, str | None, str]],
                           now: datetime) -> set[str]:
        """Record (event id, user, type) as processed; return the ids that were not already.
        In id order, so that two transactions that share ids wait for each other in one
        order."""

    async def lock_users(self, user_ids: Sequence[str], now: datetime) -> dict[str, UserRow]:
        """Create the rows of new people, mark everyone seen now, and hold every row locked
        until the transaction ends (as `repo.lock_user` does for one). In id order, so that two
        transactions with people in common cannot deadlock."""

    async def load_states(self, user_ids: Sequence[str]) -> dict[str, StateRow]: ...

    async def save_states(self, states: dict[str, tuple[StateRow, int]],
                          now: datetime) -> None:
        """Each person's last state, its version counted up once per event that saved it (as
        the ORM's version counter did, one save at a time)."""

    async def add_steps(self, rows: list[dict[str, Any]]) -> None: ...

    async def add_outbox(self, rows: list[dict[str, Any]]) -> None: ...

    async def add_unmatched(self, rows: list[dict[str, Any]]) -> None:
        """The inbox's groups (issue 18), one row per key at most, in one statement: a new key
        is inserted, a known one counts up and takes the latest `last_seen` and guesses."""

    async def finish_outboxes(self, results: Sequence[Finished], now: datetime) -> None:
        """`repo.finish_outbox(..., by_relay=False)` for many of the webhook's own tries at
        once: (outbox id, sent|retry|failed, error, whether a reply may have reached LINE)."""

    async def set_user_status(self, user_id: str, status: str,
                              blocked_at: datetime | None) -> None: ...

    async def set_push_window(self, user_id: str, start: int, end: int) -> None: ...


async def batch_store(session: AsyncSession) -> BatchStore:
    """The statements for this session's database, inside its transaction."""
    connection = await session.connection()  # begins the transaction (BEGIN IMMEDIATE)
    if connection.dialect.name == "sqlite":
        raw = await connection.get_raw_connection()
        return SqliteBatch(session, raw.driver_connection, connection.dialect)
    return CoreBatch(session)


# How the webhook's own try at a delivery went: (outbox id, outcome, error, reply_maybe_sent).
Finished = tuple[str, str, str | None, bool | None]


class _Rare:
    """Statements a few events need (a follow after blocking, a new push window): Core on the
    session, for both databases."""

    session: AsyncSession

    async def set_user_status(self, user_id: str, status: str,
                              blocked_at: datetime | None) -> None:
        await self.session.execute(update(USERS).where(USERS.c.id == user_id)
                                   .values(status=status, blocked_at=blocked_at))

    async def set_push_window(self, user_id: str, start: int, end: int) -> None:
        await self.session.execute(update(USERS).where(USERS.c.id == user_id)
                                   .values(push_start_hour=start, push_end_hour=end))


# --- PostgreSQL: Core statements, built once ---------------------------------------------

_UNMATCHED_COLUMNS = ("key", "text", "route", "node", "guesses", "count", "first_seen",
                      "last_seen", "status")


def _upsert_unmatched() -> Any:
    upsert = pg_insert(UNMATCHED)
    return upsert.on_conflict_do_update(
        index_elements=["key"],
        set_={"count": UNMATCHED.c.count + upsert.excluded.count,
              "last_seen": upsert.excluded.last_seen, "guesses": upsert.excluded.guesses})



def _core_statements() -> dict[str, Any]:
    user_columns = (USERS.c.id, USERS.c.status, USERS.c.push_start_hour, USERS.c.push_end_hour)
    upsert_user = pg_insert(USERS)
    upsert_state = pg_insert(STATES)
    return {
        "claim": pg_insert(PROCESSED).on_conflict_do_nothing(
            index_elements=["webhook_event_id"]).returning(PROCESSED.c.webhook_event_id),
        # ON CONFLICT DO UPDATE locks each row as it goes, in the order given; xmax is 0 only
        # in a row this statement inserted
        "lock_users": upsert_user.on_conflict_do_update(
            index_elements=["id"], set_={"last_seen": upsert_user.excluded.last_seen},
        ).returning(*user_columns, literal_column("xmax = 0"), sort_by_parameter_order=True),
        "load_states": select(STATES.c.user_id, STATES.c.route, STATES.c.node, STATES.c.data,
                              STATES.c.version)
        .where(STATES.c.user_id.in_(bindparam("ids", expanding=True))),
        "save_states": upsert_state.on_conflict_do_update(
            index_elements=["user_id"],
            set_={"route": upsert_state.excluded.route, "node": upsert_state.excluded.node,
                  "data": upsert_state.excluded.data,
                  "updated_at": upsert_state.excluded.updated_at,
                  "version": STATES.c.version + upsert_state.excluded.version}),
        "steps": insert(STEPS),
        "outbox": insert(OUTBOX),
        "unmatched": _upsert_unmatched(),
        # the rows whose outcomes this transaction writes, locked first and in id order (as
        # the relay writes its own), so that the two never deadlock on them
        "lock_outbox": select(OUTBOX.c.id).where(OUTBOX.c.id.in_(bindparam("ids", expanding=True)))
        .order_by(OUTBOX.c.id).with_for_update(),
    }


_CORE: dict[str, Any] = {}


class CoreBatch(_Rare):
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        if not _CORE:
            _CORE.update(_core_statements())

    async def _run(self, name: str, params: Any) -> Any:
        return await self.session.execute(_CORE[name], params)

    async def claim_events(self, events: Sequence[tuple[str, str | None, str]],
                           now: datetime) -> set[str]:
        rows = {event_id: (user_id, etype) for event_id, user_id, etype in events}
        if not rows:
            return set()
        result = await self._run("claim", [
            {"webhook_event_id": event_id, "user_id": user_id, "event_type": etype,
             "processed_at": now}
            for event_id, (user_id, etype) in sorted(rows.items())])
        return {row[0] for row in result}

    async def lock_users(self, user_ids: Sequence[str], now: datetime) -> dict[str, UserRow]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        result = await self._run("lock_users", [
            {"id": i, "status": "active", "first_seen": now, "last_seen": now} for i in ids])
        return {row[0]: UserRow(row[0], row[1], row[2], row[3], bool(row[4]))
                for row in result}

    async def load_states(self, user_ids: Sequence[str]) -> dict[str, StateRow]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await self._run("load_states", {"ids": ids})
        return {row[0]: StateRow(row[1], row[2], row[3] or {}, row[4]) for row in rows}

    async def save_states(self, states: dict[str, tuple[StateRow, int]],
                          now: datetime) -> None:
        if states:
            await self._run("save_states", [
                {"user_id": user_id, "route": row.route, "node": row.node, "data": row.data,
                 "version": saves, "updated_at": now}
                for user_id, (row, saves) in sorted(states.items())])

    async def add_steps(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._run("steps", rows)

    async def add_outbox(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._run("outbox", rows)

    async def add_unmatched(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self._run("unmatched", sorted(rows, key=lambda r: str(r["key"])))

    async def finish_outboxes(self, results: Sequence[Finished], now: datetime) -> None:
        if results:
            await self._run("lock_outbox", {"ids": sorted({r[0] for r in results})})
        await _finish_outboxes(self.session, results, now)


# --- SQLite: the same statements, straight on aiosqlite -----------------------------------


def _values(columns: int, rows: int) -> str:
    group = "(" + ", ".join("?" * columns) + ")"
    return ", ".join([group] * rows)


def _marks(n: int) -> str:
    return ", ".join("?" * n)


_OUTBOX_COLUMNS = ("id", "user_id", "event_id", "reply_token", "messages", "status",
                   "attempts", "error", "created_at", "sent_at", "event_at")
_STEP_COLUMNS = ("user_id", "at", "kind", "route", "node", "resolved", "event_id")
_SAVE_STATE = (
    "INSERT INTO conversation_states (user_id, route, node, data, version, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET route = excluded.route, "
    "node = excluded.node, data = excluded.data, updated_at = excluded.updated_at, "
    "version = conversation_states.version + excluded.version")


_UPSERT_UNMATCHED = (
    f"INSERT INTO unmatched ({', '.join(_UNMATCHED_COLUMNS)}) "
    f"VALUES ({_marks(len(_UNMATCHED_COLUMNS))}) ON CONFLICT (key) DO UPDATE SET "
    "count = unmatched.count + excluded.count, last_seen = excluded.last_seen, "
    "guesses = excluded.guesses")


class SqliteBatch(_Rare):
    def __init__(self, session: AsyncSession, driver: Any, dialect: Dialect) -> None:
        self.session = session
        self.db = driver  # aiosqlite.Connection, inside the session's transaction
        self._when = _processor(USERS.c.last_seen.type, dialect)
        self._json = _processor(STATES.c.data.type, dialect)
        loads = STATES.c.data.type.dialect_impl(dialect).result_processor(dialect, None)
        self._loads: Callable[[Any], Any] = loads or (lambda v: v)

    async def _rows(self, sql: str, params: Sequence[Any]) -> list[Any]:
        return list(await self.db.execute_fetchall(sql, params))

    async def claim_events(self, events: Sequence[tuple[str, str | None, str]],
                           now: datetime) -> set[str]:
        rows = sorted({event_id: (user_id, etype)
                       for event_id, user_id, etype in events}.items())
        if not rows:
            return set()
        at = self._when(now)
        found = await self._rows(
            "INSERT INTO processed_events (webhook_event_id, user_id, event_type, processed_at) "
            f"VALUES {_values(4, len(rows))} ON CONFLICT (webhook_event_id) DO NOTHING "
            "RETURNING webhook_event_id",
            [v for event_id, (user_id, etype) in rows for v in (event_id, user_id, etype, at)])
        return {row[0] for row in found}

    async def lock_users(self, user_ids: Sequence[str], now: datetime) -> dict[str, UserRow]:
        # BEGIN IMMEDIATE already holds the write lock on the whole database
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        at = self._when(now)
        new = {row[0] for row in await self._rows(
            f"INSERT INTO users (id, status, first_seen, last_seen) VALUES "
            f"{_values(4, len(ids))} ON CONFLICT (id) DO NOTHING RETURNING id",
            [v for i in ids for v in (i, "active", at, at)])}
        rows = await self._rows(
            f"UPDATE users SET last_seen = ? WHERE id IN ({_marks(len(ids))}) "
            "RETURNING id, status, push_start_hour, push_end_hour", [at, *ids])
        return {row[0]: UserRow(row[0], row[1], row[2], row[3], row[0] in new) for row in rows}

    async def load_states(self, user_ids: Sequence[str]) -> dict[str, StateRow]:
        ids = sorted(set(user_ids))
        if not ids:
            return {}
        rows = await self._rows(
            "SELECT user_id, route, node, data, version FROM conversation_states "
            f"WHERE user_id IN ({_marks(len(ids))})", ids)
        return {row[0]: StateRow(row[1], row[2], self._loads(row[3]) or {}, row[4])
                for row in rows}

    async def save_states(self, states: dict[str, tuple[StateRow, int]],
                          now: datetime) -> None:
        if states:
            at = self._when(now)
            await self.db.executemany(_SAVE_STATE, [
                (user_id, row.route, row.node, self._json(row.data), saves, at)
                for user_id, (row, saves) in sorted(states.items())])

    async def add_steps(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            await self.db.executemany(
                f"INSERT INTO step_history ({', '.join(_STEP_COLUMNS)}) "
                f"VALUES ({_marks(len(_STEP_COLUMNS))})",
                [tuple(self._when(v) if k == "at" else v for k, v in
                       ((k, r[k]) for k in _STEP_COLUMNS)) for r in rows])

    async def add_outbox(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            convert = {"messages": self._json, "created_at": self._when, "sent_at": self._when,
                       "event_at": self._when}
            await self.db.executemany(
                f"INSERT INTO outbox ({', '.join(_OUTBOX_COLUMNS)}) "
                f"VALUES ({_marks(len(_OUTBOX_COLUMNS))})",
                [tuple(convert[k](r[k]) if k in convert and r[k] is not None else r[k]
                       for k in _OUTBOX_COLUMNS) for r in rows])

    async def add_unmatched(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            convert = {"guesses": self._json, "first_seen": self._when,
                       "last_seen": self._when}
            await self.db.executemany(_UPSERT_UNMATCHED, [
                tuple(convert[k](r[k]) if k in convert else r[k] for k in _UNMATCHED_COLUMNS)
                for r in sorted(rows, key=lambda r: str(r["key"]))])

    async def finish_outboxes(self, results: Sequence[Finished], now: datetime) -> None:
        await _finish_outboxes(self.session, results, now)


async def _finish_outboxes(session: AsyncSession, results: Sequence[Finished],
                           now: datetime) -> None:
    """The webhook's own tries, by the outbox's one set of rules (store/outbox.py): the same
    statements the relay runs, on either database."""
    for outcome in ("sent", "retry", "failed"):
        if rows := [params(i, now=now, error=e, reply_maybe_sent=m)
                    for i, o, e, m in results if o == outcome]:
            await session.execute(transition(outcome, by_relay=False), rows)


def _processor(column_type: Any, dialect: Dialect) -> Callable[[Any], Any]:
    """How SQLAlchemy writes a value of this column's type on this dialect."""
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return cast(Callable[[Any], Any], process) if process is not None else (lambda v: v)
