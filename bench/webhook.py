"""Webhook benchmark: signed, unique webhook bodies posted to `/callback` of `supportnavi serve`
and of a bare SDK echo bot (`bench/echo_baseline.py`), in the same run, against the same fast
fake LINE API (`tests/support/fast_fake_line.py`), each in its own process.

    .venv/bin/python bench/webhook.py                       # SQLite, 1 worker
    .venv/bin/python bench/webhook.py --db postgres --workers 1 2

The load: many people, each following a script made in advance with the bot's own pure engine
(`advance()` on the scenarios): a follow, then taps of real buttons of the screen the person is
on, and texts that route (a route's name or one of its examples, 「メニュー」, 「戻る」). Every
event has a new `webhookEventId` and reply token; some bodies carry two or three events of one
person, as LINE batches them. A person's next body goes only after the answer to their last
(per-person order is theirs, as on a phone); across people the sending is open-loop.

Two measurements per bot:

- **capacity**: closed loop, `--concurrency` bodies in flight at all times, for
  `--seconds`: the most events/s the bot answers 200;
- **offered rates** (`--rates`, events/s): open loop, each body sent at its scheduled time
  whether or not earlier ones were answered, so a slow server shows as latency instead of
  slowing the sender. Latency runs from the scheduled time to the answer. A rate step whose
  p99 passes 2 s ends the ladder for that bot (LINE would be timing out).

It reports events/s, p50/p95/p99 latency, answers by status (and connection errors), the
highest offered rate with p99 under 500 ms, supportnavi's capacity as a ratio of the echo
bot's, and the fast fake's own ceiling (a raw aiohttp client replying to it as fast as it
answers). `--profile FILE` samples supportnavi's server with `py-spy record` the whole
time.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "linebot"), str(ROOT)]

import aiohttp  # noqa: E402
import httpx  # noqa: E402

from supportnavi.engine import (  # noqa: E402
    Follow,
    Input,
    Postback,
    Scenarios,
    State,
    Text,
    advance,
    load_scenarios,
)
from supportnavi.engine.ports import Context  # noqa: E402
from supportnavi.reminders.planner import RulesPlanner, days_from_facts  # noqa: E402
from supportnavi.simulator.signing import BOT_USER_ID, sign  # noqa: E402
from tests.support.db import pg_execute  # noqa: E402

SECRET = "bench-channel-secret"
TOKEN = "bench-access-token"
PG = os.environ.get("SUPPORTNAVI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
TIMEOUT = 10.0  # seconds a request may take before it counts as an error


# --- people and their scripts -------------------------------------------------------------


class Simulator:
    """Where the bot will take a person, worked out with the bot's own engine ahead of time.
    The bot handles a person's events in order, so the buttons of the screen the engine shows
    here are the buttons of the screen the person is on there."""

    def __init__(self, scenarios: Scenarios) -> None:
        self.scenarios = scenarios
        self.context = Context(planner=RulesPlanner(ZoneInfo("Asia/Tokyo"),
                                                    days_from_facts(scenarios.facts)))
        self.now = datetime.now(UTC)
        # names and examples that open their route; a word that could mean several routes
        # (「キャンセル」, 「返金」) asks which instead (issue 16), so it is left out
        vague = {w for a in scenarios.system.understanding.ambiguous for w in a.words}
        self.texts = [*{w for r in scenarios.routes.values() for w in [*r.names,
                                                                       *r.examples[:2]]
                        if w not in vague},
                      "メニュー", "戻る"]
        self._memo: dict[tuple[str, str], tuple[State, list[str]]] = {}

    def step(self, state: State, event_input: Input) -> tuple[State, list[str]]:
        """The next state and the postback data of the buttons it shows."""
        key = (state.model_dump_json(), repr(event_input))
        found = self._memo.get(key)
        if found is None:
            context = self.context
            outcome = advance(self.scenarios, state, event_input, self.now, context)
            if outcome.needs_reminders:  # a new person has none
                context = replace(context, reminders=(), skipped=())
                outcome = advance(self.scenarios, state, event_input, self.now, context)
            buttons = [q.data for m in outcome.messages[-1:] for q in m.quick_replies
                       if q.kind == "postback"]
            found = self._memo[key] = (outcome.state, buttons)
        return found

    def script(self, rng: random.Random, length: int) -> list[Input]:
        inputs: list[Input] = [Follow()]
        state, buttons = self.step(State(), inputs[0])
        while len(inputs) < length:
            event_input: Input
            if buttons and rng.random() < 0.7:
                event_input = Postback(rng.choice(buttons))
            else:
                event_input = Text(rng.choice(self.texts))
            inputs.append(event_input)
            state, buttons = self.step(state, event_input)
        return inputs


def event_json(user_id: str, event_input: Input) -> dict[str, Any]:
    """One event as LINE sends it (webhook.yml)."""
    event: dict[str, Any] = {
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user_id},
        "mode": "active",
        "webhookEventId": "01" + uuid.uuid4().hex.upper()[:24],
        "deliveryContext": {"isRedelivery": False},
        "replyToken": uuid.uuid4().hex,
    }
    if isinstance(event_input, Follow):
        event.update(type="follow", follow={"isUnblocked": False})
    elif isinstance(event_input, Text):
        event.update(type="message", message={
            "type": "text", "id": str(uuid.uuid4().int)[:18], "text": event_input.text,
            "quoteToken": "q" + uuid.uuid4().hex})
    elif isinstance(event_input, Postback):
        event.update(type="postback", postback={"data": event_input.data})
    else:
        raise TypeError(event_input)
    return event


def batches(events: list[dict[str, Any]], rng: random.Random, share: float,
            ) -> Iterator[list[dict[str, Any]]]:
    """A person's events in bodies: most alone, `share` of bodies with two or three."""
    i = 0
    while i < len(events):
        n = rng.choice((2, 3)) if rng.random() < share else 1
        yield events[i:i + n]
        i += n


