from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from supportnavi.conversation.codec import dump_messages
from supportnavi.conversation.events import Delivery, InboundEvent
from supportnavi.conversation.ports import Sender
from supportnavi.engine import Input, Outcome, Scenarios, State, advance
from supportnavi.engine.model import (
    Classifier,
    Context,
    Effect,
    Planner,
    ReminderInfo,
    Revive,
    Schedule,
    SetWindow,
    StopAll,
    StopReminder,
)
from supportnavi.store import repo
from supportnavi.store.db import Database, as_utc
from supportnavi.store.models import ConversationState, Outbox, Reminder, StepRecord, User

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ConversationService:
    """Handles one event in one transaction: lock the user, skip a seen event, load the
    state, advance it, save state, history and outgoing messages, commit. Sending happens
    after the commit (see `deliver`)."""

    def __init__(
        self,
        db: Database,
        scenarios: Scenarios,
        sender: Sender,
        clock: Callable[[], datetime] = utcnow,
        planner: Planner | None = None,
        classifier: Classifier | None = None,
    ) -> None:
        self.db = db
        self.scenarios = scenarios
        self.sender = sender
        self.clock = clock
        self.planner = planner  # None: no reminders are offered
        self.classifier = classifier  # None: typed text is routed by names and keywords only

    async def handle(self, event: InboundEvent) -> Delivery | None:
        if event.standby:
            log.info("event %s ignored: channel in standby mode", event.event_id)
            return None
        if event.user_key is None:
            log.info("event %s (%s) has no source: ignored", event.event_id, event.source_type)
            return None
        now = self.clock()
        async with self.db.transaction() as session:
            user = await repo.lock_user(session, event.user_key, now)
            if await repo.already_processed(session, event.event_id):
                log.info("event %s already processed: skipped", event.event_id)
                return None
            repo.mark_processed(session, event.event_id, event.user_key, event.source_type, now)
            user.last_seen = now

            if event.type == "unfollow":
                user.status, user.blocked_at = "blocked", now
                await repo.skip_pending_reminders(session, event.user_key)
                return None
            if event.type == "follow":
                user.status, user.blocked_at = "active", None
            if event.input is None:
                log.info("event %s of type %s: nothing to do", event.event_id, event.source_type)
                return None

            row = await repo.load_state(session, event.user_key)
            state = _to_state(row)
            context = Context(planner=self.planner, classifier=self.classifier,
                              window=_window(user))
            outcome = _advance(self.scenarios, state, event.input, now, context)
            if outcome.needs_reminders:
                # Only inputs that touch reminders pay for reading them.
                pending = await repo.reminders_of(session, event.user_key)
                skipped = await self._live_skipped(session, event.user_key, now)
                context = replace(context, reminders=_infos(pending), skipped=_infos(skipped))
                outcome = _advance(self.scenarios, state, event.input, now, context)
            await self._apply(session, user, outcome.effects, now)
            if row is None:
                row = ConversationState(user_id=event.user_key, data={}, updated_at=now)
                session.add(row)
            row.route, row.node = outcome.state.route, outcome.state.node
            row.data = {
                "stack": [list(p) for p in outcome.state.stack],
                "vars": outcome.state.vars,
            }
            row.updated_at = now
            repo.add_steps(
                session,
                [
                    StepRecord(
                        user_id=event.user_key, at=now, kind=s.kind, route=s.route, node=s.node,
                        resolved=outcome.resolved[:128], event_id=event.event_id,
                    )
                    for s in outcome.steps
                ],
            )
            if not outcome.messages or user.status == "blocked":
                return None
            outbox = Outbox(
                id=str(uuid.uuid4()),
                user_id=event.user_key,
                event_id=event.event_id,
                reply_token=event.reply_token,
                messages=dump_messages(outcome.messages),
                created_at=now,
            )
            repo.add_outbox(session, outbox)
        return Delivery(outbox.id, event.user_key, event.reply_token, outcome.messages)

    async def _live_skipped(
        self, session: AsyncSession, user_id: str, now: datetime
    ) -> list[Reminder]:
        """Reminders skipped while the person had blocked the bot whose deadline is still
        ahead; those already past are settled here, so nobody is asked about them."""
        if self.planner is None:
            return []
        rows = await repo.reminders_of(session, user_id, skipped=True)
        today = self.planner.today(now)
        for row in rows:
            if row.deadline < today:
                row.error = repo.MISSED
        return [r for r in rows if r.deadline >= today]

    async def _apply(
        self, session: AsyncSession, user: User, effects: Sequence[Effect], now: datetime
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
            elif isinstance(effect, Revive):
                rows = await self._live_skipped(session, user.id, now)
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
        outcome: repo.OutboxOutcome = (
            "sent" if result.ok else "retry" if result.retryable else "failed")
        async with self.db.transaction() as session:
            await repo.finish_outbox(session, delivery.outbox_id, outcome, error=result.error,
                                     now=self.clock(),
                                     reply_maybe_sent=None if pushed else result.maybe_taken)

    async def _switch_to_push(self, outbox_id: str) -> bool:
        async with self.db.transaction() as session:
            return await repo.switch_outbox_to_push(session, outbox_id)

    async def deliver_all(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            try:
                await self.deliver(delivery)
            except Exception:
                log.exception("delivery %s crashed", delivery.outbox_id)


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


def _window(user: User) -> tuple[int, int]:
    if user.push_start_hour is None or user.push_end_hour is None:
        return (9, 21)
    return (user.push_start_hour, user.push_end_hour)


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


def _to_state(row: ConversationState | None) -> State:
    if row is None:
        return State()
    data = row.data or {}
    return State(
        route=row.route,
        node=row.node,
        stack=[(str(r), str(n)) for r, n in data.get("stack", [])],
        vars={str(k): str(v) for k, v in data.get("vars", {}).items()},
    )
