"""Events handled at the same time share a transaction (the conversation service's group
commit): each person's events still go in the order they came, each is answered only once the
transaction holding it committed, a failing event is taken out without taking the others down,
and a failed commit fails everyone in it with nothing written."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

import supportnavi.conversation.service as service_module
from supportnavi.conversation.events import InboundEvent, SendResult
from supportnavi.conversation.service import ConversationService, EngineFailed
from supportnavi.engine import Follow, Input, OutText, Postback, State, Text, advance
from supportnavi.engine import postback as postback_data
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.model import Context
from supportnavi.settings import REPO_ROOT
from supportnavi.store.db import Database
from supportnavi.store.models import ConversationState, Outbox, ProcessedEvent, StepRecord
from tests.support.db import session_at

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def scenarios():
    return load_scenarios(REPO_ROOT / "scenarios")


class Sender:
    def __init__(self) -> None:
        self.replies: list[str] = []

    async def reply(self, reply_token: str, messages: list[OutText]) -> SendResult:
        self.replies.append(reply_token)
        return SendResult(ok=True, status=200)

    async def push(self, to: str, messages: list[OutText], retry_key: str) -> SendResult:
        return SendResult(ok=True, status=200)

    async def multicast(self, to: list[str], messages: list[OutText], retry_key: str,
                        ) -> SendResult:
        return SendResult(ok=True, status=200)


class Exploding:
    """A classifier that breaks on one word: the engine raises for that event alone."""

    def classify(self, text: str) -> tuple[str, float]:
        if "boom" in text:
            raise RuntimeError("the encoder broke")
        return "unknown", 0.0


def event(user: str, given: Input) -> InboundEvent:
    kind = {Follow: "follow", Text: "message", Postback: "postback"}[type(given)]
    return InboundEvent(event_id=uuid.uuid4().hex, type=kind, source_type=kind,  # type: ignore[arg-type]
                        user_key=user, reply_token=uuid.uuid4().hex, timestamp_ms=0,
                        input=given)


async def _count(db_url: str, model: type, **where: object) -> int:
    async with session_at(db_url) as session:
        query = select(func.count()).select_from(model)
        for key, value in where.items():
            query = query.where(getattr(model, key) == value)
        return int((await session.execute(query)).scalar_one())


async def test_concurrent_events_share_transactions_and_each_person_keeps_order(
    db_url, scenarios
):
    db = Database(db_url)
    service = ConversationService(db, scenarios, Sender(), clock=lambda: NOW)
    menu = postback_data.encode(postback_data.Tap("route:returns"))
    story = [Follow(), Postback(menu), Text("メニュー"), Text("返品"), Text("戻る")]
    person = "U" + "1" * 32
    others = [f"U{i:032x}" for i in range(40)]
    events = [event(u, Follow()) for u in others[:20]]
    events += [event(person, step) for step in story]  # submitted in order, among others
    events += [event(u, Follow()) for u in others[20:]]
    try:
        results = await asyncio.gather(*(service.handle(e) for e in events))
    finally:
        await service.close()
        await db.dispose()

    assert all(r is not None for r in results)  # every event answered, after its commit
    assert service._commits.items == len(events)
    assert service._commits.batches < len(events) / 4  # shared, not one each

    expected = State()
    for step in story:  # what handling the person's events one by one gives
        expected = advance(scenarios, expected, step, NOW, Context()).state
    async with session_at(db_url) as session:
        state = await session.get(ConversationState, person)
        assert state is not None
        assert (state.route, state.node) == (expected.route, expected.node)
        assert state.version == len(story)  # one save per event, none lost
        steps = (await session.execute(
            select(StepRecord.event_id).where(StepRecord.user_id == person)
            .order_by(StepRecord.id))).scalars().all()
    person_ids = [e.event_id for e in events if e.user_key == person]
    assert list(dict.fromkeys(steps)) == person_ids  # history in the order the events came
    assert await _count(db_url, ProcessedEvent) == len(events)
    assert await _count(db_url, Outbox) == len(events)


async def test_a_failing_event_is_taken_out_and_the_others_commit(db_url, scenarios):
    db = Database(db_url)
    service = ConversationService(db, scenarios, Sender(), classifier=Exploding(),
                                  clock=lambda: NOW)
    users = [f"U{i:032x}" for i in range(3)]
    ok_before, bad, ok_after = event(users[0], Follow()), event(users[1], Text("boom boom")), \
        event(users[2], Follow())
    try:
        results = await asyncio.gather(
            *(service.handle(e) for e in (ok_before, bad, ok_after)), return_exceptions=True)
        assert isinstance(results[1], EngineFailed)
        assert results[0] is not None and results[2] is not None
        assert not isinstance(results[0], BaseException)
        # the failed one was not recorded as processed: its redelivery is handled
        assert await _count(db_url, ProcessedEvent, webhook_event_id=bad.event_id) == 0
        assert await _count(db_url, ProcessedEvent) == 2
        redelivered = await service.handle(event(users[1], Text("返品")))
        assert redelivered is not None
    finally:
        await service.close()
        await db.dispose()
    assert await _count(db_url, ProcessedEvent) == 3


async def test_a_failed_commit_fails_everyone_in_it_and_writes_nothing(
    db_url, scenarios, monkeypatch
):
    db = Database(db_url)
    service = ConversationService(db, scenarios, Sender(), clock=lambda: NOW)

    async def broken_write(self, now):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(service_module._Batch, "write", broken_write)
    events = [event(f"U{i:032x}", Follow()) for i in range(10)]
    try:
        results = await asyncio.gather(*(service.handle(e) for e in events),
                                       return_exceptions=True)
    finally:
        await service.close()
        await db.dispose()
    assert all(isinstance(r, ConnectionError) for r in results), results
    assert await _count(db_url, ProcessedEvent) == 0
    assert await _count(db_url, ConversationState) == 0