@dataclass
class Body:
    data: bytes
    headers: dict[str, str]
    events: int


def signed(events: list[dict[str, Any]], secret: str = SECRET) -> Body:
    payload = {"destination": BOT_USER_ID, "events": events}
    data = json.dumps(payload, ensure_ascii=False).encode()
    return Body(data, {"content-type": "application/json",
                       "x-line-signature": sign(secret, data)}, len(events))


@dataclass
class Person:
    bodies: deque[Body]


class Population:
    """People made on demand, each with all their bodies built and signed in advance, so that
    the sending itself does no JSON, HMAC or engine work."""

    def __init__(self, simulator: Simulator, seed: int, batch_share: float,
                 secret: str = SECRET) -> None:
        self.simulator = simulator
        self.secret = secret
        self.rng = random.Random(seed)
        self.batch_share = batch_share
        self.made = 0
        self.ready: deque[Person] = deque()
        self.events_ready = 0

    def new_person(self) -> Person:
        self.made += 1
        user_id = f"U{uuid.uuid4().hex}"
        inputs = self.simulator.script(self.rng, self.rng.randint(3, 14))
        events = [event_json(user_id, i) for i in inputs]
        bodies = deque(signed(b, self.secret)
                       for b in batches(events, self.rng, self.batch_share))
        return Person(bodies)

    def fill(self, events: int, people: int) -> None:
        """At least `events` events ready to go, spread over at least `people` people."""
        while self.events_ready < events or len(self.ready) < people:
            person = self.new_person()
            self.events_ready += sum(b.events for b in person.bodies)
            self.ready.append(person)

    def take(self) -> tuple[Person, Body]:
        if not self.ready:
            self.fill(1, 1)
        person = self.ready.popleft()
        body = person.bodies.popleft()
        self.events_ready -= body.events
        return person, body

    def back(self, person: Person) -> None:
        if person.bodies:
            self.ready.append(person)


# --- sending ------------------------------------------------------------------------------


