"""Typed text through the real webhook path, and the `supportnavi classify` contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from supportnavi.settings import REPO_ROOT
from tests.support.line_user import texts

sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@sqlite
@pytest.mark.parametrize(
    ("typed", "answer"),
    [("こんにちは", "こんにちは。supportnavi"), ("おはようございます", "こんにちは。supportnavi"),
     ("ありがとう", "どういたしまして"), ("どうも", "どういたしまして")],
)
async def test_a_greeting_gets_a_kind_answer_and_no_route(bot, typed, answer):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text(typed)))
    assert answer in said
    assert "ごめんなさい" not in said and "読み取れ" not in said
    labels = [i["action"]["label"] for i in user.last_quick_replies]
    assert "プライム会員をやめる" in labels  # still at the menu, its buttons under the answer


@sqlite
async def test_thanks_in_the_middle_of_a_route_keeps_the_person_there(bot):
    user = bot.user()
    await user.say(user.follow())
    await user.say(user.text("プライムやめたい"))
    said = texts(await user.say(user.text("ありがとうございます！")))
    assert "どういたしまして" in said
    labels = [i["action"]["label"] for i in user.last_quick_replies]
    assert "ウェブで解約する" in labels


@sqlite
@pytest.mark.parametrize("typed", ["楽天の解約", "ドコモを解約したい", "Netflixやめたい"])
async def test_other_companies_get_what_the_bot_can_do_and_the_menu(bot, typed):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text(typed)))
    assert "ご案内できません" in said and "ご案内できるのは" in said
    assert "何についてご案内しましょうか" in said  # the menu
    assert "プライム会員の解約ですね" not in said


@sqlite
async def test_the_encoder_routes_what_no_keyword_catches(bot):
    user = bot.user()
    await user.say(user.follow())
    said = texts(await user.say(user.text("会員をちょっとお休みする方法")))
    assert "「一時停止」をご案内します" in said


def test_classify_prints_one_json_line_per_input_line():
    lines = ["プライムやめたい", "ｱﾏｿﾞﾝから変なSMS", "楽天の解約", "こんにちは", ""]
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "supportnavi"), "classify"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, encoding="utf-8",
        cwd=REPO_ROOT, env=env, timeout=120, check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == lines
    assert all(set(r) == {"text", "route", "score"} for r in rows)
    assert all(isinstance(r["score"], float) and 0.0 <= r["score"] <= 1.0 for r in rows)
    assert [r["route"] for r in rows] == [
        "prime_cancel", "security", "unknown", "unknown", "unknown",
    ]
    assert rows[0]["score"] == 1.0  # a keyword match
    assert 0.5 <= rows[1]["score"] < 1.0  # the encoder's similarity
