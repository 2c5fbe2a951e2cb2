"""Transcripts of the account routes: login (cannot sign in), security (suspicious mail, a
hijacked account) and devices (Kindle, Fire TV and the apps), each walked to an end through the
real webhook path, with the facts and warnings a person must be shown."""

from __future__ import annotations

import pytest

from tests.support.line_user import opened, texts, walk


def _labels(user) -> list[str]:
    return [item["action"]["label"] for item in user.last_quick_replies]


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_login_forgot_password_walk(bot):
    user, said = await opened(bot, "login")
    assert "パスワードや確認コードをお聞きすることはありません" in said
    said += await walk(user, ["パスワードを忘れた", "ログインできた"])
    assert "「パスワードを忘れた場合」" in said
    assert "「パスワードを忘れた方はこちら」" in said  # 004 names the link both ways
    assert "amazon.co.jp" in said and "リンクからは始めないで" in said
    assert "確認コードは、自分でAmazonの画面に入れるためのもの" in said  # not for anyone
    assert "2段階認証" in said and "解決しましたか？" in said
    done = await user.tap("はい、解決した")
    assert "よかった" in texts(done)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_login_no_access_and_what_to_prepare(bot):
    user, _ = await opened(bot, "login")
    said = await walk(user, ["メールも電話も使えない"])
    assert "「カスタマーサービスへ」" in said and "「アカウントにアクセスできません」" in said
    assert "ログインせずに相談する" in _labels(user)  # not the contact route: sign-in first
    assert "問い合わせ方法を見る" not in _labels(user)
    said = await walk(user, ["用意するものを見る"])
    for item in ["登録したメールアドレスか電話番号", "フルネーム", "最近の注文", "身分証明書"]:
        assert item in said, item
    assert "このトークには送らないでください" in said  # the ID document is not for this chat
    # what is never part of the preparation
    assert "伝えるものではありません" not in said  # the warning is on login's first screen
    said = await walk(user, ["ログインできた"])
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_login_locked_account(bot):
    user, _ = await opened(bot, "login")
    said = await walk(user, ["ロック・本人確認が出た"])
    assert "本人確認" in said and "身分証明書" in said
    assert "リンクは押さないでください" in said
    assert "Amazonの画面にだけ" in said
    assert "確認コードを" not in said  # the warning is on login's first screen, once
    said += await walk(user, ["進まない（問い合わせへ）", "用意するものを見る", "ログインできた"])
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_login_code_does_not_arrive(bot):
    user, _ = await opened(bot, "login")
    said = await walk(user, ["パスワードを忘れた", "コードが届かない"])
    assert "迷惑メール" in said
    said = await walk(user, ["メールも電話も使えない"])
    assert "カスタマーサービス" in said


# --- security ---------------------------------------------------------------------------------

SECURITY_TAPPED = [
    "押した・入力してしまった",
    "1. パスワードを変える",
    "次へ（2. Amazonに知らせる）",
    "次へ（3. 認証の設定）",
    "次へ（4. 端末の確認）",
    "次へ（5. 注文の確認）",
    "次へ（6. 報告）",
    "報告した",
]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_after_tapping_a_link_walk(bot):
    user, said = await opened(bot, "security")
    assert "パスワードや確認コードは、誰に聞かれても教えないでください" in said
    assert "本物のAmazonも" not in said  # no guide says Amazon never asks
    assert "電話番号を確かめる" in _labels(user)  # route: number_check
    said += await walk(user, SECURITY_TAPPED)
    assert "2段階認証" in said
    assert "ほかのサイトと同じにしないで" in said
    assert "サインアウト" in said  # signed-in devices
    assert "注文履歴" in said and "キャンセル" in said
    assert "Amazonのカスタマーサービス" in said  # where 003 and 004 say to report phishing
    assert "絶対に教えないでください" in said  # codes are never given
    # tell Amazon early, as 002 and 004 say, and without giving any secret
    assert said.index("2. Amazonにすぐ知らせる") < said.index("3. 「2段階認証」をオンにする")
    assert "「アカウントに関する問題」" in said and "「不正アクセスの疑いがある」" in said
    assert "伝えるのは、起きたことだけです" in said
    assert "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_unknown_orders_lead_to_order_cancel(bot):
    user, _ = await opened(bot, "security")
    said = await walk(user, ["覚えのない注文がある"])
    assert "パスワードを変える" in said and "注文履歴" in said and "キャンセル" in said
    assert "注文キャンセルの手順へ" in _labels(user)  # route: order_cancel
    await walk(user, ["戻る", "押した・入力してしまった", "1. パスワードを変える",
                       "次へ（2. Amazonに知らせる）", "次へ（3. 認証の設定）",
                       "次へ（4. 端末の確認）", "次へ（5. 注文の確認）"])
    assert "注文キャンセルの手順へ" in _labels(user)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_how_to_spot_a_fake_mail(bot):
    user, _ = await opened(bot, "security")
    said = await walk(user, ["リンクはまだ押していない"])
    assert "リンクは押さないでください" in said
    assert "本物そっくりのロゴ" in said  # 004's sign
    assert "amazon.co.jp" in said and "amazon.com" in said
    said += await walk(user, ["本物か確かめる方法へ"])
    assert "自分で入力した amazon.co.jp" in said and "解決しましたか？" in said


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_codes_are_never_given(bot):
    user, _ = await opened(bot, "security")
    said = await walk(user, ["コードを聞かれた"])
    # what 002 and 004 say, not that Amazon never asks
    assert "怪しい相手に、パスワードやカードの情報を教えたり入力したりしない" in said
    assert "本物のAmazonは聞きません" not in said and "このボットも聞きません" in said
    assert "教えないでください" in said
    assert "相手の番号を確かめる" in _labels(user)  # route: number_check


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_security_send_it_back_to_china(bot):
    user, _ = await opened(bot, "security")
    said = await walk(user, ["中国へ返送と言われた"])
    assert "中国" in said and "送らないでください" in said
    assert "相手の名前" in said  # keep a record, as 003 says
    assert "解決しましたか？" in said


# --- devices ----------------------------------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_devices_restart_then_support_to_repair_walk(bot):
    user, said = await opened(bot, "devices")
    assert "Kindle" in said and "Fire TV" in said
    said += await walk(user, ["動かない・すぐ落ちる", "直らない（サポートへ）",
                               "シリアル番号について", "修理・交換の流れを見る"])
    assert "再起動" in said and "入れ直す" in said
    # only what 004 says: keep the serial number at hand; no guide says where it is printed
    assert "シリアル番号（端末ごとについている製造番号）" in said and "ガイドには載っていません" in said
    assert "箱のラベル" not in said and "電源を抜いて" not in said
    assert "チャットは24時間" in said
    assert "保証期間" in said and "修理" in said and "交換" in said
    assert "解決しましたか？" in said
    assert "問い合わせページ（ブラウザ）" in _labels(user)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("symptom", "expected"),
    [
        ("買った本や動画が出ない", ["注文履歴", "注文の内容", "サポートに連絡"]),  # 004 L246
        ("ログイン・連携できない", ["サインアウト", "連携の設定"]),
        ("動画が止まる・見られない", ["Wi-Fi", "キャッシュ", "サインイン"]),
    ],
)
async def test_devices_troubleshooting_table(bot, symptom, expected):
    user, _ = await opened(bot, "devices")
    said = await walk(user, [symptom])
    for word in expected:
        assert word in said, word
    said += await walk(user, ["直った"])
    assert "解決しましたか？" in said
