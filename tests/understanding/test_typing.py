"""People who type instead of tapping (issue 16), through the signed webhook: straight to the
branch their words name, asked when the bot is unsure, read on every screen, never refused when
a word is ours; and a whole route typed from the first message to 「はい」 without one tap."""

from __future__ import annotations

import pytest

from tests.support.line_user import LineUser, texts

sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def labels(user: LineUser) -> list[str]:
    return [item["action"]["label"] for item in user.last_quick_replies]


async def typed(user: LineUser, text: str) -> str:
    return texts(await user.say(user.text(text)))


async def friend(bot) -> LineUser:
    user = bot.user()
    await user.say(user.follow())
    return user


# --- point 2: straight to the branch the words name -----------------------------------------


@sqlite
@pytest.mark.parametrize(
    ("text", "opens", "button"),
    [
        ("パスワードを忘れた", "【パスワードを作り直す】", None),
        ("ぱすわーど わすれた", "【パスワードを作り直す】", None),
        ("プライムビデオだけやめたい", "プライムビデオだけをやめることはできません", None),
        ("アマゾンの電話番号を教えて", "電話番号は、ガイドによって言うことが違います", None),
        ("かくにんこーど が とどかない", "確認コードが届かないときは", None),
        ("リンクを押してしまった", "落ち着いて、順に進めれば大丈夫です", None),
        ("まだプライムと出てる", "解約が最後まで済んでいるか確かめます", None),
    ],
)
async def test_words_that_name_a_branch_open_it_with_back_to_the_route_start(
        bot, text, opens, button):
    user = await friend(bot)
    said = await typed(user, text)
    assert opens in said, said
    assert "戻る" in labels(user)
    back = texts(await user.tap("戻る"))
    # 戻る leads to the route's first screen (the chooser the branch is one of), not the menu
    assert "何についてご案内しましょうか" not in back
    assert "戻る" in labels(user) or "メニュー" in labels(user)


@sqlite
async def test_the_number_to_call_is_contact_not_the_number_checker(bot):
    user = await friend(bot)
    said = await typed(user, "アマゾンの電話番号を教えて")
    assert "番号を送ってください" not in said and "確かめたい番号" not in said
    assert "0120-999-373" not in said  # a number the guides report as dead is never given


# --- point 3: ask when unsure ---------------------------------------------------------------


@sqlite
@pytest.mark.parametrize("text", ["解約", "やめたい", "キャンセル", "かいやく"])
async def test_a_bare_cancel_asks_which_with_four_buttons_and_the_menu(bot, text):
    user = await friend(bot)
    said = await typed(user, text)
    assert "どれのご相談ですか" in said
    shown = labels(user)
    assert len(shown) == 5 and shown[-1] == "メニュー"
    assert "アカウントを閉鎖する" in shown  # offered, never opened
    assert "閉鎖の前に" not in said and "アカウントのメールアドレス" not in said
    # a tap on a candidate opens it
    said = texts(await user.tap(shown[0]))
    assert "プライム会員の解約ですね" in said


@sqlite
async def test_a_word_one_kana_off_asks_did_you_mean(bot):
    user = await friend(bot)
    said = await typed(user, "へんひん")
    assert "のご相談ですか？" in said
    assert labels(user)[0].startswith("返品・交換") and labels(user)[-1] == "メニュー"
    assert "返品・交換の案内です" not in said  # asked, not opened


@sqlite
async def test_the_branch_offered_when_asking_opens_on_a_tap(bot):
    user = await friend(bot)
    await typed(user, "ろぐいん について")
    assert "ログインできない" in labels(user)
    said = texts(await user.tap("ログインできない"))
    assert "Amazonにログインできないのですね" in said


# --- point 4: typing works on every screen --------------------------------------------------


@sqlite
@pytest.mark.parametrize("number", ["2", "２"])
async def test_a_buttons_number_inside_a_route_taps_it(bot, number):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    said = await typed(user, number)
    assert "【アプリで解約】" in said  # the 2nd button


@sqlite
@pytest.mark.parametrize("text", ["次へ", "つぎへ", "次へ（手順4・5）", "つぎ"])
async def test_a_label_or_a_clear_start_of_one_taps_it(bot, text):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    await typed(user, "ウェブで解約する")
    said = await typed(user, text)
    assert said.startswith("4. "), said


@sqlite
@pytest.mark.parametrize("text", ["もどって", "まえのがめん", "戻る", "まえ"])
async def test_more_ways_to_say_back(bot, text):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    await typed(user, "1")
    said = await typed(user, text)
    assert "どの方法で進めますか" in said


@sqlite
@pytest.mark.parametrize(("text", "menu"), [("めにゅー", True), ("はじめから", False)])
async def test_more_ways_to_say_menu_and_restart(bot, text, menu):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    await typed(user, "1")
    said = await typed(user, text)
    if menu:
        assert "何についてご案内しましょうか" in said
    else:
        assert "どの方法で進めますか" in said


@sqlite
async def test_an_unclear_sentence_keeps_the_person_on_their_screen_with_a_hint(bot):
    user = await friend(bot)
    await typed(user, "返品したい")
    before = labels(user)
    said = await typed(user, "えーと なんだっけ")
    assert "うまく読み取れませんでした" in said and "ボタンの番号" in said
    assert labels(user)[:len(before)] == before
    said = await typed(user, "1")  # and the screen still works
    assert "【返品・交換の手順】" in said


@sqlite
async def test_a_confident_match_elsewhere_moves_there_with_back_to_where_they_were(bot):
    user = await friend(bot)
    await typed(user, "返品したい")
    said = await typed(user, "にもつが とどかない")
    assert "荷物のことですね" in said
    back = texts(await user.tap("戻る"))
    assert "返品・交換の案内です" in back


@sqlite
async def test_yes_typed_where_the_screen_asks_resolved(bot):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    await typed(user, "1")
    await typed(user, "つぎへ")
    said = await typed(user, "おせた")
    assert "解決しましたか" in said
    said = await typed(user, "はい")
    assert "うまく読み取れませんでした" not in said


@sqlite
async def test_no_typed_where_the_screen_asks_resolved(bot):
    user = await friend(bot)
    await typed(user, "プライムやめたい")
    await typed(user, "1")
    await typed(user, "つぎへ")
    await typed(user, "おせた")
    said = await typed(user, "いや")
    assert "うまく読み取れませんでした" not in said


# --- point 5: never refuse an in-scope word -------------------------------------------------


@sqlite
@pytest.mark.parametrize("text", ["ろぐいん について", "いちじていし", "へんぴん", "ぷらいむ"])
async def test_a_word_of_ours_is_never_refused(bot, text):
    user = await friend(bot)
    said = await typed(user, text)
    assert "ご案内できません" not in said


# --- the whole route, typed -----------------------------------------------------------------


@sqlite
async def test_a_person_types_every_reply_of_a_whole_route_without_a_tap(bot):
    user = await friend(bot)
    steps = [
        ("ぷらいむ やめたい", "プライム会員の解約ですね"),
        ("うぇぶ", "【ウェブで解約】"),
        ("つぎへ", "4. "),
        ("9", None),  # a number beyond the buttons: asked again, nothing moves
        ("おせた", "解決しましたか"),
        ("はい", None),
    ]
    for text, expected in steps:
        said = await typed(user, text)
        if expected is not None:
            assert expected in said, (text, said)
        assert "ご案内できません" not in said
    posted = [r for r in bot.fake.records if r.path.endswith("/postback")]
    assert not posted  # (nothing was tapped; the fake LINE API never saw a tap either)
