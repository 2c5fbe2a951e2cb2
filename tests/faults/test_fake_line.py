"""The fake LINE API's bad days, which the fault tests rely on: seeded random trouble that
repeats, a silence that lasts until the client hangs up, a 500 after LINE took the message,
and the harness process configured over HTTP."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import pytest

from supportnavi.simulator.fake_line import Faults
from tests.support import dispatch_run as dr

REPLY = "/v2/bot/message/reply"
PUSH = "/v2/bot/message/push"
AUTH = {"authorization": "Bearer token"}


def _reply(token: str) -> dict:
    return {"replyToken": token, "messages": [{"type": "text", "text": "やあ"}]}


def test_faults_are_drawn_at_their_rates_and_repeat_with_their_seed():
    first, again = (Faults(error=0.2, timeout=0.1, slow=0.1, seed=4) for _ in range(2))
    seq = [first.draw() for _ in range(2000)]
    assert seq == [again.draw() for _ in range(2000)]
    kinds = Counter(kind for kind, _ in seq)
    assert 320 < kinds["error"] < 480 and 140 < kinds["timeout"] < 260
    assert 140 < kinds["slow"] < 260 and kinds["rate_limited"] == 0
    with pytest.raises(ValueError, match="unknown"):
        Faults.parse({"eror": 0.5})


async def test_a_silence_lasts_until_the_client_gives_up_and_a_taken_one_used_the_token(
    fake_line
):
    fake, url = fake_line
    fake.faults = {"reply": Faults(timeout=1.0, taken=1.0, hang_seconds=20)}
    async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            await client.post(REPLY, json=_reply("t1"), timeout=0.5)
        assert time.monotonic() - started < 5
        fake.faults = {}
        again = await client.post(REPLY, json=_reply("t1"))
    assert again.status_code == 400 and again.json()["message"] == "Invalid reply token"
    assert fake.faulted == {"reply:timeout": 1}
    assert len(fake.bodies(REPLY)) == 1  # LINE has it, once


async def test_a_500_that_was_taken_makes_the_retry_key_answer_409(fake_line):
    fake, url = fake_line
    fake.faults = {"push": Faults(error=1.0, taken=1.0)}
    body = {"to": "U" + "1" * 32, "messages": [{"type": "text", "text": "やあ"}]}
    async with httpx.AsyncClient(base_url=url, headers=AUTH) as client:
        first = await client.post(PUSH, json=body, headers={"x-line-retry-key": "k1"})
        fake.faults = {}
        retry = await client.post(PUSH, json=body, headers={"x-line-retry-key": "k1"})
    assert (first.status_code, retry.status_code) == (500, 409)
    assert fake.duplicates() == 0 and fake.delivered_by_key == {f"k1:{body['to']}": 1}


def test_the_harness_takes_faults_and_a_reply_delay_over_http():
    with dr.FakeServer() as fake:
        assert fake.client.post("/_harness/config", json={"faults": {"reply": {"eror": 1}}}
                                ).status_code == 400
        fake.configure(faults={"reply": {"expired": 1.0}}, reply_delay=0.3)
        started = time.monotonic()
        refused = fake.client.post(REPLY, json=_reply("t2"), headers=AUTH)
        assert refused.status_code == 400 and time.monotonic() - started >= 0.3
        fake.configure(faults={})
        assert fake.client.post(REPLY, json=_reply("t3"), headers=AUTH).status_code == 200
        assert fake.client.post(REPLY, json=_reply("t2"), headers=AUTH).status_code == 400
        assert fake.stats()["accepted_requests"] == 0  # replies are not pushes
