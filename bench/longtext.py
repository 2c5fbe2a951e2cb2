"""Does any step of a turn grow faster than the text? advance() on long adversarial texts.

    .venv/bin/python bench/longtext.py            # every family, at 1,250 / 2,500 / 5,000 chars
    .venv/bin/python bench/longtext.py --family kana digits

LINE's own limit on a text message is 5,000 characters, and the adapter cuts to it before any
work; under it, every step of a turn must be linear in the length. For each family of
adversarial text (what stresses a regex, the phone matcher, the link finder, the tokenizer),
advance() runs at the menu, where a number asks for a phone number, and where a date is asked
for, with the real scenarios, the RulesPlanner and the ExampleClassifier as
`supportnavi.app` builds them. Each time is this process's CPU time (not the wall clock, which
other processes on a shared machine move), the median of several samples, each sample as many
calls as fill 20 ms. Per family and screen: the time at each length and t(5,000)/t(2,500):
linear is about 2, quadratic about 4. Exits 1 when a ratio is over 3.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "linebot"))

from supportnavi.engine import State, Text, advance, load_scenarios  # noqa: E402
from supportnavi.engine.ports import Context  # noqa: E402
from supportnavi.engine.scenarios import Scenarios  # noqa: E402
from supportnavi.reminders.planner import RulesPlanner, days_from_facts  # noqa: E402
from supportnavi.settings import Settings  # noqa: E402
from supportnavi.understanding import ExampleClassifier  # noqa: E402

LENGTHS = (1250, 2500, 5000)
LIMIT = 3.0  # t(5,000)/t(2,500) above this is not linear
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda n: (unit * (n // len(unit) + 1))[:n]


# Each family makes a text of exactly n characters.
FAMILIES: dict[str, Callable[[int], str]] = {
    "digits": _repeat("1"),
    "1-": _repeat("1-"),
    "1 - ": _repeat("1 - "),  # the phone matcher's most expensive candidates
    "4111 -": _repeat("4111 -"),  # digit groups and joints, for the card guard and the matcher
    "mixed joints": _repeat("41 1.1,1/1\t1ー1・1、"),
    "zero-width": _repeat("4\u200b1\u200d"),
    "12/34 dates": _repeat("12/34 "),
    "dots": _repeat("."),
    "http://": _repeat("http://"),
    "http://a.jp links": _repeat("http://a.jp "),
    "xn-- label": lambda n: "xn--" + "9" * (n - 7) + ".jp",
    "a.a.a host": _repeat("a."),
    "kana": _repeat("あ"),
    "kanji": _repeat("荷物が届かない"),
    "password word": _repeat("パスワード"),
    "password は": _repeat("パスワードは "),
    "code + spaces": lambda n: "コード" + " " * (n - 4) + "x",
    "code 123": _repeat("コード 123 "),
}


def _screens(scenarios: Scenarios) -> dict[str, State]:
    """The menu, the first node that asks for a phone number, the first that asks for a date."""
    screens = {"menu": State()}
    for route in scenarios.routes.values():
        for node_id, node in route.nodes.items():
            here = State(route=route.id, node=node_id, stack=[(route.id, route.start)])
            if node.input is not None and node.input.kind == "phone":
                screens.setdefault("phone", here)
            if node.remind is not None:
                screens.setdefault("date", here)
    return screens


def _cpu(call: Callable[[], object], samples: int) -> float:
    """Median CPU seconds of one call."""
    call()  # warm: caches, the lexicon, first-call imports
    calls, spent = 1, 0.0
    while True:  # as many calls per sample as fill 20 ms, so the clock's grain does not count
        started = time.process_time()
        for _ in range(calls):
            call()
        spent = time.process_time() - started
        if spent >= 0.02:
            break
        calls *= 2
    times = [spent / calls]
    for _ in range(samples - 1):
        gc.collect()
        started = time.process_time()
        for _ in range(calls):
            call()
        times.append((time.process_time() - started) / calls)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--family", nargs="*", choices=sorted(FAMILIES), default=None)
    parser.add_argument("--samples", type=int, default=5)
    args = parser.parse_args()

    scenarios = load_scenarios(ROOT / "scenarios")
    settings = Settings()
    classifier = ExampleClassifier.for_scenarios(scenarios)
    classifier.load()
    context = Context(planner=RulesPlanner(settings.zone, days_from_facts(scenarios.facts)),
                      classifier=classifier, reminders=(), skipped=())
    screens = _screens(scenarios)

    worst = 0.0
    print(f"{'family':18} {'screen':6} " + " ".join(f"{n:>9,}" for n in LENGTHS)
          + "   t(5000)/t(2500)   resolved at 5,000")
    for family in args.family or FAMILIES:
        make = FAMILIES[family]
        for screen, state in screens.items():
            times = []
            resolved = ""
            for n in LENGTHS:
                text = make(n)
                assert len(text) == n, (family, n, len(text))
                turn = partial(advance, scenarios, state, Text(text), NOW, context)
                times.append(_cpu(turn, args.samples))
                resolved = turn().resolved
            ratio = times[2] / times[1]
            worst = max(worst, ratio)
            flag = "  <-- over" if ratio > LIMIT else ""
            print(f"{family:18} {screen:6} "
                  + " ".join(f"{t * 1000:7.2f}ms" for t in times)
                  + f"   {ratio:5.2f}             {resolved}{flag}", flush=True)
    print(f"worst ratio {worst:.2f} (limit {LIMIT})")
    return 1 if worst > LIMIT else 0


if __name__ == "__main__":
    sys.exit(main())
