"""Reminder dispatch benchmark: N due reminders, one `supportnavi reminders dispatch --once`
process, against a fake LINE API in its own process that enforces LINE's rate limits (push
2,000 requests/s, multicast 200 requests/s; 429 beyond them).

    .venv/bin/python bench/reminders.py --n 10000 100000 --mix personal
    .venv/bin/python bench/reminders.py --n 10000 100000 --mix shared

For each N it reports reminders/s, push and multicast calls, 429s, duplicates (from the fake's
log of accepted requests: a person who got more than one message, or a retry key accepted
twice) and the dispatcher process's peak RSS. Before that it measures the fake's own ceiling
(a raw aiohttp client pushing as fast as the fake answers, limits off), because on a small
machine one Python process may not take 2,000 requests/s, and the dispatcher is reported as a
ratio of both: LINE's limit and the fake's ceiling measured in the same run.

`--mix personal`: every reminder's text differs (its own kind and dates), so each goes by push.
`--mix shared`: everyone in one of ten (kind, date) pairs, due the same minute: multicasts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "linebot"), str(ROOT)]

import aiohttp  # noqa: E402

from supportnavi.migrate import upgrade  # noqa: E402
from tests.support import dispatch_run as dr  # noqa: E402
from tests.support.db import pg_execute  # noqa: E402

PG = os.environ.get("SUPPORTNAVI_BENCH_PG", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
PUSH_LIMIT, MULTICAST_LIMIT = 2000, 200


# --- the database ------------------------------------------------------------------------


def pg_available() -> bool:
    try:
        asyncio.run(pg_execute(PG, "SELECT 1"))
    except Exception:
        return False
    return True


class FreshDatabase:
    """A new, migrated database for one run: a PostgreSQL database or an SQLite file."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "postgres":
            self.name = f"supportnavi_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(pg_execute(PG, f'CREATE DATABASE "{self.name}"'))
            self.url = PG.rsplit("/", 1)[0] + f"/{self.name}"
        else:
            self.dir = tempfile.TemporaryDirectory(prefix="supportnavi-bench-")
            self.url = f"sqlite+aiosqlite:///{self.dir.name}/bench.db"
        upgrade(self.url)

    def drop(self) -> None:
        if self.kind == "postgres":
            asyncio.run(pg_execute(PG, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        else:
            self.dir.cleanup()


# --- the fake's own ceiling --------------------------------------------------------------


async def _hammer(url: str, seconds: float, concurrency: int) -> dict[str, float]:
    body = json.dumps({"to": "U" + "0" * 32, "messages": [{"type": "text", "text": "bench"}]})
    answered = ok = 0
    stop = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal answered, ok
            while time.perf_counter() < stop:
                headers = {"Authorization": "Bearer bench", "Content-Type": "application/json",
                           "X-Line-Retry-Key": str(uuid.uuid4())}
                async with session.post(f"{url}/v2/bot/message/push", data=body,
                                        headers=headers) as response:
                    await response.read()
                    answered += 1
                    ok += response.status == 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
    return {"requests_per_s": answered / elapsed, "accepted_per_s": ok / elapsed}


def fake_ceiling(fake: dr.FakeServer, seconds: float) -> dict[str, float]:
    """Push requests/s the fake answers to a raw client, its rate limits off."""
    fake.configure(limits=None)
    result = asyncio.run(_hammer(fake.url, seconds, concurrency=64))
    fake.reset()
    fake.configure(limits={"push": PUSH_LIMIT, "multicast": MULTICAST_LIMIT})
    return result


# --- one run -----------------------------------------------------------------------------


def dispatch(db_url: str, line_url: str, processes: int, profile: Path | None = None,
             ) -> tuple[float, int, str]:
    """Run `processes` dispatchers at once to the end, each with its share of LINE's rates:
    the wall time, the largest peak RSS (KiB) among them, and their output. With `profile`,
    the (first) dispatcher runs under `py-spy record` (its peak RSS is then py-spy's)."""
    env = dr.dispatch_env(db_url, line_url)
    env.update(SUPPORTNAVI_PUSH_RATE=str(PUSH_LIMIT / processes),
               SUPPORTNAVI_MULTICAST_RATE=str(MULTICAST_LIMIT / processes))
    commands = [dr.dispatch_command(NOW) for _ in range(processes)]
    if profile is not None:
        kind = {".json": "speedscope", ".txt": "raw"}.get(profile.suffix, "flamegraph")
        py_spy = str(Path(sys.executable).parent / "py-spy")
        # --nonblocking: py-spy's pauses would bunch the requests into bursts LINE refuses
        commands[0] = [py_spy, "record", "--nonblocking", "--rate", "250", "--format", kind,
                       "-o", str(profile), "--", *commands[0]]
    start = time.perf_counter()
    procs = [subprocess.Popen(command, cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for command in commands]
    outputs, peak = [], 0
    for proc in procs:
        assert proc.stdout is not None
        output = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage: ru_maxrss in KiB
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            raise SystemExit(f"a dispatcher failed ({proc.returncode}):\n{output}")
        outputs.append(output.strip())
        peak = max(peak, usage.ru_maxrss)
    return time.perf_counter() - start, peak, " | ".join(outputs)


def run_one(n: int, mix: dr.Mix, db_kind: str, fake: dr.FakeServer, processes: int,
            profile: Path | None = None) -> dict[str, Any]:
    db = FreshDatabase(db_kind)
    try:
        started = time.perf_counter()
        asyncio.run(dr.seed(db.url, n, NOW - timedelta(minutes=5), mix))
        seeded = time.perf_counter() - started
        fake.reset()
        wall, rss_kib, output = dispatch(db.url, fake.url, processes, profile)
        stats = fake.stats()
        statuses = asyncio.run(dr.status_counts(db.url))
    finally:
        db.drop()
    requests = stats["requests"]
    push = requests.get(dr.PUSH, {})
    multicast = requests.get(dr.MULTICAST, {})
    window = (stats["last_at"] - stats["first_at"]) if stats["first_at"] else 0.0
    return {
        "n": n, "mix": mix, "db": db_kind, "processes": processes, "seed_s": seeded, "wall_s": wall,
        "send_window_s": window,
        "reminders_per_s_wall": n / wall,
        "reminders_per_s_sending": n / window if window else None,
        "push_calls": sum(push.values()), "multicast_calls": sum(multicast.values()),
        "push_accepted_per_s": push.get("200", 0) / window if window else None,
        "multicast_accepted_per_s": multicast.get("200", 0) / window if window else None,
        "429s": push.get("429", 0) + multicast.get("429", 0),
        "409s": push.get("409", 0) + multicast.get("409", 0),
        "delivered": stats["delivered"], "people": stats["recipients"],
        "duplicates": stats["duplicate_deliveries"] + stats["duplicate_keys"],
        "rows": statuses, "peak_rss_mib": rss_kib / 1024, "output": output.strip(),
        **_timeline(stats.get("per_tenth_second")),
    }


def _timeline(tenths: list[list[int]] | None) -> dict[str, Any]:
    """From the fast fake's requests per tenth of a second: the most in any one second (LINE's
    window; must stay under 2,000) and the tenths, between the first and the last, in which
    fewer than a quarter of the rate's share came (the sender stalled)."""
    if not tenths:
        return {}
    counts = dict((t, n) for t, n in tenths)
    first, last = min(counts), max(counts)
    series = [counts.get(t, 0) for t in range(first, last + 1)]
    windows = [sum(series[i:i + 10]) for i in range(max(1, len(series) - 9))]
    return {"max_requests_in_1s": max(windows),
            "stalled_tenths": sum(1 for n in series[1:-1] if n < PUSH_LIMIT / 40),
            "tenths": len(series), "series": series}


def report(runs: list[dict[str, Any]], ceiling: dict[str, float] | None) -> str:
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
             f"Python {platform.python_version()}; load average at the end {load}"]
    if ceiling:
        lines.append(f"fake LINE API ceiling (raw aiohttp, 64 connections, limits off): "
                     f"{ceiling['requests_per_s']:.0f} push requests/s")
    head = ("| N | mix | db | dispatchers | reminders/s (sending) | reminders/s (wall) | "
            "push calls | multicast calls | push/s | vs 2,000/s | vs fake ceiling | 429s | "
            "duplicates | missed | peak RSS MiB (largest process) | most requests in 1 s | "
            "stalled tenths of a second |")
    lines += ["", head, "|" + "---|" * (head.count("|") - 1)]
    for r in runs:
        push_rate = r["push_accepted_per_s"] or 0.0
        vs_ceiling = f"{push_rate / ceiling['requests_per_s']:.0%}" if ceiling else "-"
        lines.append(
            f"| {r['n']:,} | {r['mix']} | {r['db']} | {r['processes']} | "
            f"{r['reminders_per_s_sending'] or 0:,.0f} | "
            f"{r['reminders_per_s_wall']:,.0f} | {r['push_calls']:,} | "
            f"{r['multicast_calls']:,} | {push_rate:,.0f} | {push_rate / PUSH_LIMIT:.0%} | "
            f"{vs_ceiling} | {r['429s']:,} | {r['duplicates']} | {r['n'] - r['people']} | "
            f"{r['peak_rss_mib']:.0f} | {r.get('max_requests_in_1s', '-')} | "
            f"{r.get('stalled_tenths', '-')} of {r.get('tenths', '-')} |"
        )
    if len(runs) > 1:
        small, large = runs[0], runs[-1]
        lines.append("")
        lines.append(f"peak RSS, N={large['n']:,} over N={small['n']:,}: "
                     f"{large['peak_rss_mib'] / small['peak_rss_mib']:.2f}x "
                     f"(N grew {large['n'] / small['n']:.0f}x)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100_000],
                        help="how many due reminders (several: one run each, same fake)")
    parser.add_argument("--mix", choices=["personal", "shared"], default="personal")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default=None,
                        help="default: PostgreSQL at 127.0.0.1:5432 if it answers, else SQLite")
    parser.add_argument("--ceiling-seconds", type=float, default=5.0,
                        help="how long to measure the fake's own ceiling (0: skip)")
    parser.add_argument("--processes", type=int, default=1,
                        help="dispatcher processes at once, each with 1/P of LINE's rates")
    parser.add_argument("--fake", choices=["fast", "recording"], default="fast",
                        help="fast: tests/support/fast_fake_line.py (counters only); "
                             "recording: tests/support/fake_line_server.py (keeps every request)")
    parser.add_argument("--profile", type=Path, default=None,
                        help="py-spy profile of the dispatcher: .svg, .json (speedscope), .txt "
                             "(collapsed stacks)")
    parser.add_argument("--json", action="store_true", help="also print every run as JSON")
    args = parser.parse_args()
    db_kind = args.db or ("postgres" if pg_available() else "sqlite")
    module = {"fast": "tests.support.fast_fake_line",
              "recording": "tests.support.fake_line_server"}[args.fake]

    with dr.FakeServer("--line-limits", module=module) as fake:
        ceiling = fake_ceiling(fake, args.ceiling_seconds) if args.ceiling_seconds else None
        runs = []
        for n in args.n:
            result = run_one(n, args.mix, db_kind, fake, args.processes, args.profile)
            runs.append(result)
            print(f"N={n:,}: {result['output']}", file=sys.stderr, flush=True)
            bad = (result["duplicates"], result["n"] - result["people"],
                   result["rows"] != {"sent": n})
            if any(bad):
                print(f"  NOT CLEAN: duplicates, missed, rows = {bad} {result['rows']}",
                      file=sys.stderr)
    print(report(runs, ceiling))
    if args.json:
        print(json.dumps({"ceiling": ceiling, "runs": runs}, indent=2, default=str))


if __name__ == "__main__":
    main()
