"""How well typed text is understood, and at what cost: route and node accuracy, unknown
recall, how often the bot asks, a kana-only subset, time per message, load time and memory.

    .venv/bin/python bench/classify.py                    # the dev set and the held-out sets
    .venv/bin/python bench/classify.py --sweep            # + the thresholds' sweep (held-out)
    .venv/bin/python bench/classify.py --before CHECKOUT  # + an older checkout's answers
    .venv/bin/python bench/classify.py --errors           # + every line it got wrong

Every line goes through `read_at_menu()`, which is the bot's own turn (advance() on a person at
the menu) and what `supportnavi classify` prints: safety, commands, menu numbers, names,
examples, keywords (as written and as they read), typos, then sentence similarity.

The sets (tests/understanding/): `intents_dev.yaml` (public, seen while writing the
scenarios), `heldout.yaml`, `heldout_kana.yaml` (typed as on a kana keyboard) and
`heldout_nodes.yaml` (lines that name a branch: route -> node -> lines). The held-out sets were
written by someone who had not read the routes' words, and are never used to write them.

For a line of one of our routes:
- *route* counts it right when the bot opens that route, or asks and offers it (one tap away);
- *opened* only when it opens it without asking; *wrong* when it opens another route;
- *node* (heldout_nodes only): the bot opens that branch, or asks and offers it.
For a line that is none of ours, *unknown recall* counts it right when the bot opens nothing
and asks nothing (it says what it can help with). *asks* is the share of lines it asks about.
The kana-only subset is every in-scope line of every set written without a single kanji.

Load: opening the analyser's dictionary and reading the scenarios' words, then loading the
encoder, in this fresh process (wall clock and CPU time, each part and in all). Memory: this
process's resident memory, anonymous and file-backed apart (the dictionary is a mapped file),
after each part and after reading every line, less before (the engine imported, nothing
loaded). Time per message: wall clock and this process's CPU time.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "linebot"))

from supportnavi.engine import interpret  # noqa: E402
from supportnavi.engine.loader import load_scenarios  # noqa: E402
from supportnavi.engine.understand import read_at_menu  # noqa: E402
from supportnavi.engine.vocab import UNKNOWN  # noqa: E402
from supportnavi.reminders.planner import RulesPlanner, days_from_facts  # noqa: E402

DATA = ROOT / "tests/understanding"
SETS = ("intents_dev", "tune", "tune_pairs", "heldout", "heldout_kana", "heldout_nodes")
AMBIGUOUS = "ambiguous"  # tune.yaml's bare words: the right answer is to ask
HELD_OUT = ("heldout", "heldout_kana", "heldout_nodes")
KANJI = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf\u3005]")
NONE_OF_OURS = {"unknown", "other_service", "greeting", "empty"}


@dataclass(frozen=True)
class Line:
    set: str
    text: str
    route: str  # a route id, or UNKNOWN
    node: str | None = None


@dataclass
class Answer:
    route: str | None
    node: str | None
    kind: str
    candidates: tuple[str, ...]
    seconds: float = 0.0
    cpu_seconds: float = 0.0


def lines(sets: tuple[str, ...]) -> list[Line]:
    found: list[Line] = []
    for name in sets:
        data = yaml.safe_load((DATA / f"{name}.yaml").read_text(encoding="utf-8"))
        if "routes" in data:  # tune.yaml: {routes, nodes, unknown, ambiguous}
            found += [Line(name, t, r) for r, ts in data["routes"].items() for t in ts]
            found += [Line(name, t, r, n) for r, nodes in data["nodes"].items()
                      for n, ts in nodes.items() for t in ts]
            found += [Line(name, t, key) for key in (UNKNOWN, AMBIGUOUS)
                      for t in data.get(key, [])]
            continue
        for route, value in data.items():
            if isinstance(value, dict):  # route -> node -> lines
                found += [Line(name, t, route, node) for node, texts in value.items()
                          for t in texts]
            else:
                found += [Line(name, t, route) for t in value]
    return found


def rss_mb() -> dict[str, float]:
    """This process's resident memory (MB), as the kernel splits it: anonymous (its own) and
    file-backed (mapped files: the analyser's dictionary, shared by every process that maps
    it and given back under memory pressure)."""
    found = {}
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith(("RssAnon", "RssFile")):
                key, value = row.split(":")
                found[key] = int(value.split()[0]) / 1024
    return found


def growth(after: dict[str, float], before: dict[str, float]) -> dict[str, float]:
    return {"anon": round(after["RssAnon"] - before["RssAnon"], 1),
            "file": round(after["RssFile"] - before["RssFile"], 1)}


# --- scoring ---------------------------------------------------------------------------------


def offered(answer: Answer) -> list[tuple[str, str | None]]:
    if answer.kind == "ask":
        return [(c.partition(".")[0], c.partition(".")[2] or None) for c in answer.candidates]
    return [] if answer.route is None else [(answer.route, answer.node)]


def score(rows: list[tuple[Line, Answer]]) -> dict[str, Any]:
    vague = [(line, a) for line, a in rows if line.route == AMBIGUOUS]
    rows = [(line, a) for line, a in rows if line.route != AMBIGUOUS]
    inside = [(line, a) for line, a in rows if line.route != UNKNOWN]
    outside = [(line, a) for line, a in rows if line.route == UNKNOWN]
    nodes = [(line, a) for line, a in inside if line.node is not None]

    def share(part: int, whole: int) -> float | None:
        return round(part / whole, 3) if whole else None

    return {
        "lines": len(rows),
        "route": share(sum(line.route in [r for r, _ in offered(a)] for line, a in inside),
                       len(inside)),
        "opened": share(sum(a.kind != "ask" and a.route == line.route for line, a in inside),
                        len(inside)),
        "wrong": share(sum(a.kind != "ask" and a.route not in (None, line.route)
                           for line, a in inside), len(inside)),
        "node": share(sum((line.route, line.node) in offered(a) for line, a in nodes),
                      len(nodes)),
        "node_opened": share(sum(a.kind != "ask" and (a.route, a.node) == (line.route, line.node)
                                 for line, a in nodes), len(nodes)),
        "unknown_recall": share(sum(a.route is None and a.kind in NONE_OF_OURS
                                    for _, a in outside), len(outside)),
        "asks": share(sum(a.kind == "ask" for _, a in rows), len(rows)),
        "bare_asked": share(sum(a.kind == "ask" for _, a in vague), len(vague)),
    }


def kana_only(rows: list[tuple[Line, Answer]]) -> list[tuple[Line, Answer]]:
    return [(line, a) for line, a in rows
            if line.route not in (UNKNOWN, AMBIGUOUS) and not KANJI.search(line.text)]


# --- reading ---------------------------------------------------------------------------------


class Ours:
    """This checkout, in this process: the bot's reader and classifier, as compose builds them."""

    def __init__(self) -> None:
        self.rss_before = rss_mb()
        started, cpu = time.perf_counter(), time.process_time()
        from supportnavi.understanding.reading import reading

        self.scenarios = load_scenarios(ROOT / "scenarios")
        scenarios_s = time.perf_counter() - started
        reading("解約")  # the analyser's dictionary opens
        interpret.lexicon(self.scenarios, reading)  # the scenarios' words, read
        self.reader = reading
        self.reading_s = time.perf_counter() - started - scenarios_s
        self.rss_reading = rss_mb()
        from supportnavi.understanding import ExampleClassifier

        self.classifier = ExampleClassifier.for_scenarios(self.scenarios)
        self.classifier.load()
        self.encoder_s = time.perf_counter() - started - scenarios_s - self.reading_s
        self.load_s = time.perf_counter() - started
        self.load_cpu_s = time.process_time() - cpu
        self.rss_loaded = rss_mb()
        self.planner = RulesPlanner(ZONE, days_from_facts(self.scenarios.facts))
        self._ranks: dict[str, list[tuple[str, float]]] = {}

    def answer(self, text: str, *, cached_rank: bool = False) -> Answer:
        classifier: Any = self.classifier
        if cached_rank:  # the sweep: the encoder's answer does not depend on the thresholds
            classifier = _Memo(self.classifier, self._ranks)
        started, cpu = time.perf_counter(), time.process_time()
        found = read_at_menu(self.scenarios, text, planner=self.planner,
                             classifier=classifier, reader=self.reader)
        return Answer(found["route"], found["node"], found["kind"],
                      tuple(found["candidates"]), time.perf_counter() - started,
                      time.process_time() - cpu)


