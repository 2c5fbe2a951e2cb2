"""Big webhook bodies: how long `supportnavi serve` takes to answer one body of N events, against
the bare SDK echo bot (`bench/echo_baseline.py`) answering the same body, in the same run, with
the same fast fake LINE API (issue 14: a body of 1,000 events took 2.24 s, over LINE's 2 s).

    .venv/bin/python bench/body.py                          # SQLite, bodies of 100 and 1,000
    .venv/bin/python bench/body.py --db postgres --events 1000 --repeat 5
    git worktree add /tmp/before <commit> && .venv/bin/python bench/body.py --before /tmp/before

A body holds the events of N/3 people, three each (a follow, then two more from the person's
script: real buttons and texts, as `bench/webhook.py` makes them), interleaved the way LINE
batches what arrives together. Every body is new (new ids, new people). The time runs from
sending the body to the 200, which comes only once every event in it is committed. Bodies go
one at a time, nothing else is sent meanwhile.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("bench_webhook", ROOT / "bench" / "webhook.py")
assert _spec is not None and _spec.loader is not None
webhook = importlib.util.module_from_spec(_spec)
sys.modules["bench_webhook"] = webhook
_spec.loader.exec_module(webhook)


def body(simulator: Any, rng: random.Random, events: int) -> Any:
    people = max(1, events // 3)
    scripts = []
    for _ in range(people):
        user_id = f"U{uuid.uuid4().hex}"
        scripts.append([webhook.event_json(user_id, i) for i in simulator.script(rng, 3)])
    interleaved = [script[k] for k in range(3) for script in scripts][:events]
    return webhook.signed(interleaved)


def answer_seconds(url: str, signed: Any) -> tuple[float, int]:
    started = time.perf_counter()
    response = httpx.post(url + "/callback", content=signed.data, headers=signed.headers,
                          timeout=60)
    return time.perf_counter() - started, response.status_code


def start_before(checkout: Path, fake_url: str, db: Any) -> Any:
    """The supportnavi of another checkout, on its own scenarios and migrations."""
    port = webhook._free_port()
    env = webhook._env(LINE_CHANNEL_SECRET=webhook.SECRET, LINE_CHANNEL_ACCESS_TOKEN=webhook.TOKEN,
                       LINE_API_BASE_URL=fake_url, SUPPORTNAVI_LOG_LEVEL="warning",
                       DATABASE_URL=db.url, SUPPORTNAVI_SCENARIOS=str(checkout / "scenarios"))
    env["PYTHONPATH"] = str(checkout.resolve() / "linebot")
    return webhook.Process("before", [sys.executable, "-m", "supportnavi", "serve", "--port",
                                      str(port)], env, health=f"http://127.0.0.1:{port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--before", type=Path, default=None,
                        help="another checkout (a git worktree of an older commit): its "
                             "supportnavi, with its own scenarios, is run too, as 'before'")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    simulator = webhook.Simulator(webhook.load_scenarios(ROOT / "scenarios"))
    rng = random.Random(args.seed)
    fake = webhook.Process("fake", [sys.executable, "-m", "tests.support.fast_fake_line"],
                           webhook._env())
    results: list[dict[str, Any]] = []
    try:
        for kind in ("echo", "supportnavi", *(["before"] if args.before else [])):
            db = webhook.FreshDatabase(args.db) if kind != "echo" else None
            bot = (start_before(args.before, fake.url, db) if kind == "before"
                   else webhook.start_bot(kind, fake.url, db, 1, None))
            try:
                answer_seconds(bot.url, body(simulator, rng, 30))  # warm: first imports
                for n in args.events:
                    times, statuses = [], []
                    for _ in range(args.repeat):
                        seconds, status = answer_seconds(bot.url, body(simulator, rng, n))
                        times.append(seconds)
                        statuses.append(status)
                    results.append({
                        "bot": kind, "db": args.db if kind != "echo" else None,
                        "events": n, "median_s": round(statistics.median(times), 3),
                        "max_s": round(max(times), 3),
                        "statuses": sorted(set(statuses)),
                    })
            finally:
                bot.stop()
                if db is not None:
                    db.drop()
    finally:
        fake.stop()
    echo = {r["events"]: r["median_s"] for r in results if r["bot"] == "echo"}
    print(f"{'bot':<12} {'db':<9} {'events':>7} {'median':>8} {'max':>8} {'x echo':>7}  status")
    for r in results:
        ratio = r["median_s"] / echo[r["events"]] if echo.get(r["events"]) else float("nan")
        print(f"{r['bot']:<12} {r['db'] or '-':<9} {r['events']:>7} {r['median_s']:>7.3f}s "
              f"{r['max_s']:>7.3f}s {ratio:>7.2f}  {r['statuses']}")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
