"""A load generator for `POST /callback`: many people at once, each tapping through the bot
one event after the other as a person does, every body signed and built to webhook.yml.

Each person's conversation is planned up front with the pure engine (the server's scenarios and
planner), so a test knows what every event must do: the steps it writes to the history, what it
resolved to, and where it leaves the person. A person taps only postback buttons the previous
answer showed (no date pickers, no links), so nothing depends on the server's clock or its
sentence encoder.
"""

from __future__ import annotations

import asyncio
import copy
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from supportnavi.engine import Follow, Input, Outcome, Postback, Scenarios, State, advance
from supportnavi.engine.hours import PushHours
from supportnavi.engine.outcome import SetWindow
from supportnavi.engine.ports import Context
from supportnavi.reminders.planner import RulesPlanner, days_from_facts
from supportnavi.simulator.signing import sign
from tests.support.line_user import SECRET, LineUser

StepRow = tuple[str, str | None, str | None]  # kind, route, node


@dataclass
class Planned:
    """One event, and what the engine says it does when applied where the previous one left
    the person."""

    user_id: str
    event: dict[str, Any]
    steps: list[StepRow]
    resolved: str
    state: State  # after it

    @property
    def event_id(self) -> str:
        return str(self.event["webhookEventId"])

    @property
    def reply_token(self) -> str:
        return str(self.event["replyToken"])


def engine_input(event: dict[str, Any]) -> Input:
    if event["type"] == "follow":
        return Follow()
    return Postback(event["postback"]["data"], dict(event["postback"].get("params") or {}))


class Replayer:
    """advance() as the server calls it for these people: its planner, no classifier (only
    postbacks are sent), no reminders (none are ever set), and the person's push window."""

    def __init__(self, scenarios: Scenarios, tz: str = "Asia/Tokyo") -> None:
        self.scenarios = scenarios
        self.planner = RulesPlanner(ZoneInfo(tz), days_from_facts(scenarios.facts))

    def step(self, state: State, window: PushHours, event: dict[str, Any],
             ) -> tuple[Outcome, PushHours]:
        context = Context(planner=self.planner, window=window, reminders=(), skipped=())
        outcome = advance(self.scenarios, state, engine_input(event), datetime.now(UTC), context)
        for effect in outcome.effects:
            if isinstance(effect, SetWindow):
                window = PushHours(effect.start, effect.end)
        return outcome, window

    def replay(self, user_id: str, events: Iterable[dict[str, Any]]) -> list[Planned]:
        """What these events do, applied in this order from a new person's state."""
        state, window, done = State(), PushHours(), []
        for event in events:
            outcome, window = self.step(state, window, event)
            state = outcome.state
            done.append(Planned(user_id, event, [(s.kind, s.route, s.node) for s in outcome.steps],
                                outcome.resolved[:128], state))
        return done


def plan_person(replayer: Replayer, user_id: str, length: int, rng: random.Random,
                ) -> list[Planned]:
    """A follow, then `length - 1` taps, each on a postback button of the previous answer."""
    user = LineUser(None, user_id)  # type: ignore[arg-type]  # only builds events
    event = user.follow()
    state, window, planned = State(), PushHours(), []
    while True:
        outcome, window = replayer.step(state, window, event)
        state = outcome.state
        planned.append(Planned(user_id, event, [(s.kind, s.route, s.node) for s in outcome.steps],
                               outcome.resolved[:128], state))
        if len(planned) == length:
            return planned
        buttons = [q for q in outcome.messages[-1].quick_replies if q.kind == "postback"]
        event = user.postback(rng.choice(buttons).data)


def plan_people(scenarios: Scenarios, people: int, length: int, seed: int = 7,
                ) -> dict[str, list[Planned]]:
    rng = random.Random(seed)
    replayer = Replayer(scenarios)
    return {user_id: plan_person(replayer, user_id, length, rng)
            for user_id in (f"U{rng.getrandbits(128):032x}" for _ in range(people))}


def redelivered(event: dict[str, Any]) -> dict[str, Any]:
    """The same event as LINE's redelivery sends it again."""
    again = copy.deepcopy(event)
    again["deliveryContext"] = {"isRedelivery": True}
    return again


def signed(*events: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = LineUser.body(*events)  # validated against webhook.yml
    return body, {"content-type": "application/json", "x-line-signature": sign(SECRET, body)}


@dataclass
class Answer:
    event_id: str
    status: int | None  # None: no answer (the connection broke, or it timed out)
    seconds: float
    error: str | None = None
    redelivery: bool = False


@dataclass
class Load:
    """Posts each person's events in order, many people at once; a person stops at the first
    event that gets no 200 (as LINE would hold it for redelivery)."""

    url: str
    people: dict[str, list[Planned]]
    timeout: float = 15.0
    answers: list[Answer] = field(default_factory=list)
    next_index: dict[str, int] = field(default_factory=dict)
    stuck: dict[str, Planned] = field(default_factory=dict)  # got no 200: to redeliver

    def __post_init__(self) -> None:
        self.next_index = dict.fromkeys(self.people, 0)

    def ok(self) -> set[str]:
        return {a.event_id for a in self.answers if a.status == 200}

    async def post(self, client: httpx.AsyncClient, event: dict[str, Any],
                   redelivery: bool = False) -> Answer:
        body, headers = signed(event)
        started = time.perf_counter()
        try:
            response = await client.post(f"{self.url}/callback", content=body, headers=headers)
            answer = Answer(event["webhookEventId"], response.status_code,
                            time.perf_counter() - started, None, redelivery)
            if response.status_code != 200:
                answer.error = response.text[:500]
        except httpx.HTTPError as exc:
            answer = Answer(event["webhookEventId"], None, time.perf_counter() - started,
                            f"{type(exc).__name__}: {exc}", redelivery)
        self.answers.append(answer)
        return answer

    async def run(self, concurrency: int, redeliver: bool = False) -> None:
        """Each person's stuck event first (redelivered), then the rest of their events."""
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(timeout=self.timeout, limits=limits) as client:
            gate = asyncio.Semaphore(concurrency)

            async def person(user_id: str) -> None:
                async with gate:
                    if redeliver and user_id in self.stuck:
                        event = self.stuck[user_id].event
                        if (await self.post(client, redelivered(event), True)).status != 200:
                            return
                        del self.stuck[user_id]
                    events = self.people[user_id]
                    while user_id not in self.stuck and self.next_index[user_id] < len(events):
                        planned = events[self.next_index[user_id]]
                        self.next_index[user_id] += 1
                        if (await self.post(client, planned.event)).status != 200:
                            self.stuck[user_id] = planned

            await asyncio.gather(*(person(u) for u in self.people))