class _Memo:
    def __init__(self, classifier: Any, ranks: dict[str, list[tuple[str, float]]]) -> None:
        self.classifier, self.ranks = classifier, ranks

    def rank(self, text: str, most: int = 8) -> list[tuple[str, float]]:
        if text not in self.ranks:
            self.ranks[text] = self.classifier.rank(text, most)
        return self.ranks[text]


def before(checkout: Path, texts: list[str]) -> list[Answer]:
    """An older checkout's `supportnavi classify`, on the same lines (its own scenarios)."""
    env = dict(os.environ, PYTHONPATH=str(checkout.resolve() / "linebot"),
               SUPPORTNAVI_SCENARIOS=str(checkout.resolve() / "scenarios"))
    out = subprocess.run(
        [sys.executable, "-c", "from supportnavi.cli import app; app()", "classify"],
        input="\n".join(texts) + "\n", capture_output=True, text=True, env=env, check=True,
        cwd=checkout)
    answers = []
    for row in map(json.loads, out.stdout.splitlines()):
        route = row.get("route")
        kind = row.get("kind", "unknown" if route in (None, UNKNOWN) else "route")
        answers.append(Answer(None if route in (None, UNKNOWN) else route, row.get("node"),
                              kind, tuple(row.get("candidates", ()))))
    return answers


