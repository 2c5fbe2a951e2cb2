"""The conversation service: a webhook body's events through the group commit (each person's
in order), `advance()` on each, the state, steps and answer written in the event's own
transaction, and the answers sent after the commit."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.conversation.codec import dump_messages
from supportnavi.conversation.events import Delivery, InboundEvent
from supportnavi.conversation.ports import Sender
from supportnavi.edition import Edition, Live
from supportnavi.engine import Input, Outcome, Scenarios, State, advance, trouble
from supportnavi.engine.hours import PushHours
from supportnavi.engine.outcome import (
    Effect,
    Revive,
    Schedule,
    SetWindow,
    StopAll,
    StopReminder,
    Unmatched,
)
from supportnavi.engine.ports import Classifier, Context, Planner, ReminderInfo
from supportnavi.metrics import EVENT_SECONDS, POISON_EVENTS
from supportnavi.store import incidents, repo
from supportnavi.store.batch import BatchStore, StateRow, UserRow, batch_store
from supportnavi.store.db import Database, as_utc
from supportnavi.store.group_commit import GroupCommit, ItemFailed
from supportnavi.store.models import Reminder
from supportnavi.store.outbox import OutboxOutcome

log = logging.getLogger(__name__)


# A body's answers to different people go out this many at a time (the sender's pool holds
# more: the dispatcher's share, and other bodies').
DELIVERY_CONCURRENCY = 16


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Finished:
    """How the webhook's own try at a delivery went, to be written on its outbox row (the
    rules of `repo.finish_outbox`, with `by_relay=False`)."""

    outbox_id: str
    outcome: OutboxOutcome
    error: str | None
    reply_maybe_sent: bool | None = None


@dataclass(frozen=True)
class Handled:
    """What became of one event: the answer to send after the commit (None: nothing to say),
    and an incident to count once the webhook has answered, as (place, code)."""

    delivery: Delivery | None = None
    incident: tuple[incidents.Place, str] | None = None


@dataclass(frozen=True)
class _Queued:
    """An event as the group commit holds it: `body` ties it to the webhook request it came
    in, so that a person's events of one body keep their order (the group commit's hold)."""

    event: InboundEvent
    body: object


@dataclass(frozen=True)
class _Poisoned:
    """An event that fails on every try (a poison event), set aside in its place in the
    transaction: recorded as processed, so that LINE's redeliveries stop, and answered with
    an apology and the menu."""

    event: InboundEvent
    code: str


_Item = _Queued | _Poisoned | _Finished


@dataclass
class _Batch:
    """What one transaction's events read and will write, so that a person's second event in
    it sees what their first changed, and every table is written once at the end."""

    store: BatchStore
    users: dict[str, UserRow]
    states: dict[str, StateRow]
    # the scenarios (with their classifier and planner) every event of it is answered from:
    # the edition served when the transaction began (edition.py)
    edition: Edition
    saves: dict[str, int] = field(default_factory=dict)  # per person: events that saved state
    touched: set[str] = field(default_factory=set)  # people whose reminders changed here
    steps: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    unmatched: dict[str, dict[str, Any]] = field(default_factory=dict)  # the inbox, by key

    async def write(self, now: datetime) -> None:
        await self.store.save_states({u: (self.states[u], n) for u, n in self.saves.items()},
                                     now)
        await self.store.add_steps(self.steps)
        await self.store.add_outbox(self.outbox)
        await self.store.add_unmatched(list(self.unmatched.values()))

    def keep_unmatched(self, found: Unmatched, now: datetime) -> None:
        """One more of a group of the operators' inbox (issue 18): counted here, so that the
        transaction writes each group once, in one statement. Nothing of who typed it."""
        key = hashlib.sha256("\x1f".join(
            (found.route or "", found.node or "", found.text)).encode()).hexdigest()
        row = self.unmatched.get(key)
        if row is not None:
            row["count"] += 1
            row["last_seen"] = now
            return
        self.unmatched[key] = {
            "key": key, "text": found.text, "route": found.route, "node": found.node,
            "guesses": [{"route": g.route, "node": g.node, "score": g.score}
                        for g in found.guesses],
            "count": 1, "first_seen": now, "last_seen": now, "status": "new"}


class ConversationService:
    """Handles each event in a transaction: lock the user, skip a seen event, load the state,
    advance it, save state, history and outgoing messages, commit. Sending happens after the
    commit (see `deliver`).

    Events handled at the same time share one transaction (a group commit, `_commit`): one
    writer takes every event queued while the last transaction committed, handles them one
    after another in arrival order (a person's events in the order they came), and answers
    each only once the transaction holding it has committed. A failing event is taken out and
    the others are done again without it."""

    def __init__(
        self,
        db: Database,
        scenarios: Scenarios | Live,
        sender: Sender,
        clock: Callable[[], datetime] = utcnow,
        planner: Planner | None = None,
        classifier: Classifier | None = None,
        batch_max: int = 64,
        reader: Callable[[str], str] | None = None,
        unmatched_days: int = 0,
    ) -> None:
        """`scenarios`: the process's `Live` edition (its classifier and planner with it), or
        fixed scenarios with `planner` (None: no reminders are offered) and `classifier`
        (None: typed text is routed by names and keywords only)."""
        self.db = db
        self.live = (scenarios if isinstance(scenarios, Live)
                     else Live.fixed(scenarios, classifier=classifier, planner=planner))
        self.sender = sender
        self.clock = clock
        self.reader = reader  # how typed Japanese reads; None: as it is written
        # days the operators' inbox keeps what the bot could not place; 0: nothing is kept
        self.unmatched_days = unmatched_days
        self._commits: GroupCommit[_Item, Handled] = GroupCommit(
            db, self._commit, max_items=batch_max, name="conversation-writer",
            quarantine=self._quarantine, hold_key=_hold_key)

    @property
    def scenarios(self) -> Scenarios:
        """The scenarios served now (a unit of work takes `live.current` once instead)."""
        return self.live.current.scenarios

    async def close(self) -> None:
        await self._commits.close()

    async def handle(self, event: InboundEvent) -> Handled:
        """One event, as a body of one; raises what failed it (the webhook answers 500)."""
        [result] = await self.handle_all([event])
        if isinstance(result, BaseException):
            raise result
        return result

    async def handle_all(self, events: Sequence[InboundEvent]) -> list[Handled | BaseException]:
        """A webhook body's events, all queued at once in body order, so that they share the
        group commit's transactions (a body of 1,000 events took over LINE's 2 s one by one).
        A person's events keep their order: once one fails, their later ones in the body are
        not tried (`Held`), and LINE's redelivery brings them back after it. Each result is
        the event's `Handled` or what failed it."""
        body = object()
        held: set[tuple[object, str]] = set()

        async def one(event: InboundEvent) -> Handled:
            with EVENT_SECONDS.time():  # from the body's arrival to its event's commit
                return await queue(event)

        async def queue(event: InboundEvent) -> Handled:
            if event.standby:
                log.info("event %s ignored: channel in standby mode", event.event_id)
                return Handled()
            if event.user_key is None:
                log.info("event %s (%s) has no source: ignored", event.event_id,
                         event.source_type)
                return Handled()
            held.add((body, event.user_key))
            return await self._commits.submit(_Queued(event, body))

        try:
            return await asyncio.gather(*(one(e) for e in events), return_exceptions=True)
        finally:
            self._commits.release(held)

    def _quarantine(self, item: _Item, error: BaseException) -> _Item | None:
        """A poison event: set aside in its place, never tried again."""
        if not isinstance(item, _Queued):
            return None
        event = item.event
        code = type(error.__cause__ or error).__name__
        log.error("event %s (%s) fails on every try (%s): recorded as processed and answered "
                  "with an apology", event.event_id, event.source_type, code)
        POISON_EVENTS.inc()
        return _Poisoned(event, code)

    async def _commit(self, session: AsyncSession, items: Sequence[_Item]) -> list[Handled]:
        """One transaction's work: the outcomes of sent deliveries, then each event in turn,
        all on the one edition of the scenarios served when it began (a swap meanwhile is the
        next transaction's)."""
        now = self.clock()
        edition = self.live.current
        store = await batch_store(session)
        await store.finish_outboxes(
            [(i.outbox_id, i.outcome, i.error, i.reply_maybe_sent)
             for i in items if isinstance(i, _Finished)], now)
        events = [i.event for i in items if not isinstance(i, _Finished)]
        if not events:
            return [Handled()] * len(items)
        fresh = await store.claim_events(
            [(e.event_id, e.user_key, e.source_type[:32]) for e in events], now)
        users = await store.lock_users([e.user_key for e in events if e.user_key], now)
        states = await store.load_states(
            [e.user_key for e in events if e.user_key and e.input is not None
             and e.event_id in fresh])
        batch = _Batch(store, users, states, edition)
        results: list[Handled] = []
        for index, item in enumerate(items):
            if isinstance(item, _Finished):
                results.append(Handled())
            elif item.event.event_id not in fresh:
                log.info("event %s already processed: skipped", item.event.event_id)
                results.append(Handled())
            else:
                fresh.discard(item.event.event_id)  # a second copy here is a redelivery
                try:
                    if isinstance(item, _Poisoned):
                        results.append(self._apologise(batch, item, now))
                    else:
                        results.append(await self._handle_one(session, batch, item.event, now))
                except Exception as exc:
                    raise ItemFailed(index) from exc
        await batch.write(now)
        return results

    def _apologise(self, batch: _Batch, item: _Poisoned, now: datetime) -> Handled:
        """The poison event's place in the transaction: its id is recorded (claim_events did),
        nothing of it is kept, and the person gets an apology and the menu."""
        event = item.event
        assert event.user_key is not None
        user = batch.users[event.user_key]
        incident: tuple[incidents.Place, str] = ("webhook", f"poison: {item.code}")
        if event.input is None or user.status == "blocked":
            return Handled(incident=incident)
        try:
            state = _to_state(batch.states.get(user.id))
        except Exception:  # the stored state may be what fails: start from the menu
            state = State()
        outcome = trouble(batch.edition.scenarios, state)
        return Handled(self._record(batch, user, event, outcome, now), incident)

    async def _handle_one(
        self, session: AsyncSession, batch: _Batch, event: InboundEvent, now: datetime,
    ) -> Handled:
        assert event.user_key is not None
        user = batch.users[event.user_key]
        if event.type == "unfollow":
            user.status = "blocked"
            await repo.block(session, user.id, now)
            return Handled()
        if event.type == "follow" and user.status != "active":
            user.status = "active"
            await batch.store.set_user_status(user.id, "active", None)
        if event.input is None:
            log.info("event %s of type %s: nothing to do", event.event_id, event.source_type)
            return Handled()

        state = _to_state(batch.states.get(user.id))
        edition = batch.edition
        scenarios = edition.scenarios
        context = Context(planner=edition.planner, classifier=edition.classifier,
                          reader=self.reader, window=_window(user),
                          unmatched_days=self.unmatched_days)
        try:
            outcome = _advance(scenarios, state, event.input, now, context)
            if outcome.needs_reminders:
                # Only inputs that touch reminders pay for reading them; a person this very
                # transaction created has none.
                pending: list[Reminder] = []
                skipped: list[Reminder] = []
                if not user.new or user.id in batch.touched:
                    pending = await repo.reminders_of(session, event.user_key)
                    skipped = await self._live_skipped(session, event.user_key, now,
                                                       edition.planner)
                context = replace(context, reminders=_infos(pending), skipped=_infos(skipped))
                outcome = _advance(scenarios, state, event.input, now, context)
        except EngineFailed as failed:
            # the same input would fail again on every redelivery: answer it all the same
            log.exception("event %s: advance() failed; answered with an apology and the menu",
                          event.event_id)
            return Handled(self._record(batch, user, event, trouble(scenarios, state),
                                        now), ("engine", str(failed)))
        if outcome.effects:
            batch.touched.add(user.id)
            await self._apply(session, batch.store, user, outcome.effects, now, edition.planner)
        return Handled(self._record(batch, user, event, outcome, now))

    def _record(self, batch: _Batch, user: UserRow, event: InboundEvent, outcome: Outcome,
                now: datetime) -> Delivery | None:
        """The outcome's state, steps and answer, to be written at the end of the batch."""
        row = batch.states.get(user.id)
        batch.states[user.id] = StateRow(
            outcome.state.route, outcome.state.node,
            {"stack": [list(p) for p in outcome.state.stack], "vars": outcome.state.vars},
            (row.version if row else 0) + 1,
        )
        batch.saves[user.id] = batch.saves.get(user.id, 0) + 1
        batch.steps.extend(
            {"user_id": user.id, "at": now, "kind": s.kind, "route": s.route, "node": s.node,
             "resolved": outcome.resolved[:128], "event_id": event.event_id}
            for s in outcome.steps
        )
        if outcome.unmatched is not None and self.unmatched_days > 0:
            batch.keep_unmatched(outcome.unmatched, now)
        if not outcome.messages or user.status == "blocked":
            return None
        outbox_id = str(uuid.uuid4())
        batch.outbox.append({
            "id": outbox_id, "user_id": user.id, "event_id": event.event_id,
            "reply_token": event.reply_token, "messages": dump_messages(outcome.messages),
            "status": "pending", "attempts": 0, "error": None, "created_at": now,
            "sent_at": None, "event_at": _sent_by_line(event),
        })
        return Delivery(outbox_id, user.id, event.reply_token, outcome.messages)

    async def _live_skipped(
        self, session: AsyncSession, user_id: str, now: datetime, planner: Planner | None,
    ) -> list[Reminder]:
        """Reminders skipped while the person had blocked the bot whose deadline is still
        ahead; those already past are settled here, so nobody is asked about them."""
        if planner is None:
            return []
        rows = await repo.reminders_of(session, user_id, skipped=True)
        today = planner.today(now)
        for row in rows:
            if row.deadline < today:
                row.error = repo.MISSED
        return [r for r in rows if r.deadline >= today]

    async def _apply(
        self, session: AsyncSession, store: BatchStore, user: UserRow,
        effects: Sequence[Effect], now: datetime, planner: Planner | None,
    ) -> None:
        """Do to the person's reminders what the engine decided."""
        for effect in effects:
            if isinstance(effect, Schedule):
                repo.add_reminders(session, user.id, effect.kind, effect.given, effect.deadline,
                                   effect.pushes, now)
            elif isinstance(effect, StopReminder):
                await repo.cancel_reminders(session, user.id, effect.kind, effect.given)
            elif isinstance(effect, StopAll):
                await repo.cancel_reminders(session, user.id)
            elif isinstance(effect, SetWindow):
                user.push_start_hour, user.push_end_hour = effect.start, effect.end
                await store.set_push_window(user.id, effect.start, effect.end)
            elif isinstance(effect, Revive):
                rows = await self._live_skipped(session, user.id, now, planner)
                repo.revive_reminders(rows, now, keep=effect.keep)

    async def deliver(self, delivery: Delivery) -> None:
        """Send what a committed event decided, reply token first. A refused token falls back to
        a push whose X-Line-Retry-Key is the outbox id, written down before it goes. What LINE
        could not take (5xx, 429, no answer) stays pending for the relay, with whether the reply
        may have reached LINE all the same: conversation/relay.py says why a retry never sends
        anything twice."""
        result = None
        if delivery.reply_token:
            result = await self.sender.reply(delivery.reply_token, delivery.messages)
        pushed = result is None or result.token_invalid
        if result is None or result.token_invalid:
            if delivery.reply_token and not await self._switch_to_push(delivery.outbox_id):
                return  # a relay has taken the row: it decides from here
            result = await self.sender.push(
                delivery.user_key, delivery.messages, retry_key=delivery.outbox_id
            )
        if not result.ok:
            log.warning("delivery %s failed: %s %s", delivery.outbox_id, result.status,
                        result.error)
        outcome: OutboxOutcome = (
            "sent" if result.ok else "retry" if result.retryable else "failed")
        # written with the next events' transaction (or alone after a moment), and awaited: a
        # delivery is over once it is marked
        await self._commits.submit(
            _Finished(delivery.outbox_id, outcome, result.error,
                      reply_maybe_sent=None if pushed else result.maybe_taken),
            lazy=True)
        if not result.ok:
            await incidents.record(self.db, "delivery",
                                   incidents.code_of_send(result.status, result.error),
                                   at=self.clock())

    async def _switch_to_push(self, outbox_id: str) -> bool:
        # rare (a refused reply token), and it must be on disk before the push goes: its own
        # transaction, not a lazy ride
        async with self.db.transaction() as session:
            return await repo.switch_outbox_to_push(session, outbox_id)

    async def deliver_all(self, deliveries: list[Delivery]) -> None:
        """A body's answers: each person's in the order of their events, different people's
        side by side (DELIVERY_CONCURRENCY at a time). One after another, a body of 1,000
        events took seconds to answer, and the relay began to race the late ones."""
        by_person: dict[str, list[Delivery]] = {}
        for delivery in deliveries:
            by_person.setdefault(delivery.user_key, []).append(delivery)
        room = asyncio.Semaphore(DELIVERY_CONCURRENCY)

        async def in_order(theirs: list[Delivery]) -> None:
            async with room:
                for delivery in theirs:
                    try:
                        await self.deliver(delivery)
                    except Exception as exc:
                        log.exception("delivery %s crashed", delivery.outbox_id)
                        await incidents.record(self.db, "delivery", incidents.code_of(exc),
                                               at=self.clock())

        await asyncio.gather(*(in_order(theirs) for theirs in by_person.values()))


