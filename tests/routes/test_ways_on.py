"""Issue 17, points 2, 3 and 5, through the real webhook: no circle for people who cannot sign
in, no dead end after 「いいえ、まだ」, the refund for the already-cancelled, resuming Prime, a
found parcel, informational ends, and what the guides have that the bot lacked (Prime's fee, the
account's payment method and e-mail address, a missed-delivery slip), typed and tapped."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.line_user import LineUser, opened, texts, walk

SOLVED = "解決しましたか？"


def labels(user: LineUser) -> list[str]:
    return [item["action"]["label"] for item in user.last_quick_replies]


async def typed(bot: Any, text: str) -> tuple[LineUser, str]:
    """A new friend who types `text` at the menu, and what the bot said."""
    user = bot.user()
    await user.say(user.follow())
    return user, texts(await user.say(user.text(text)))


# --- point 3: dead ends and circles --------------------------------------------------------


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_contact_not_solved_offers_other_ways_the_reminder_and_what_next(bot):
    user, _ = await opened(bot, "contact")
    said = await walk(user, ["急ぎではない（メール）", "相談できた"])
    assert SOLVED in said
    said = await walk(user, ["いいえ、まだ"])
    # not "contact the window" again: they just did
    assert "問い合わせ窓口に相談するか" not in said
    assert "別の方法で相談し直す" in said and "48時間" in said
    assert "前に相談した日時と、言われたこと" in said
    shown = labels(user)
    for way in ["チャットで相談する", "Amazonから電話をもらう", "メールで問い合わせる",
                "返事がないとき知らせて"]:
        assert way in shown, shown
    assert "問い合わせ方法を見る" not in shown  # no circle back to where they are
    said = await walk(user, ["返事がないとき知らせて"])
    assert "送った日を教えてください" in said
    # 「いいえ」 typed reads the same
    user, _ = await opened(bot, "contact")
    await walk(user, ["急ぎではない（メール）", "相談できた"])
    assert "別の方法で相談し直す" in texts(await user.say(user.text("いいえ")))


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_another_routes_end_still_offers_contact_after_not_solved(bot):
    user, _ = await opened(bot, "prime_pause")
    await walk(user, ["ウェブで一時停止する", "止められた（確認へ）"])
    said = await walk(user, ["いいえ、まだ"])
    assert "問い合わせ窓口に相談するか" in said and "問い合わせ方法を見る" in labels(user)
