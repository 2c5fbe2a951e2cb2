"""Which kind of server has used a database: `meta.mode` is `line` once a server for a real
channel has started on it, `simulator` once the simulator has.

The simulator must never run on a database that holds real people: its outbox relay and its
reminder dispatcher would take their pending replies and due reminders, send them to the
in-process fake LINE API and mark them `sent`, and nobody would ever get them. So a simulator
refuses a database marked `line`, and also an unmarked one that already has rows in `users`
(a copy of a real database made before modes were recorded: whose people they are, nobody can
tell). A LINE server, by contrast, starts on a database marked `simulator`, says so, and marks
it `line`: it was pointed there on purpose, and from now on that database may hold real people,
so the simulator must be kept off it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import Database
from supportnavi.store.models import Meta, User

log = logging.getLogger(__name__)

Mode = Literal["line", "simulator"]
KEY = "mode"
ELSEWHERE = ("point DATABASE_URL at a database of the simulator's own (a new SQLite file, "
             "say sqlite+aiosqlite:///./var/simulator.db)")


class WrongDatabase(Exception):
    """The simulator was started on a database a real LINE channel has (or may have) used."""


async def _recorded(session: AsyncSession) -> str | None:
    found = await session.execute(select(Meta.value).where(Meta.key == KEY).with_for_update())
    return found.scalar_one_or_none()


async def _insert_if_absent(session: AsyncSession, mode: Mode, now: datetime) -> None:
    # another process starting at the same moment may insert first: its mark stands, and is
    # read back below (PostgreSQL waits here for that process's commit)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    await session.execute(insert(Meta).values(key=KEY, value=mode, updated_at=now)
                          .on_conflict_do_nothing(index_elements=[Meta.key]))


async def claim(db: Database, mode: Mode) -> str | None:
    """Mark the database as used in `mode`, in one transaction (BEGIN IMMEDIATE on SQLite,
    a row lock on PostgreSQL). Raises WrongDatabase when the simulator must not use it;
    returns a warning when a LINE server takes over the simulator's database, else None."""
    now = datetime.now(UTC)
    async with db.transaction() as session:
        recorded = await _recorded(session)
        if mode == "simulator":
            if recorded is None:
                if await session.scalar(select(User.id).limit(1)) is not None:
                    raise WrongDatabase(
                        "this database already holds LINE users and records no mode (a copy "
                        "of a real database, made before modes were recorded?): the simulator "
                        "would send their pending replies and due reminders to its fake LINE "
                        f"API and mark them sent. For the simulator, {ELSEWHERE}")
                await _insert_if_absent(session, mode, now)
                recorded = await _recorded(session)
            if recorded != "simulator":
                raise WrongDatabase(
                    f"this database was used by a real LINE channel (meta.mode={recorded}): "
                    "the simulator would send its people's pending replies and due reminders "
                    f"to its fake LINE API and mark them sent. For the simulator, {ELSEWHERE}")
            return None
        if recorded is None:
            await _insert_if_absent(session, mode, now)
            recorded = await _recorded(session)
        if recorded == "line":
            return None
        await session.execute(update(Meta).where(Meta.key == KEY)
                              .values(value="line", updated_at=now))
        return (f"this database was used by the simulator (meta.mode={recorded}): its made-up "
                "people and their reminders are in it, and LINE will refuse pushes to them. It "
                "is marked as a LINE channel's now, and the simulator will refuse it")


async def start_on(db: Database, simulator: bool) -> None:
    """What every process that may send does first: `serve` (each worker), the command-line
    dispatcher, the server `chat` starts. The simulator raises WrongDatabase, or the database's
    own error when it cannot tell (not migrated, down): it fails closed. A LINE server logs
    the warning, and starts even when it cannot leave its mark (the database down or not
    migrated, as before: /healthz says so); an unmarked database with people in it is refused
    by the simulator all the same."""
    if simulator:
        await claim(db, "simulator")
        return
    try:
        warning = await claim(db, "line")
    except (SQLAlchemyError, OSError) as exc:
        log.warning("could not mark the database as a LINE channel's: %s", type(exc).__name__)
        return
    if warning is not None:
        log.warning("%s", warning)
