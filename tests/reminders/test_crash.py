"""A dispatcher killed in the middle of a batch, then run again: every due reminder reaches its
person exactly once.

The fake LINE API runs as its own process and answers pushes slowly: it accepts and records a
message, then holds the answer. The dispatcher runs as `supportnavi reminders dispatch --once`
and is SIGKILLed while LINE holds messages it has not confirmed. The rerun comes after the
claim lease, takes those rows again, and must send them with the same retry key (LINE answers
409) instead of a new request (which LINE would deliver a second time).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support import dispatch_run as dr
from tests.support.fake_line_server import PUSH

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TOKYO)  # inside the 9:00-21:00 push window
DUE = NOW - timedelta(minutes=30)
LEASE_PASSED = NOW + timedelta(minutes=3)  # the dispatcher's claim lease is two minutes
N = 300


@pytest.fixture
def slow_fake():
    with dr.FakeServer("--delay", "0.3") as fake:
        yield fake


def _kill_mid_batch(proc: subprocess.Popen[str], fake: dr.FakeServer) -> dict:
    """SIGKILL as soon as LINE holds a few accepted messages, while their answers are slow."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stats = fake.stats()
        if stats["accepted_requests"] >= 3:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            return fake.stats()
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"the dispatcher ended before it could be killed: {out}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail("the dispatcher sent nothing within 60 s")


@pytest.mark.parametrize("mix", ["personal", "shared"])
def test_a_dispatcher_killed_mid_batch_then_rerun_delivers_each_reminder_once(
    db_url, slow_fake, mix
):
    # shared: 60 multicasts of 5. Rates far under LINE's spread either mix over about three
    # seconds, so that a kill lands among the requests even on a loaded machine.
    dr.run(dr.seed(db_url, N, DUE, mix, groups=60))

    first = dr.start_dispatch(db_url, slow_fake.url, NOW, SUPPORTNAVI_PUSH_RATE="100",
                              SUPPORTNAVI_MULTICAST_RATE="20")
    at_kill = _kill_mid_batch(first, slow_fake)
    assert first.returncode == -signal.SIGKILL
    assert 0 < at_kill["delivered"] < N, at_kill  # killed in the middle, not before or after
    sent_at_kill = dr.run(dr.status_counts(db_url)).get("sent", 0)
    # LINE holds messages the dispatcher never heard back about: the case under test
    assert sent_at_kill < at_kill["delivered"]

    slow_fake.configure(delay=0)
    second = dr.start_dispatch(db_url, slow_fake.url, LEASE_PASSED)
    out, _ = second.communicate(timeout=240)
    assert second.returncode == 0, out

    rows = dr.run(dr.reminder_rows(db_url))
    assert len(rows) == N
    assert Counter(r["status"] for r in rows) == {"sent": N}

    deliveries = slow_fake.deliveries()
    accepted = [d for d in deliveries if d["status"] == 200]
    per_person = Counter(person for d in accepted for person in d["to"])
    assert set(per_person) == {r["user_id"] for r in rows}  # nobody missed
    assert [p for p, n in per_person.items() if n > 1] == []  # nobody twice
    keys = Counter(d["retry_key"] for d in accepted)
    assert None not in keys and max(keys.values()) == 1
    # the rerun sent what LINE already had with the key it had: LINE answered 409
    assert any(d["status"] == 409 for d in deliveries)

    # The fake's own record of what it accepted: pushes carry their row's stored retry key.
    key_of = {r["user_id"]: r["retry_key"] for r in rows}
    pushed = [r for r in slow_fake.records() if r["path"] == PUSH]
    assert {r["retry_key"] for r in pushed} == {key_of[r["body"]["to"]] for r in pushed}
    assert len({r["retry_key"] for r in pushed}) == len(pushed)