# --- report ----------------------------------------------------------------------------------


def table(results: dict[str, list[tuple[Line, Answer]]]) -> Iterator[str]:
    keys = ("lines", "route", "opened", "wrong", "node", "node_opened", "unknown_recall",
            "asks", "bare_asked")
    yield "| set | " + " | ".join(keys) + " |"
    yield "|---|" + "---|" * len(keys)
    for name, rows in results.items():
        got = score(rows)
        yield (f"| {name} | " + " | ".join("–" if got[k] is None else
                                           (str(got[k]) if k == "lines" else f"{got[k]:.1%}")
                                           for k in keys) + " |")


def run(ours: Ours, all_lines: list[Line], *, cached_rank: bool = False
        ) -> list[tuple[Line, Answer]]:
    return [(line, ours.answer(line.text, cached_rank=cached_rank)) for line in all_lines]


def grouped(rows: list[tuple[Line, Answer]]) -> dict[str, list[tuple[Line, Answer]]]:
    out: dict[str, list[tuple[Line, Answer]]] = {}
    for name in SETS:
        out[name] = [r for r in rows if r[0].set == name]
    out["held-out, all"] = [r for r in rows if r[0].set in HELD_OUT]
    out["kana only (held-out)"] = kana_only([r for r in rows if r[0].set in HELD_OUT])
    return out


def sweep(ours: Ours, all_lines: list[Line]) -> Iterator[str]:
    """The thresholds on the held-out sets: each combination, best first by the rule that
    chose them (unknown recall >= 95% and wrong openings <= 3% first, then the most right,
    then the most opened without asking, then the fewest asks, then the stricter)."""
    held = [line for line in all_lines if line.set in HELD_OUT]
    saved = interpret.CONFIDENT, interpret.MARGIN, interpret.ASK_FROM
    found = []
    try:
        for confident, margin, ask_from in itertools.product(
                (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8), (0.03, 0.05, 0.08, 0.12),
                (0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65)):
            if ask_from > confident:
                continue
            interpret.CONFIDENT, interpret.MARGIN, interpret.ASK_FROM = (confident, margin,
                                                                         ask_from)
            got = score(run(ours, held, cached_rank=True))
            found.append(((confident, margin, ask_from), got))  # a margin of 0 never asks
    finally:
        interpret.CONFIDENT, interpret.MARGIN, interpret.ASK_FROM = saved
    found.sort(key=lambda f: (f[1]["unknown_recall"] < 0.95, f[1]["wrong"] > 0.03,
                              -f[1]["route"], -f[1]["opened"], f[1]["asks"],
                              -f[0][0], -f[0][1]))  # at a tie, the stricter
    yield ("| CONFIDENT | MARGIN | ASK_FROM | route | opened | wrong | node | unknown recall |"
           " asks |")
    yield "|---|---|---|---|---|---|---|---|---|"
    for (confident, margin, ask_from), got in found[:15]:
        mark = " ←" if (confident, margin, ask_from) == saved else ""
        yield (f"| {confident} | {margin} | {ask_from}{mark} | {got['route']:.1%} | "
               f"{got['opened']:.1%} | {got['wrong']:.1%} | {got['node']:.1%} | "
               f"{got['unknown_recall']:.1%} | {got['asks']:.1%} |")
    chosen = next((g for t, g in found if t == saved), None)
    if chosen is not None and found[0][0] != saved:
        yield f"(the chosen {saved} ranks {[t for t, _ in found].index(saved) + 1})"


