"""Group commit: what many concurrent callers want written goes into one transaction.

One writer task takes everything queued since its last commit (up to `max_items`), hands it
to `work(session, items)` inside one `Database.transaction()`, and only after that transaction
commits answers each caller with its own result. A caller is therefore never told "done"
before its change is durable, but a hundred callers share one BEGIN, one COMMIT and one fsync
instead of paying one each: on SQLite, with `synchronous=FULL`, the commit and the statements
around it were most of what one webhook event cost.

An item submitted with `lazy=True` (a delivery's outcome, which nobody waits on to answer a
request) does not start a transaction of its own while others are coming: it rides in the
next one, or after `linger` seconds goes alone.

An item that fails on its own (`work` raises `ItemFailed(index)`) must not take the others
down with it: the transaction is rolled back, that caller gets the error, and the rest are
done again in a new transaction without it. Anything else `work` raises (the database went
away, the commit failed) is every caller's error: nothing of theirs was committed.

Two refinements keep one bad item from ever holding up the others, or itself forever:

- **Poison.** An error that the same item would raise again however often it is tried (a
  value the database refuses, a bug for this input: `is_poison`) gets the item replaced by
  what `quarantine(item, error)` returns, in its place, and the transaction is done again. A
  whole transaction failing with poison is done again one item at a time, so that only the
  poisonous one is replaced. A replacement that fails too is its caller's error.
- **Holds.** Items with the same `hold_key` (one person's events in one webhook body) must
  keep their order: once one of them fails, the later ones are not tried (`Held`), here or in
  a later transaction, until the caller `release`s the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.store.db import Database

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class ItemFailed(Exception):
    """Raised by `work` for the item at `index` of the list it was given; the cause is what
    that item's caller gets."""

    def __init__(self, index: int) -> None:
        super().__init__(f"item {index} failed")
        self.index = index


class Held(Exception):
    """Not tried: an earlier item with the same hold key failed, and this one must not go
    before it."""


def is_poison(exc: BaseException) -> bool:
    """Whether the same work would fail the same way on every try: a value the database
    refuses (PostgreSQL's data and integrity errors, SQLite's), or an error of our own code
    for this input. A lost connection, a lock not granted in time, a deadlock or a server
    shutting down are not: those pass."""
    if isinstance(exc, ItemFailed):
        exc = exc.__cause__ or exc
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return False
        exc = exc.orig  # type: ignore[assignment]
    state = getattr(exc, "sqlstate", None)
    if isinstance(state, str):
        return state[:2] in ("22", "23")  # data exception, integrity constraint violation
    if isinstance(exc, sqlite3.Error):
        return isinstance(exc, sqlite3.DataError | sqlite3.IntegrityError)
    if isinstance(exc, OSError | TimeoutError | SQLAlchemyError | asyncio.CancelledError):
        return False
    return isinstance(exc, ArithmeticError | LookupError | ValueError | TypeError
                      | AttributeError | AssertionError)


class GroupCommit(Generic[T, R]):
    def __init__(
        self, db: Database,
        work: Callable[[AsyncSession, Sequence[T]], Awaitable[Sequence[R]]],
        *, max_items: int = 64, linger: float = 0.05, name: str = "group-commit",
        quarantine: Callable[[T, BaseException], T | None] | None = None,
        hold_key: Callable[[T], Hashable | None] | None = None,
    ) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.db = db
        self.work = work
        self.max_items = max_items
        self.linger = linger
        self.name = name
        self.quarantine = quarantine
        self.hold_key = hold_key
        self._held: set[Hashable] = set()
        self._queue: asyncio.Queue[tuple[T, asyncio.Future[R]]] = asyncio.Queue()
        self._lazy: list[tuple[T, asyncio.Future[R]]] = []
        self._lazy_timer: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        self.batches = 0  # transactions committed, for the metrics and the tests
        self.items = 0

    async def submit(self, item: T, *, lazy: bool = False) -> R:
        """Queue `item`; return its result once the transaction holding it has committed."""
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_forever(), name=self.name)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        if lazy:
            self._lazy.append((item, future))
            if self._lazy_timer is None:
                self._lazy_timer = loop.call_later(self.linger, self._flush_lazy)
        else:
            self._queue.put_nowait((item, future))
        return await future

    def _flush_lazy(self) -> None:
        """Lazy items waited long enough: they go into the next transaction, alone if need be."""
        self._lazy_timer = None
        lazy, self._lazy = self._lazy, []
        for entry in lazy:
            self._queue.put_nowait(entry)

    async def close(self) -> None:
        """Stop the writer; whatever is still queued is told so instead of waiting forever."""
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        if self._lazy_timer is not None:
            self._lazy_timer.cancel()
            self._lazy_timer = None
        self._flush_lazy()
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            if not future.done():
                future.set_exception(RuntimeError("the server is stopping"))

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.max_items and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            room = self.max_items - len(batch)
            if room > 0 and self._lazy:
                batch += self._lazy[:room]
                del self._lazy[:room]
            # a caller that gave up (its request was cancelled) needs no work done
            live = [(item, future) for item, future in batch if not future.cancelled()]
            try:
                await self._commit(live)
            except asyncio.CancelledError:
                for _, future in live:
                    if not future.done():
                        future.set_exception(RuntimeError("the server is stopping"))
                raise

    def release(self, keys: Iterable[Hashable]) -> None:
        """The caller is done with these hold keys: later items may use them afresh."""
        self._held.difference_update(keys)

    def _key(self, item: T) -> Hashable | None:
        return self.hold_key(item) if self.hold_key is not None else None

    def _give_up(self, batch: list[tuple[T, asyncio.Future[R]]], index: int,
                 exc: BaseException) -> None:
        """The item at `index` failed for good: its caller gets the error, and the later items
        it holds up are taken out too."""
        item, future = batch.pop(index)
        _fail(future, exc)
        key = self._key(item)
        if key is None:
            return
        self._held.add(key)
        for i in reversed(range(index, len(batch))):
            if self._key(batch[i][0]) == key:
                _fail(batch.pop(i)[1], Held("an earlier event of this person failed"))

    async def _commit(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        for i in reversed(range(len(batch))):  # held since they were queued
            if self._key(batch[i][0]) in self._held:
                _fail(batch.pop(i)[1], Held("an earlier event of this person failed"))
        replaced: set[int] = set()  # futures whose item is already a replacement

        def replacement(index: int, exc: BaseException) -> bool:
            item, future = batch[index]
            if self.quarantine is None or id(future) in replaced or not is_poison(exc):
                return False
            other = self.quarantine(item, exc)
            if other is None:
                return False
            batch[index] = (other, future)
            replaced.add(id(future))
            return True

        while batch:
            try:
                async with self.db.transaction() as session:
                    results = await self.work(session, [item for item, _ in batch])
            except ItemFailed as failed:
                cause = failed.__cause__ or failed
                if not replacement(failed.index, cause):
                    self._give_up(batch, failed.index, cause)
                continue  # rolled back: again, without it or with its replacement
            except Exception as exc:
                if len(batch) > 1 and is_poison(exc):
                    # which item's value was refused is not known: one at a time, so that
                    # only that one is set aside
                    for entry in batch:
                        await self._commit([entry])
                    return
                if len(batch) == 1 and replacement(0, exc):
                    continue
                while batch:
                    self._give_up(batch, 0, exc)
                return
            self.batches += 1
            self.items += len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
            return


def _fail(future: asyncio.Future[R], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