@dataclass
class StepResult:
    label: str
    offered: float | None  # events/s; None for the closed-loop capacity step
    seconds: float
    bodies: int = 0
    events_ok: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    started: float = 0.0
    last_answer: float = 0.0
    late_starts: int = 0  # open loop: bodies that left more than 50 ms after their time
    bot_cpu: float = 0.0  # CPU seconds the bot's processes used during the step
    sender_cpu: float = 0.0  # ...and this process, the load generator
    machine_busy: float = 0.0  # share of all the machine's cores busy (anyone's work)
    db_cpu: float = 0.0  # CPU seconds of PostgreSQL's processes (anyone's queries)

    def percentile(self, q: float) -> float | None:
        if not self.latencies:
            return None
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def events_per_s(self) -> float:
        span = max(self.last_answer, self.started + self.seconds) - self.started
        return self.events_ok / span if span > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "offered": self.offered, "seconds": self.seconds,
            "bodies": self.bodies, "events_ok": self.events_ok,
            "events_per_s": self.events_per_s, "statuses": dict(self.statuses),
            "p50_ms": _ms(self.percentile(0.50)), "p95_ms": _ms(self.percentile(0.95)),
            "p99_ms": _ms(self.percentile(0.99)), "late_starts": self.late_starts,
            "bot_cpu_ms_per_event": self.bot_cpu * 1000 / self.events_ok if self.events_ok
            else None,
            "bot_cpu_share": self.bot_cpu / (self.last_answer - self.started)
            if self.last_answer > self.started else None,
            "sender_cpu_ms_per_event": self.sender_cpu * 1000 / self.events_ok
            if self.events_ok else None,
            "machine_busy": self.machine_busy,
            "postgres_cpu_ms_per_event": self.db_cpu * 1000 / self.events_ok
            if self.events_ok else None,
        }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


class Generator:
    def __init__(self, url: str, population: Population) -> None:
        self.url = url + "/callback"
        self.population = population

    async def _post(self, session: aiohttp.ClientSession, person: Person, body: Body,
                    scheduled: float, result: StepResult) -> None:
        try:
            async with session.post(self.url, data=body.data, headers=body.headers) as answer:
                await answer.read()
                status = str(answer.status)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            status = type(exc).__name__
        done = time.perf_counter()
        result.statuses[status] += 1
        result.latencies.append(done - scheduled)
        result.last_answer = max(result.last_answer, done)
        if status == "200":
            result.events_ok += body.events
        # a failed body is not sent again: the person moves on (the bench counts, LINE would
        # redeliver)
        self.population.back(person)

    def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=2000, force_close=False),
            timeout=aiohttp.ClientTimeout(total=TIMEOUT))

    async def capacity(self, seconds: float, concurrency: int) -> StepResult:
        result = StepResult("capacity", None, seconds)
        self.population.fill(concurrency * 400, concurrency * 4)
        async with self._session() as session:
            stop = time.perf_counter() + seconds

            async def worker() -> None:
                while time.perf_counter() < stop:
                    person, body = self.population.take()
                    result.bodies += 1
                    await self._post(session, person, body, time.perf_counter(), result)

            result.started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        return result

    async def offered(self, rate: float, seconds: float) -> StepResult:
        """Open loop: body k leaves at start + (events before it) / rate."""
        result = StepResult(f"{rate:g}/s", rate, seconds)
        self.population.fill(int(rate * seconds * 1.3) + 100, int(rate * 3))
        tasks: set[asyncio.Task[None]] = set()
        async with self._session() as session:
            result.started = start = time.perf_counter()
            sent_events = 0
            while True:
                scheduled = start + sent_events / rate
                if scheduled >= start + seconds:
                    break
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                elif delay < -0.05:
                    result.late_starts += 1
                person, body = self.population.take()
                sent_events += body.events
                result.bodies += 1
                task = asyncio.create_task(self._post(session, person, body, scheduled, result))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
        return result


# --- the processes ------------------------------------------------------------------------


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle and iowait
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _processes() -> Iterator[tuple[int, str, int, float]]:
    """(pid, command name, parent pid, CPU seconds) of every process, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                head, _, tail = f.read().rpartition(")")
        except OSError:
            continue
        fields = tail.split()
        yield (int(entry), head.partition("(")[2], int(fields[1]),
               (int(fields[11]) + int(fields[12])) / tick)


def postgres_cpu() -> float:
    """CPU seconds of the PostgreSQL server's processes (its backends do the queries)."""
    return sum(cpu for _, name, _, cpu in _processes() if name.startswith("postgres"))


