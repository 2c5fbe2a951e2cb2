"""Typed text through the real webhook path, and the `supportnavi classify` contract."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from supportnavi.settings import REPO_ROOT
from tests.faults.checks import snapshot
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


def _classify(lines: list[str]) -> list[dict]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "supportnavi"), "classify"],
        input="\n".join(lines) + "\n", capture_output=True, text=True, encoding="utf-8",
        cwd=REPO_ROOT, env=env, timeout=120, check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_classify_prints_one_json_line_per_input_line():
    lines = ["プライムやめたい", "ｱﾏｿﾞﾝから変なSMS", "楽天の解約", "こんにちは", "",
             "パスワードを忘れた", "解約", "0120999373", "メニュー", "2"]
    rows = _classify(lines)
    assert [r["text"] for r in rows] == lines
    assert all(set(r) == {"text", "route", "node", "score", "kind", "candidates"}
               for r in rows)
    assert all(isinstance(r["score"], float) and 0.0 <= r["score"] <= 1.0 for r in rows)
    got = [(r["route"], r["node"], r["kind"]) for r in rows]
    assert got[:4] == [("prime_cancel", None, "keywords"), ("security", None, "similar"),
                       (None, None, "other_service"), (None, None, "greeting")]
    assert got[4] == (None, None, "empty")
    assert got[5] == ("login", "forgot", "keywords")
    assert got[6] == ("prime_cancel", None, "ask")
    assert rows[6]["candidates"] == ["prime_cancel", "trial_cancel", "order_cancel",
                                     "account_close"]
    assert got[7][0] == "number_check" and got[7][2] == "phone"  # no separators
    assert got[8] == (None, None, "command")
    assert got[9] == ("trial_cancel", None, "menu_number")
    assert rows[0]["score"] == 1.0  # a keyword match
    assert 0.5 <= rows[1]["score"] < 1.0  # the encoder's similarity


AGREE = ["プライムやめたい", "ぷらいむ やめたい", "パスワードを忘れた", "アマゾンの電話番号を教えて",
         "0120999373", "050-1234-5678から電話", "https://amazon.co.jp.example.com/login",
         "メニュー", "3", "２", "こんにちは", "楽天の解約", "へんひん", "解約",
         "いちじていし", "今日の晩ごはん何がいい"]


@sqlite
async def test_classify_and_the_bot_agree_on_what_is_typed_at_the_menu(bot):
    """One interpreter (issue 16, point 6): where `classify` says a text typed at the menu
    leads is where the bot takes a new friend who types it."""
    rows = _classify(AGREE)
    for text, row in zip(AGREE, rows, strict=True):
        user = bot.user()
        await user.say(user.follow())
        said = texts(await user.say(user.text(text)))
        route, node, _, _ = (await snapshot(bot.db_url)).states[user.user_id]
        if row["kind"] == "ask":
            assert "ご相談ですか" in said, (text, said)
            shown = [i["action"]["label"] for i in user.last_quick_replies]
            assert len(shown) == len(row["candidates"]) + 1, (text, shown)
            assert route is None, text
        else:
            assert route == row["route"], (text, row, route, node)
            if row["node"] is not None:
                assert node == row["node"], (text, row, route, node)
