"""number_check through the real webhook: a number in any form gets the fact sheet's verdict."""

from __future__ import annotations

import pytest

from tests.support.line_user import texts


async def _asking(bot):
    user = bot.user()
    await user.say(user.follow())
    await user.say(user.text("この番号アマゾン？"))  # the words open the route
    return user


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_full_width_dead_number_is_called_discontinued(bot):
    user = await _asking(bot)
    said = texts(await user.say(user.text("０１２０－９９９－３７３")))
    assert "0120-999-373" in said and "使われていない" in said and "かけないで" in said
    said = texts(await user.tap("確かめられた（終わる）"))
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_random_050_number_is_unknown_with_the_warning(bot):
    user = await _asking(bot)
    said = texts(await user.say(user.text("050 7777 2468")))
    assert "050-7777-2468" in said and "どのガイドにも載っていない" in said
    assert "電話で支払いやパスワードを求められても、応じない" in said  # no absolute about Amazon
    assert "確認コード" in said
    assert "海外の番号" in said  # 004: unknown and international numbers
    assert {"確かめられた（終わる）", "もう教えてしまった"} <= {
        q["action"]["label"] for q in user.last_quick_replies
    }


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_amazon_and_carrier_numbers_say_whose_they_are(bot):
    user = await _asking(bot)
    said = texts(await user.say(user.text("+81 120 899 543")))
    assert "0120-899-543" in said and "直接は電話できず" in said  # disputed, and it says so
    said = texts(await user.say(user.text("0120019625")))  # another number, straight away
    assert "0120-01-9625" in said and "ヤマト運輸" in said and "Amazonではありません" in said
    said = texts(await user.tap("戻る"))  # back to the first verdict, still about its number
    assert "0120-899-543" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_text_that_is_no_number_gets_a_clear_ask_again(bot):
    user = await _asking(bot)
    said = texts(await user.say(user.text("アマゾンから電話がきた")))
    assert "読み取れませんでした" in said and "もう一度" in said
    said = texts(await user.say(user.text("03-1234-9876")))  # and then a number works
    assert "03-1234-9876" in said and "どのガイドにも載っていない" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_number_only_one_guide_gives_is_not_vouched_for(bot):
    user = await _asking(bot)
    said = texts(await user.say(user.text("022-745-6363")))  # one digit from a dead number
    assert "022-745-6363" in said and "ひとつのガイドだけ" in said
    assert "かけないほうが安全" in said
