"""Transcripts of the order routes: delivery (a parcel problem), returns, order_cancel and
marketplace (a seller who does not answer), each walked to an end through the real webhook
path, with the facts and warnings a person must be shown."""

from __future__ import annotations

import pytest

from tests.support.line_user import opened, texts, walk

CARRIER_NUMBERS = ["0120-01-9625", "0120-23-2886", "0120-18-9595"]  # Yamato, Japan Post, Sagawa
NOT_KNOWN = "わかっていません"  # said where the guides give no day count


# --- delivery ---------------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_delivery_late_parcel_to_the_carriers(bot):
    user, said = await opened(bot, "delivery")
    assert "荷物のことですね" in said
    said += await walk(user, ["届かない・遅れている", "予定日を過ぎている",
                               "配送業者の番号を見る", "荷物の場所がわかった"])
    assert "「注文履歴」" in said and "「配達状況の詳細」" in said  # check the order first
    for number in CARRIER_NUMBERS:
        assert number in said
    assert "ヤマト運輸" in said and "日本郵便" in said and "佐川急便" in said
    assert "Amazonではなく" in said  # the numbers are the carriers', not Amazon's
    assert "SMSのリンクは開かないで" in said  # fake delivery SMS
    assert "確認コード" not in said  # the secrets warning is kept for login, security, contact
    assert "追跡番号" in said and "解決しましたか？" in said
    done = await user.tap("はい、解決した")
    assert "よかった" in texts(done)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_delivery_shown_delivered_but_missing(bot):
    user, said = await opened(bot, "delivery")
    said += await walk(user, ["配達済みなのに無い", "見つからない（次の手順）",
                               "Amazonに相談する", "相談できた"])
    assert "「配達が完了しました」" in said
    for place in ["郵便受け", "宅配ボックス", "家族", "お隣"]:
        assert place in said
    assert NOT_KNOWN in said  # no waiting time is invented
    assert "「注文内容に関する問題」" in said and "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_delivery_by_amazon_itself_has_no_carrier_number(bot):
    user, said = await opened(bot, "delivery")
    said += await walk(user, ["Amazonが届ける荷物", "Amazonへの相談のしかたへ", "相談できた"])
    assert "Amazon配送" in said and "電話番号はありません" in said
    assert not any(number in said for number in CARRIER_NUMBERS)
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_delivery_damaged_and_wrong_item_lead_to_returns(bot):
    user, said = await opened(bot, "delivery")
    said += await walk(user, ["箱や商品が壊れていた"])
    assert "写真" in said and "返品の画面" in said
    assert "30日" not in said  # no guide states a return period
    said = await walk(user, ["返品・交換の手順へ"])
    assert "返品・交換の案内です" in said
    user, _ = await opened(bot, "delivery")
    said = await walk(user, ["違う商品が届いた", "返品・交換の手順へ"])
    assert "返品・交換の案内です" in said


# --- returns ----------------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_returns_walk(bot):
    user, said = await opened(bot, "returns")
    said += await walk(user, ["返品の手順へ", "次へ（手順4・5）", "送り返した（このあと）"])
    assert "商品によって違います" in said and "その注文の返品の画面" in said
    assert "目安" not in said and "30日" not in said  # no guide gives a period
    assert "「注文履歴」" in said and "「商品の返品・交換」" in said
    assert "返金される金額" in said
    assert "送らないでください" in said  # never to an address a mail names (003's warning)
    assert "解決しましたか？" in said
    done = await user.tap("はい、解決した")
    assert "よかった" in texts(done)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_returns_what_to_keep_what_cannot_go_back_and_the_refund(bot):
    user, said = await opened(bot, "returns")
    said += await walk(user, ["送る前に残すものを見る"])
    assert "付属品" in said and "包装" in said and "写真" in said
    said += await walk(user, ["返品できないものを見る"])
    assert "対象外" in said and "届いたときから壊れていた" in said
    user, _ = await opened(bot, "returns")
    said = await walk(user, ["返金について見る"])
    assert NOT_KNOWN in said and "解決しましたか？" in said
    user, _ = await opened(bot, "returns")
    said = await walk(user, ["出品者の商品の案内へ"])
    assert "マーケットプレイス出品者" in said


# --- order_cancel -----------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_order_cancel_before_shipping(bot):
    user, said = await opened(bot, "order_cancel")
    said += await walk(user, ["発送前のキャンセルへ", "キャンセルできた"])
    assert "「注文履歴」" in said and "「キャンセル」と書かれたボタン" in said
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_order_cancel_after_shipping_refuse_or_return(bot):
    user, said = await opened(bot, "order_cancel")
    said += await walk(user, ["発送前のキャンセルへ", "ボタンが無い・押せない",
                               "発送後の取り消しへ", "受け取りの断り方へ", "受け取りを断れた"])
    assert "受け取りを断る" in said and "返品の画面" in said and "30日" not in said
    assert NOT_KNOWN in said and "解決しましたか？" in said
    user, _ = await opened(bot, "order_cancel")
    said = await walk(user, ["発送後の取り消しへ", "返品の手順へ"])
    assert "返品・交換の案内です" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_order_cancel_change_and_digital(bot):
    user, said = await opened(bot, "order_cancel")
    said += await walk(user, ["住所・支払いの変更へ", "変更できた"])
    assert "「注文内容の確認」" in said and "「変更」" in said and "注文し直す" in said
    assert "解決しましたか？" in said
    user, _ = await opened(bot, "order_cancel")
    said = await walk(user, ["デジタル商品の案内へ", "相談できた"])
    assert "Kindle" in said and "解決しましたか？" in said


# --- marketplace ------------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_marketplace_seller_first_then_a_to_z(bot):
    user, said = await opened(bot, "marketplace")
    said += await walk(user, ["出品者への連絡方法へ", "返事がない・解決しない",
                               "A-to-z保証の申請へ", "申請できた"])
    assert "「出品者に連絡」" in said and "「注文履歴」" in said
    assert "A-to-z保証" in said and "「Amazonマーケットプレイス保証」と呼ぶガイドもあります" in said
    assert NOT_KNOWN in said  # no waiting period or deadline is invented
    assert "海外の住所へ送り返す" in said
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_marketplace_evidence_to_keep(bot):
    user, said = await opened(bot, "marketplace")
    said += await walk(user, ["残しておく証拠を見る"])
    for item in ["メッセージ", "写真", "追跡番号", "注文番号"]:
        assert item in said
