"""Issue 17, points 1 and 4, through the signed webhook as a person on a phone: the return
reminder asks for the deadline the order's return screen shows; the seller's push says only
what its route says; the phone facts are given with both counts; the rich menu's
「番号・リンクの確認」 takes a number or a link; labels say where they lead; a term is glossed
where a route first uses it; and the warning about secrets is said once, where it matters."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from supportnavi.engine import keys, postback
from tests.routes.test_reminders import PICK, dispatcher, jst, pushes_to, rows_of, utc
from tests.support.line_user import LineUser, opened, reach, texts, walk

TOKYO = ZoneInfo("Asia/Tokyo")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TOKYO)
SECRETS_WARNING = "確認コードを聞かれたら"


def labels(user: LineUser) -> list[str]:
    return [q["action"]["label"] for q in user.last_quick_replies]


async def at(bot, route_id: str, taps: list[str]) -> tuple[LineUser, str]:
    bot.app.state.services.conversation.clock = lambda: NOW.astimezone(UTC)
    user, said = await opened(bot, route_id)
    return user, said + await walk(user, taps)


# --- 1. claims no guide makes -------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_return_reminder_takes_the_deadline_the_return_screen_shows(bot):
    user, said = await at(bot, "returns", ["返品の期限を知らせてほしい"])
    assert "目安" not in said and "30日" not in said  # no guide states a return period
    assert "注文履歴からその注文の返品の画面を開いて確かめてください" in said
    assert "返品の期限の日を教えてください" in said and "5日前に" in said
    picker = user.button(PICK)
    assert picker["min"] == "2026-11-23"  # a deadline lies ahead: the picker offers no past day
    said = texts(await user.pick_date(PICK, "2026-12-19"))
    assert "「返品の期限」（期限 12月19日(土)）" in said and "12月14日(月) 9:00" in said
    [row] = await rows_of(bot, user.user_id)
    assert (row.given, row.deadline) == (row.deadline, datetime(2026, 12, 19).date())
    assert utc(row.due_at) == jst(12, 14, 9)
    assert (await dispatcher(bot).run_once(jst(12, 14, 9))).sent == 1
    [push] = pushes_to(bot, user.user_id)
    text = push["messages"][0]["text"]
    assert "返品の期限としてお知らせする日は 12月19日(土) です" in text
    assert "その注文の返品の画面" in text and "目安" not in text and "30" not in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_return_deadline_too_close_for_the_push_is_refused_with_the_reason(bot):
    user, _ = await at(bot, "returns", ["返品の期限を知らせてほしい"])
    said = texts(await user.say(user.text("11月25日")))
    assert "お知らせが間に合いません" in said and "いま手続きしてください" in said
    assert await rows_of(bot, user.user_id) == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_seller_push_says_only_what_the_route_says(bot):
    user, _ = await at(bot, "marketplace", [])
    said = texts(await reach(user, "marketplace", "no_reply"))
    assert "決まった日数がわかっていません" in said  # the route: nobody knows how long to wait
    said = texts(await reach(user, "marketplace", "remind"))
    assert "このボットが決めたもの" in said
    said = texts(await user.pick_date(PICK, "2026-11-23"))
    assert "「出品者の返事」" in said
    assert (await dispatcher(bot).run_once(jst(11, 25, 9))).sent == 1
    [push] = pushes_to(bot, user.user_id)
    text = push["messages"][0]["text"]
    assert "決まった日数がわかっていません" in text  # as the route says
    assert "考えましょう" not in text and "2日たちました" not in text
    assert "A-to-z保証」（Amazonが間に入って判断してくれるしくみ）" in text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_phone_screen_gives_both_counts_and_hours_only_for_their_number(bot):
    user, said = await at(bot, "contact", ["電話番号を知りたい"])
    assert "4つのガイドが、Amazonの窓口として 0120-899-543 を載せています" in said
    assert "そのうち2つは、受付を24時間としています" in said
    assert "一方で、3つのガイドは「Amazonには直接は電話できず、Amazonから電話をもらう形に変わった」" in said
    assert "9時" not in said and "0120-999-373" not in said  # 004's 9-21 was the dead number's
    said = await walk(user, ["つながる時間帯"])
    assert "ほかの受付時間を書くガイドもありますが、この番号のものとしてではありません" in said
    assert "9時" not in said and "8時" not in said
    # busy and quiet times as 000 gives them for this number, not 002's hours for no number
    assert "すいているのは早朝や深夜" in said and "混みやすいのは平日の昼間や夕方" in said
    assert "12〜13時" not in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_statements_no_guide_makes_are_gone(bot):
    _, said = await at(bot, "order_cancel", ["発送後の取り消しへ"])
    assert "受け取りを断る" in said and "送り主に戻" not in said
    _, said = await at(bot, "security", ["押した・入力してしまった", "1. パスワードを変える",
                                         "次へ（2. Amazonに知らせる）", "次へ（3. 認証の設定）",
                                         "次へ（4. 端末の確認）", "次へ（5. 注文の確認）",
                                         "次へ（6. 報告）"])
    assert "警察" not in said and "このボットからのおすすめです" in said
    user, said = await at(bot, "number_check", [])
    said = texts(await user.say(user.text("0120-899-543")))
    assert "表示だけ偽る" not in said and "番号だけではわかりません" in said
    user, _ = await at(bot, "delivery", [])
    said = texts(await user.say(user.text("カード番号は 4111 1111 1111 1111 です")))
    assert "Amazonも、メッセージや電話で聞くことはありません" not in said
    assert "24時間" not in said and "送信取消" in said and "取り消せないとき" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_short_domain_is_said_to_be_ours_not_a_guides(bot):
    user, _ = await at(bot, "security", [])
    said = texts(await user.say(user.text("https://amzn.to/3abcd")))
    assert "amzn.to は、Amazonのドメインとして扱っています" in said
    assert "ガイドが公式とするのは amazon.co.jp と amazon.com です" in said
    said = texts(await user.say(user.text("https://www.amazon.co.jp/gp/css")))
    assert "持ち主のドメイン（そのアドレスを実際に持っている先）：amazon.co.jp" in said


# --- 4. labels, glosses, the warning ------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_rich_menu_tile_asks_for_a_number_or_a_link_and_reads_both(bot):
    user = bot.user()
    await user.say(user.follow())
    tile = postback.encode(postback.Tap(keys.Route("number_check")))
    said = texts(await user.say(user.postback(tile)))
    assert "電話番号か、リンク（URL）を" in said
    assert "ドメイン（サイトやメールの住所にあたる部分）" in said  # glossed at its first use
    said = texts(await user.say(user.text("amazon-co-jp.info/login")))
    assert "Amazonではありません" in said
    said = texts(await user.say(user.text("0120-999-373")))
    assert "いまは使われていない" in said
    said = texts(await user.say(user.text("でんわ")))
    assert "電話番号やリンクとして読み取れませんでした" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_labels_say_where_they_lead(bot):
    user, _ = await opened(bot, "contact")
    assert {"Amazonから電話をもらう（無料）", "チャットで相談（文字）"} <= set(labels(user))
    assert "通話料もかかりません" in texts(await user.tap("Amazonから電話をもらう（無料）"))
    user, said = await opened(bot, "contact")
    assert "チャットは24時間使えるとされています" in texts(await user.tap("チャットで相談（文字）"))
    user, said = await opened(bot, "prime_cancel")
    assert "「一時停止・ビデオだけ・間違えて入会」へどうぞ" in said
    await user.tap("一時停止・ビデオだけ・間違えて入会")
    assert {"ビデオだけやめたい", "間違えて入会した", "また使うなら一時停止へ"} <= set(labels(user))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_stop_button_names_its_reminder(bot):
    user, _ = await at(bot, "returns", ["返品の期限を知らせてほしい"])
    await user.pick_date(PICK, "2026-12-19")
    await user.open("reminders")
    assert "1. 返品の期限を止める" in labels(user)
    said = texts(await user.tap("1. 返品の期限を止める"))
    assert "「返品の期限」（期限 12月19日(土)）のお知らせを止めました" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("route_id", "taps", "gloss"),
    [
        ("devices", ["動かない・すぐ落ちる"], "OS（スマホやタブレットを動かす基本のソフト）"),
        ("devices", ["動画が止まる・見られない"], "キャッシュ（表示を速くするために"),
        ("devices", ["直らない（サポートへ）"], "シリアル番号（端末ごとについている製造番号）"),
        ("marketplace", [], "「A-to-z保証」（Amazonが間に入って判断してくれるしくみ）"),
        ("marketplace", [], "Amazon以外の売り手（マーケットプレイス出品者）"),
        ("security", ["リンクはまだ押していない"], "公式のドメイン（メールやサイトの住所にあたる部分）"),
        ("contact", ["電話番号を知りたい"], "IP電話（インターネットを使う電話）"),
        ("prime_cancel", ["電話で解約する", "かける前の準備へ", "かけ方（音声ガイド）へ"],
         "IP電話（インターネットを使う電話）"),
    ],
)
async def test_a_term_is_glossed_where_the_route_first_uses_it(bot, route_id, taps, gloss):
    _, said = await at(bot, route_id, taps)
    assert gloss in said
    term = gloss.split("（")[0].split("「")[-1].rstrip("」")
    assert said.index(term) == said.index(gloss.lstrip("「")), term  # the first use has it


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("route_id", "taps", "times"),
    [
        ("contact", ["電話番号を知りたい", "Amazonから電話をもらう"], 1),
        ("prime_cancel", ["電話で解約する", "かける前の準備へ", "かけ方（音声ガイド）へ"], 1),
        ("prime_cancel", ["ウェブで解約する", "次へ（手順4・5）"], 0),
        ("prime_cancel", ["Amazonから電話をもらう", "パソコンでの頼み方へ"], 0),
        ("billing_after_cancel", [], 0),
        ("marketplace", ["出品者への連絡方法へ"], 0),
        ("devices", ["ログイン・連携できない"], 0),
    ],
)
async def test_the_secrets_warning_is_said_once_where_it_matters(bot, route_id, taps, times):
    _, said = await at(bot, route_id, taps)
    assert said.count(SECRETS_WARNING) == times