class EngineFailed(Exception):
    """advance() raised. Its message is dropped: it could quote what the person typed, which
    must never reach a log (a password, a card number). The traceback still says where."""


def _advance(
    scenarios: Scenarios, state: State, event_input: Input, now: datetime, context: Context
) -> Outcome:
    try:
        return advance(scenarios, state, event_input, now, context)
    except Exception as exc:
        failed = EngineFailed(f"{type(exc).__name__} in advance()")
        raise failed.with_traceback(exc.__traceback__) from None


def _hold_key(item: _Item) -> tuple[object, str] | None:
    """One person's events of one webhook body keep their order."""
    if isinstance(item, _Queued) and item.event.user_key is not None:
        return (item.body, item.event.user_key)
    return None


def _sent_by_line(event: InboundEvent) -> datetime | None:
    """The event's own timestamp: when LINE issued its reply token."""
    if event.timestamp_ms <= 0:
        return None
    return datetime.fromtimestamp(event.timestamp_ms / 1000, UTC)


def _window(user: UserRow) -> PushHours:
    """The person's push hours as stored; unset or out of range (a row written before they
    were checked), the default."""
    return PushHours.stored(user.push_start_hour, user.push_end_hour)


def _infos(rows: Sequence[Reminder]) -> tuple[ReminderInfo, ...]:
    """One entry per reminder (kind and given date), however many pushes it has, soonest
    first."""
    found: dict[tuple[str, object], ReminderInfo] = {}
    for row in rows:  # ordered by due_at
        key = (row.kind, row.given)
        if key not in found:
            found[key] = ReminderInfo(row.kind, row.given, row.deadline,
                                      as_utc(row.next_attempt_at))
    return tuple(found.values())


def _to_state(row: StateRow | None) -> State:
    if row is None:
        return State()
    data = row.data or {}
    return State(
        route=row.route,
        node=row.node,
        stack=[(str(r), str(n)) for r, n in data.get("stack", [])],
        vars={str(k): str(v) for k, v in data.get("vars", {}).items()},
    )
