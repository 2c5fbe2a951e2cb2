"""Typed phrases open the right route, or the branch of it they name: what people write, not
what the buttons say. Names and keywords decide most; the rest go to the sentence encoder's
nearest example."""

from __future__ import annotations

import pytest

from tests.support.line_user import texts


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("typed", "opening"),
    [
        # account
        ("ログインできない", "ログインできないのですね"),
        ("パスワードを忘れました", "【パスワードを作り直す】"),  # the branch it names
        ("アカウントがロックされた", "本人確認を求められたときの案内です"),
        ("フィッシング詐欺かもしれません", "怪しいメールやSMSが届いたとき"),
        ("怪しいSMSのリンクを押してしまった", "落ち着いて、順に進めれば大丈夫です"),
        ("２段階認証を設定したい", "怪しいメールやSMSが届いたとき"),
        ("Fire TVが動かない", "いちばん近い症状"),
        ("キンドルで本が読めない", "いちばん近い症状"),
        # membership
        ("無料体験が有料になる前にやめたい", "有料になる前にやめる方法"),
        ("一時停止したいです", "「一時停止」をご案内します"),
        ("解約したのに請求が来ました", "いちばん近いもの"),
        ("アマゾンのアカウントを削除したい", "アカウントを閉鎖（削除）する手続き"),
        ("リマインダーを使いたい", "予定に入っているお知らせ"),
        # orders
        ("荷物が届かない", "荷物のことですね"),
        ("にもつが届かないです", "荷物のことですね"),
        ("配達完了になってるのに無い", "と出ているのに見当たらないときは"),
        ("返品したい", "返品・交換の案内です"),
        ("返品", "返品・交換の案内です"),  # a route's bare name opens it
        ("ログイン", "ログインできないのですね"),
        ("注文をキャンセルしたい", "注文のキャンセル・変更の案内です"),
        ("受け取り拒否したい", "【受け取りを断るとき】"),
        ("出品者から返事がこない", "出品者から返事がない、または話がまとまらないときは"),
        ("出品者から荷物が届かない", "マーケットプレイス出品者"),
        ("A-to-z保証", "マーケットプレイス出品者"),
        # no keyword: the nearest example decides
        ("ｱﾏｿﾞﾝから変なSMSが来た", "怪しいメールやSMSが届いたとき"),
        ("会員をちょっとお休みしたい", "「一時停止」をご案内します"),
        ("アマプラもういらない", "プライム会員の解約ですね"),
        ("ファイヤースティックが映らない", "いちばん近い症状"),
    ],
)
async def test_a_typed_phrase_opens_its_route(bot, typed, opening):
    user = bot.user()
    await user.say(user.follow())
    assert opening in texts(await user.say(user.text(typed)))