ZONE: Any = None


def main() -> None:
    global ZONE
    from zoneinfo import ZoneInfo

    ZONE = ZoneInfo("Asia/Tokyo")
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--sweep", action="store_true", help="the thresholds' sweep")
    parser.add_argument("--before", type=Path, default=None,
                        help="an older checkout (a git worktree): its answers to the same lines")
    parser.add_argument("--errors", action="store_true", help="list every line it got wrong")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    all_lines = lines(SETS)
    ours = Ours()
    rows = run(ours, all_lines)
    rss_after = rss_mb()
    times = sorted(a.seconds for _, a in rows)
    cpu = sorted(a.cpu_seconds for _, a in rows)
    cost = {
        "p50_ms": round(statistics.median(times) * 1000, 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))] * 1000, 3),
        "max_ms": round(times[-1] * 1000, 3),
        # this process's CPU time: on a shared machine the wall clock counts others' turns
        "p50_cpu_ms": round(statistics.median(cpu) * 1000, 3),
        "p99_cpu_ms": round(cpu[int(0.99 * (len(cpu) - 1))] * 1000, 3),
        "load_s": round(ours.load_s, 2),
        "load_cpu_s": round(ours.load_cpu_s, 2),
        "load_reading_s": round(ours.reading_s, 2),  # analyser + the scenarios' readings
        "load_encoder_s": round(ours.encoder_s, 2),
        # MB: the analyser and the scenarios' readings; the encoder; and all, after every line
        "rss_reading_mb": growth(ours.rss_reading, ours.rss_before),
        "rss_encoder_mb": growth(ours.rss_loaded, ours.rss_reading),
        "rss_growth_mb": growth(rss_after, ours.rss_before),
        "thresholds": {"CONFIDENT": interpret.CONFIDENT, "MARGIN": interpret.MARGIN,
                       "ASK_FROM": interpret.ASK_FROM},
    }
    results = grouped(rows)
    if args.json:
        print(json.dumps({"sets": {name: str((DATA / f"{name}.yaml").relative_to(ROOT))
                                   for name in SETS},
                          "scores": {k: score(v) for k, v in results.items()}, **cost},
                         ensure_ascii=False))
    else:
        print("\n".join(table(results)))
        print()
        for key, value in cost.items():
            print(f"{key:>14}: {value}")
        decided: dict[str, int] = {}
        for _, a in rows:
            decided[a.kind] = decided.get(a.kind, 0) + 1
        print(f"{'decided_by':>14}: {dict(sorted(decided.items(), key=lambda kv: -kv[1]))}")
    if args.before is not None:
        old = before(args.before, [line.text for line in all_lines])
        print(f"\nbefore ({args.before}):")
        print("\n".join(table(grouped(list(zip(all_lines, old, strict=True))))))
    if args.errors:
        for line, a in rows:
            right = (line.route == UNKNOWN and a.route is None and a.kind in NONE_OF_OURS) or (
                line.route == AMBIGUOUS and a.kind == "ask") or (
                line.route not in (UNKNOWN, AMBIGUOUS) and (line.route, line.node) in offered(a)
                if line.node else line.route in [r for r, _ in offered(a)])
            if not right:
                got = a.route if a.kind != "ask" else "ask:" + ",".join(a.candidates)
                print(f"  {line.set:>13} {line.route + ('.' + line.node if line.node else ''):>28}"
                      f" -> {got or a.kind:<40} {line.text}")
    if args.sweep:
        print()
        print("\n".join(sweep(ours, all_lines)))


Hook = Callable[[], None]

if __name__ == "__main__":
    main()
