"""How well typed text is routed, and how fast: accuracy, the unknown rate, time per message.

    .venv/bin/python bench/classify.py                      # the dev set (public)
    .venv/bin/python bench/classify.py --data tests/understanding/heldout.yaml --sweep

The data maps route ids to messages; `unknown` lists out-of-scope ones. Each message goes
through `understand()`, the same function the bot and `supportnavi classify` use (greetings,
other companies, names, examples, keywords, then the encoder). The load is measured in this
fresh process: importing and reading the encoder, plus encoding every example (wall clock, and
this process's CPU time, which other processes on a shared machine do not inflate).
`--sweep` shows accuracy and unknown rate for other thresholds (how THRESHOLD was chosen: on
our own held-out file, never on the dev set).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "linebot"))

from supportnavi.engine.loader import load_scenarios  # noqa: E402
from supportnavi.engine.understand import understand  # noqa: E402
from supportnavi.engine.vocab import UNKNOWN  # noqa: E402
from supportnavi.understanding import ExampleClassifier  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / "tests/understanding/intents_dev.yaml")
    parser.add_argument("--scenarios", type=Path, default=ROOT / "scenarios")
    parser.add_argument("--sweep", action="store_true", help="try other thresholds too")
    parser.add_argument("--errors", action="store_true", help="list the misrouted messages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data: dict[str, list[str]] = yaml.safe_load(args.data.read_text(encoding="utf-8"))
    scenarios = load_scenarios(args.scenarios)

    started, started_cpu = time.perf_counter(), time.process_time()
    classifier = ExampleClassifier.for_scenarios(scenarios)
    classifier.load()
    load_s = time.perf_counter() - started
    # CPU time too: on a shared machine the wall clock also counts other processes' turns
    load_cpu_s = time.process_time() - started_cpu

    rows = []  # (expected, got, score, how, seconds, text)
    for expected, messages in data.items():
        for text in messages:
            t0 = time.perf_counter()
            guess = understand(scenarios, text, classifier)
            rows.append((expected, guess.route, guess.score, guess.how,
                         time.perf_counter() - t0, text))

    times = sorted(r[4] for r in rows)
    report = {
        "data": str(args.data),
        "threshold": classifier.threshold,
        **_rates(rows),
        "median_ms": round(statistics.median(times) * 1000, 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))] * 1000, 2),
        "similar_median_ms": round(statistics.median(
            [r[4] for r in rows if r[3] in ("similar", "unknown")] or [0.0]) * 1000, 2),
        "load_s": round(load_s, 2),
        "load_cpu_s": round(load_cpu_s, 2),
        "decided_by": {how: sum(1 for r in rows if r[3] == how)
                       for how in sorted({r[3] for r in rows})},
    }
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:>18}: {value}")
    if args.errors:
        for expected, got, score, how, _, text in rows:
            if got != expected:
                print(f"  {expected:>20} -> {got:<20} {score:.3f} {how:<8} {text}")
    if args.sweep:
        print("\nthreshold  in-scope right  out-of-scope unknown  in-scope wrong")
        for step in range(30, 75, 5):
            threshold = step / 100
            swept = [_rethreshold(classifier, scenarios, r, threshold) for r in rows]
            rates = _rates(swept)
            print(f"{threshold:9.2f}  {rates['accuracy']:14.1%}  {rates['unknown_rate']:20.1%}"
                  f"  {rates['wrong_rate']:14.1%}")


def _rates(rows: list[tuple[str, str, float, str, float, str]]) -> dict[str, object]:
    inside = [r for r in rows if r[0] != UNKNOWN]
    outside = [r for r in rows if r[0] == UNKNOWN]
    return {
        "in_scope": len(inside),
        "accuracy": round(sum(r[1] == r[0] for r in inside) / max(1, len(inside)), 3),
        # routed somewhere, wrongly: the confident mistakes the threshold is there to avoid
        "wrong_rate": round(sum(r[1] not in (r[0], UNKNOWN) for r in inside)
                            / max(1, len(inside)), 3),
        "out_of_scope": len(outside),
        "unknown_rate": round(sum(r[1] == UNKNOWN for r in outside) / max(1, len(outside)), 3),
    }


def _rethreshold(classifier: ExampleClassifier, scenarios: object,
                 row: tuple[str, str, float, str, float, str], threshold: float
                 ) -> tuple[str, str, float, str, float, str]:
    expected, _, score, how, seconds, text = row
    if how not in ("similar", "unknown") or score == 0.0:
        return row  # decided before the encoder: the threshold does not change it
    route, similarity = classifier.nearest(" ".join(text.split()))
    return (expected, route if similarity >= threshold else UNKNOWN, similarity, how, seconds,
            text)


if __name__ == "__main__":
    main()