def cpu_seconds(pid: int) -> float:
    """User and system CPU of a process and all its descendants (uvicorn's workers), from
    /proc: a share of the machine that other jobs on it do not move."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    for child, _, parent, cpu in _processes():
        children.setdefault(parent, []).append(child)
        times[child] = cpu
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo += children.get(current, [])
    return total



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINE_", "SUPPORTNAVI_")) and k != "DATABASE_URL"}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "linebot"), str(ROOT)])
    env.update(extra)
    return env


class Process:
    """A child process that says it is ready by a line (`READY url`) or a 200 on /healthz."""

    def __init__(self, name: str, command: list[str], env: dict[str, str],
                 health: str | None = None) -> None:
        self.name = name
        fd, self.log = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")
        with os.fdopen(fd, "w") as log:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                         stderr=log, text=True)
        self.url = ""
        try:
            if health is None:
                assert self.proc.stdout is not None
                line = self.proc.stdout.readline()
                if not line.startswith("READY "):
                    raise RuntimeError(f"{name} did not start: {line!r}")
                self.url = line.split()[1]
            else:
                self.url = health
                self._wait_healthy(health + "/healthz")
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, url: str) -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {Path(self.log).read_text()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy in 90 s")

    def profile(self, output: Path) -> None:
        """Sample this process (and its workers) with py-spy until `stop()`."""
        py_spy = shutil.which("py-spy", path=str(Path(sys.executable).parent))
        if py_spy is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        kind = {".json": "speedscope", ".txt": "raw"}.get(output.suffix, "flamegraph")
        self.spy = subprocess.Popen([py_spy, "record", "--pid", str(self.proc.pid),
                                     "--subprocesses", "--rate", "200", "--format", kind,
                                     "-o", str(output)], stdout=subprocess.DEVNULL)

    def stop(self) -> None:
        spy = getattr(self, "spy", None)
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
            spy.wait(timeout=120)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class FreshDatabase:
    """A new database per run: an SQLite file in a temporary directory, or a PostgreSQL
    database dropped afterwards."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "postgres":
            self.name = f"supportnavi_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(pg_execute(PG, f'CREATE DATABASE "{self.name}"'))
            self.url = PG.rsplit("/", 1)[0] + f"/{self.name}"
        else:
            self.dir = tempfile.mkdtemp(prefix="supportnavi-webhook-bench-")
            self.url = f"sqlite+aiosqlite:///{self.dir}/bench.db"

    def drop(self) -> None:
        if self.kind == "postgres":
            asyncio.run(pg_execute(PG, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        else:
            shutil.rmtree(self.dir, ignore_errors=True)




def start_bot(kind: str, fake_url: str, db: FreshDatabase | None, workers: int,
              profile: Path | None, before: Path | None = None) -> Process:
    port = _free_port()
    env = _env(LINE_CHANNEL_SECRET=SECRET, LINE_CHANNEL_ACCESS_TOKEN=TOKEN,
               LINE_API_BASE_URL=fake_url, SUPPORTNAVI_LOG_LEVEL="warning")
    if kind == "before":
        # another checkout's supportnavi (a git worktree of an older commit), on its own
        # scenarios and migrations: the same load, measured in the same run
        assert db is not None and before is not None
        env.update(DATABASE_URL=db.url, SUPPORTNAVI_SCENARIOS=str(before / "scenarios"),
                   PYTHONPATH=str(before.resolve() / "linebot"))
        command = [sys.executable, "-m", "supportnavi", "serve", "--port", str(port),
                   "--workers", str(workers)]
    elif kind == "echo":
        command = [sys.executable, str(ROOT / "bench" / "echo_baseline.py"), "--port",
                   str(port), "--workers", str(workers)]
    else:
        assert db is not None
        env.update(DATABASE_URL=db.url, SUPPORTNAVI_SCENARIOS=str(ROOT / "scenarios"))
        command = [sys.executable, "-m", "supportnavi", "serve", "--port", str(port),
                   "--workers", str(workers)]
    bot = Process(kind, command, env, health=f"http://127.0.0.1:{port}")
    if profile is not None:
        bot.profile(profile)
    return bot


# --- the fake's ceiling -------------------------------------------------------------------


async def _reply_hammer(url: str, seconds: float, concurrency: int) -> float:
    """Replies per second the fast fake answers to a raw aiohttp client (each its own
    token), the ceiling any bot here could reach."""
    answered = 0
    stop = time.perf_counter() + seconds
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as s:

        async def worker() -> None:
            nonlocal answered
            while time.perf_counter() < stop:
                body = json.dumps({"replyToken": uuid.uuid4().hex,
                                   "messages": [{"type": "text", "text": "bench"}]})
                async with s.post(f"{url}/v2/bot/message/reply", data=body,
                                  headers=headers) as response:
                    await response.read()
                    answered += response.status == 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return answered / (time.perf_counter() - start)


def fake_stats(fake: Process) -> dict[str, Any]:
    stats: dict[str, Any] = httpx.get(fake.url + "/_harness/stats", timeout=30).json()
    return stats


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:  # pragma: no cover
        return asyncio.run(coro)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coro)


# --- one bot, all its steps ---------------------------------------------------------------


def _measured(bot: Process, step: Any) -> StepResult:
    bot_before, sender_before = cpu_seconds(bot.proc.pid), time.process_time()
    busy_before, total_before = machine_busy()
    pg_before = postgres_cpu()
    result: StepResult = _run(step)
    result.bot_cpu = cpu_seconds(bot.proc.pid) - bot_before
    result.db_cpu = postgres_cpu() - pg_before
    result.sender_cpu = time.process_time() - sender_before
    busy, total = machine_busy()
    result.machine_busy = (busy - busy_before) / (total - total_before)
    return result



def bench_bot(kind: str, args: argparse.Namespace, fake: Process, simulator: Simulator,
              workers: int, seed: int) -> dict[str, Any]:
    db = None if kind == "echo" else FreshDatabase(args.db)
    httpx.post(fake.url + "/_harness/reset", timeout=10).raise_for_status()
    profile = args.profile if kind == "supportnavi" else None
    bot = start_bot(kind, fake.url, db, workers, profile, args.before)
    population = Population(simulator, seed, args.batch_share)
    generator = Generator(bot.url, population)
    steps: list[StepResult] = []
    try:
        warm_up = _run(generator.offered(50, 2.0))  # connections, caches, the first people
        steps.append(_measured(bot, generator.capacity(args.seconds, args.concurrency)))
        for rate in args.rates:
            step = _measured(bot, generator.offered(rate, args.seconds))
            steps.append(step)
            print(f"  {kind} x{workers}: {step.label}: {step.events_per_s:,.0f} events/s, "
                  f"p99 {_ms(step.percentile(0.99)) or 0:,.0f} ms, {dict(step.statuses)}",
                  file=sys.stderr, flush=True)
            p99 = step.percentile(0.99)
            if p99 is None or p99 > 2.0:
                break  # saturated: higher rates only pile up timeouts
        time.sleep(1.0)  # replies go out after the 200: let the last ones land
        stats = fake_stats(fake)
    finally:
        bot.stop()
        if db is not None:
            db.drop()
    events_ok = warm_up.events_ok + sum(s.events_ok for s in steps)
    return {
        "bot": kind, "workers": workers, "db": None if kind == "echo" else args.db,
        "capacity": steps[0].as_dict(), "steps": [s.as_dict() for s in steps[1:]],
        "events_ok_total": events_ok,
        "replies_accepted": stats["replies_accepted"],
        "reply_400s": stats["requests"].get("/v2/bot/message/reply", {}).get("400", 0),
        "reply_tokens_tried_twice": stats["reply_tokens_tried_twice"],
        "pushes": sum(stats["requests"].get("/v2/bot/message/push", {}).values()),
        "best_rate_p99_under_500ms": max(
            (s.offered for s in steps[1:] if s.offered is not None
             and (s.percentile(0.99) or 99) < 0.5 and set(s.statuses) == {"200"}),
            default=None),
        "people": population.made,
        "log": bot.log,
    }


# --- the report ---------------------------------------------------------------------------


def _f(value: float | None, fmt: str = ",.0f") -> str:
    return "-" if value is None else format(value, fmt)


def report(runs: list[dict[str, Any]], ceiling: float, load: list[tuple[float, ...]],
           concurrency: int) -> str:
    lines = [f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
             f"Python {platform.python_version()}; load average before / after: "
             + " ; ".join(" / ".join(f"{x:.1f}" for x in la) for la in load),
             f"fast fake LINE API ceiling (raw aiohttp client, 64 connections): "
             f"{ceiling:,.0f} replies/s", ""]
    head = ("| bot | db | workers | capacity events/s | capacity p99 ms | offered events/s | "
            "events/s | p50 ms | p95 ms | p99 ms | answers | late starts | bot CPU ms/event | "
            "bot CPU (cores) | PostgreSQL CPU ms/event | machine busy |")
    lines += [head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        c = r["capacity"]
        name = f"{r['bot']}"
        lines.append(f"| {name} | {r['db'] or '-'} | {r['workers']} | "
                     f"**{_f(c['events_per_s'])}** | {_f(c['p99_ms'])} | (closed loop, "
                     f"{concurrency} in flight) | | | | | {_statuses(c['statuses'])} | | "
                     f"{_f(c['bot_cpu_ms_per_event'], '.2f')} | {_f(c['bot_cpu_share'], '.2f')} | "
                     f"{_f(c['postgres_cpu_ms_per_event'], '.2f')} | {c['machine_busy']:.0%} |")
        for s in r["steps"]:
            lines.append(f"| {name} | {r['db'] or '-'} | {r['workers']} | | | {s['offered']:,.0f} "
                         f"| {_f(s['events_per_s'])} | {_f(s['p50_ms'], ',.1f')} | "
                         f"{_f(s['p95_ms'], ',.1f')} | {_f(s['p99_ms'], ',.1f')} | "
                         f"{_statuses(s['statuses'])} | {s['late_starts']} | "
                         f"{_f(s['bot_cpu_ms_per_event'], '.2f')} | "
                         f"{_f(s['bot_cpu_share'], '.2f')} | "
                         f"{_f(s['postgres_cpu_ms_per_event'], '.2f')} | {s['machine_busy']:.0%} |")
    lines.append("")
    lines.append("| bot | db | workers | capacity events/s | ratio to echo (same workers) | "
                 "CPU ms/event at capacity | echo's CPU over ours | "
                 "highest offered rate with p99 < 500 ms | replies accepted / events 200 | "
                 "reply 400s | tokens tried twice | pushes |")
    lines.append("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        # the echo run of the same round and workers: the one just before this one
        echo = next((e for e in reversed(runs[:runs.index(r) + 1]) if e["bot"] == "echo"
                     and e["workers"] == r["workers"]), None)
        ratio = cpu_ratio = None
        cpu = r["capacity"]["bot_cpu_ms_per_event"]
        if echo is not None:
            ratio = r["capacity"]["events_per_s"] / echo["capacity"]["events_per_s"]
            echo_cpu = echo["capacity"]["bot_cpu_ms_per_event"]
            cpu_ratio = echo_cpu / cpu if echo_cpu and cpu else None
        lines.append(
            f"| {r['bot']} | {r['db'] or '-'} | {r['workers']} | "
            f"{_f(r['capacity']['events_per_s'])} | {_f(ratio, '.2f')}x | "
            f"{_f(cpu, '.2f')} | {_f(cpu_ratio, '.2f')}x | "
            f"{_f(r['best_rate_p99_under_500ms'])} | "
            f"{r['replies_accepted']:,} / {r['events_ok_total']:,} | {r['reply_400s']} | "
            f"{r['reply_tokens_tried_twice']} | {r['pushes']} |")
    return "\n".join(lines)



def _statuses(statuses: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(statuses.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--workers", type=int, nargs="+", default=[1],
                        help="uvicorn workers, for both bots (several: one pair each)")
    parser.add_argument("--rates", type=float, nargs="+",
                        default=[100, 250, 500, 750, 1000, 1500, 2000],
                        help="offered rates, events/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each step")
    parser.add_argument("--concurrency", type=int, default=32,
                        help="bodies in flight in the capacity step")
    parser.add_argument("--batch-share", type=float, default=0.15,
                        help="share of bodies carrying 2-3 events of one person")
    parser.add_argument("--bots", nargs="+", choices=["echo", "supportnavi", "before"],
                        default=["echo", "supportnavi"])
    parser.add_argument("--before", type=Path, default=None,
                        help="with --bots ... before: the checkout (a git worktree of an older "
                             "commit) whose supportnavi runs as 'before'")
    parser.add_argument("--repeat", type=int, default=1, help="alternate the bots this often")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy profile of supportnavi's server: .svg flame graph, .json "
                             "speedscope, .txt collapsed stacks")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = parser.parse_args()

    simulator = Simulator(load_scenarios(ROOT / "scenarios"))
    load = [os.getloadavg()]
    fake = Process("fake", [sys.executable, "-m", "tests.support.fast_fake_line"], _env())
    runs = []
    try:
        ceiling = _run(_reply_hammer(fake.url, 3.0, 64))
        for round_ in range(args.repeat):
            for workers in args.workers:
                for kind in args.bots:
                    runs.append(bench_bot(kind, args, fake, simulator, workers,
                                          args.seed + round_))
    finally:
        fake.stop()
    load.append(os.getloadavg())
    print(report(runs, ceiling, load, args.concurrency))
    if args.json:
        print(json.dumps({"ceiling_replies_per_s": ceiling, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
