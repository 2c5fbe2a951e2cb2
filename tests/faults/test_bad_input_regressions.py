"""Bodies the fuzzing (test_fuzz_callback.py) is about, kept as plain tests: the first two
were 500s, and must stay a clear 200 or 400. Signed with the channel secret; the ones LINE's
webhook.yml allows are checked against it, so each is a body LINE could send."""

from __future__ import annotations

import json

import pytest

from supportnavi.simulator.signing import BOT_USER_ID
from tests.faults.checks import row_counts, snapshot
from tests.support.line_spec import webhook_errors


def _signed_body(*events) -> bytes:
    payload = {"destination": BOT_USER_ID, "events": list(events)}
    assert webhook_errors(payload) == [], "LINE could send this"
    return json.dumps(payload, ensure_ascii=False).encode()


async def test_json_nested_deeper_than_the_recursion_limit_is_400(bot):
    user = bot.user()
    for body in (b"[" * 5000 + b"]" * 5000,
                 b'{"events": [{"type": "message", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}]}"):
        response = await user.post(body)
        assert response.status_code == 400, response.text
        assert "nested too deeply" in response.json()["detail"]
    assert set((await row_counts(bot.db_url)).values()) == {0}


@pytest.mark.parametrize("field", ["webhookEventId", "userId", "replyToken"])
@pytest.mark.parametrize("value", ["x" * 300, "01AB\x00CD", "Ｕ１２３", ""])
async def test_ids_no_line_id_looks_like_are_200_and_ignored(bot, field, value):
    """webhook.yml bounds none of these; LINE's are short printable ASCII: 26 (event), 33
    (user) and 32 (token) characters. One too long for its column, or with a NUL PostgreSQL
    refuses, was a 500; now it is logged and left alone."""
    user = bot.user()
    event = user.follow()
    if field == "userId":
        event["source"]["userId"] = value
    else:
        event[field] = value
    response = await user.post(_signed_body(event))
    assert response.status_code == 200, response.text
    assert set((await row_counts(bot.db_url)).values()) == {0}
    assert bot.fake.records == []


async def test_a_nul_character_in_what_a_person_sends_is_200(bot):
    """PostgreSQL refuses U+0000 in text: none of what a person typed or tapped is stored as
    it came (only what it resolved to), so a NUL there is only a character."""
    user = bot.user()
    follow = user.follow()
    text = user.text("プライム\x00やめたい")
    tap = user.postback("v=1&k=route:contact\x00", date="2026-12-0\x005")
    for event in (follow, text, tap):
        response = await user.post(_signed_body(event))
        assert response.status_code == 200, response.text
    snap = await snapshot(bot.db_url)
    assert {follow["webhookEventId"], text["webhookEventId"]} <= snap.processed
