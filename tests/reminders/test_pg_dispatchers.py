"""Two dispatcher processes at once over 10,000 due reminders on PostgreSQL: they share the
work (`FOR UPDATE SKIP LOCKED`, the claim lease, whole multicast batches), and between them
every person gets exactly one message. Judged by the fake LINE API's log of accepted requests;
each process uses its own access token, so the log also shows that both took part."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support import dispatch_run as dr

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=TOKYO)
N = 10_000

pytestmark = [pytest.mark.postgres,
              pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


@pytest.mark.parametrize("mix", ["personal", "shared"])
def test_two_dispatchers_at_once_send_each_reminder_once(db_url, mix):
    # shared: 40 groups of 250, so a page boundary or the other process can hold part of one
    dr.run(dr.seed(db_url, N, NOW - timedelta(minutes=5), mix, groups=40))
    with dr.FakeServer() as fake:
        procs = [dr.start_dispatch(db_url, fake.url, NOW, token=f"dispatcher-{i}")
                 for i in (1, 2)]
        for proc in procs:
            out, _ = proc.communicate(timeout=120)
            assert proc.returncode == 0, out
        deliveries = fake.deliveries()

    rows = dr.run(dr.reminder_rows(db_url))
    assert Counter(r["status"] for r in rows) == {"sent": N}
    accepted = [d for d in deliveries if d["status"] == 200]
    per_person = Counter(person for d in accepted for person in d["to"])
    assert len(per_person) == N  # nobody missed
    assert set(per_person) == {r["user_id"] for r in rows}
    assert [p for p, n in per_person.items() if n > 1] == []  # nobody twice
    # and no request went twice, not even one LINE would have refused by its retry key (409)
    assert [d for d in deliveries if d["status"] != 200] == []
    keys = Counter(d["retry_key"] for d in accepted)
    assert None not in keys and max(keys.values()) == 1
    by_process = Counter(d["token"] for d in accepted)
    assert set(by_process) == {"dispatcher-1", "dispatcher-2"}, by_process  # both worked
    if mix == "personal":
        assert {d["path"] for d in accepted} == {dr.PUSH}
    else:  # same minute, same text: multicasts of at most 500
        assert {d["path"] for d in accepted} == {dr.MULTICAST}
        assert max(len(d["to"]) for d in accepted) <= 500
