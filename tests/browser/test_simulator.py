"""The /simulator page in Chromium on a phone-sized screen, against `supportnavi serve` in
simulator mode: a person follows, taps and types through routes, switches the rich menu's
tab, picks a date, gets a pushed reminder without a reload, blocks and comes back, and
switches to another LINE user. axe-core checks the page for serious accessibility faults.

`SUPPORTNAVI_SCREENSHOTS=docs/screenshots pytest tests/browser -k screenshot` also saves the
README's pictures (they need a Japanese font: `apt-get install fonts-noto-cjk`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from supportnavi.settings import REPO_ROOT
from tests.browser.pages import (
    AXE,
    PICK,
    TOKYO,
    Chat,
    _yaml,
    phone_number_of_the_phone_step,
)

pytestmark = pytest.mark.browser

@pytest.fixture
def chat(phone: Any, sim_server: Any) -> Chat:
    return Chat(phone, sim_server).open()


def test_follow_greets_and_shows_the_menu_as_chips(chat):
    chat.follow()
    greeting = _yaml("system.yaml")["texts"]["greeting"]
    for bubble in greeting:
        expect(chat.log).to_contain_text(bubble.split("\n")[0])
    expect(chat.page.locator(".note[data-kind=follow]")).to_have_text("友だち追加しました")
    chips = chat.page.locator("#quick .chip")
    assert chips.count() >= 8
    # the row scrolls sideways, as LINE's does, instead of wrapping or squeezing
    width = chat.page.evaluate("() => { const q = document.getElementById('quick');"
                               " return [q.scrollWidth, q.clientWidth]; }")
    assert width[0] > width[1]
    assert chat.page.evaluate("() => document.documentElement.scrollWidth") <= 390


def test_prime_cancel_by_phone_to_its_end(chat):
    number = phone_number_of_the_phone_step()
    chat.follow()
    chat.tap("プライム会員をやめる", "どの方法で進めますか")
    chat.tap("電話で解約する", "【電話で解約】")
    expect(chat.bot_rows().filter(has_text=number).last).to_be_visible()
    chat.tap("かける前の準備へ", "手元に用意するもの")
    chat.tap("かけ方（音声ガイド）へ", number)
    chat.tap("解約できた", "おつかれさまでした")
    chat.said("解決しましたか？")
    expect(chat.chip("はい、解決した")).to_be_visible()
    # the person's taps are their bubbles, on the right, in order
    mine = chat.page.locator("#log .row.me .bubble")
    expect(mine).to_have_text([re.compile(label) for label in [
        "プライム会員をやめる", "電話で解約する", "かける前の準備へ", "かけ方（音声ガイド）へ",
        "解約できた"]])
    # text keeps its line breaks
    bubble = chat.bot_rows().filter(has_text="かける前に手元に用意するもの").first
    assert "\n1. 登録したメールアドレス" in bubble.inner_text()


def test_back_by_the_chip_and_by_typing(chat):
    chat.follow()
    chat.tap("プライム会員をやめる", "どの方法で進めますか")
    chat.tap("電話で解約する", "【電話で解約】")
    chat.chip("戻る").click()
    expect(chat.bot_rows().last).to_contain_text("どの方法で進めますか")
    chat.tap("電話で解約する", "【電話で解約】")
    chat.type("戻る")
    expect(chat.page.locator("#log .row.me").last).to_have_text(re.compile("戻る"))
    expect(chat.bot_rows().last).to_contain_text("どの方法で進めますか")
    expect(chat.chip("電話で解約する")).to_be_visible()


def test_the_rich_menu_switches_tabs_and_its_tiles_tap(chat, sim_server):
    chat.follow()
    menu = chat.shown_menu()
    expect(menu.locator("img")).to_have_attribute("src", re.compile(r"procedures\.png$"))
    expect(menu.locator("img")).to_have_attribute("alt", re.compile("手続き"))
    chat.page.locator("#richmenu").get_by_role("button", name="トラブル", exact=True).click()
    expect(menu.locator("img")).to_have_attribute("src", re.compile(r"trouble\.png$"))
    expect(chat.page.locator("#richmenu .rm-frame[data-alias=supportnavi-procedures]")) \
        .to_be_hidden()
    users = httpx.get(f"{sim_server.url}/simulator/api/users").json()["users"]
    assert {u["id"]: u["richmenu"] for u in users}[chat.user_id()] == "supportnavi-trouble"
    # a tile sends its postback and shows its displayText as the person's bubble
    label = _yaml("delivery.yaml")["menu_label"]
    rows_before = chat.bot_rows().count()
    chat.page.locator("#richmenu").get_by_role("button", name="荷物が届かない").click()
    expect(chat.page.locator("#log .row.me").last).to_have_text(re.compile(label))
    expect(chat.bot_rows()).not_to_have_count(rows_before)
    expect(chat.bot_rows().last).to_contain_text("荷物")
    # and back: the procedures tab again
    chat.page.locator("#richmenu").get_by_role("button", name="手続き", exact=True).click()
    expect(menu.locator("img")).to_have_attribute("src", re.compile(r"procedures\.png$"))
    # the chat bar hides and shows the menu
    bar = chat.page.locator("#menu-bar").get_by_role(
        "button", name=_yaml("system.yaml")["richmenu"]["chat_bar"])
    bar.click()
    expect(bar).to_have_attribute("aria-expanded", "false")
    expect(chat.page.locator("#richmenu")).to_be_hidden()
    bar.click()
    expect(chat.page.locator("#richmenu")).to_be_visible()


def test_a_picked_date_is_confirmed_and_its_push_arrives_without_a_reload(chat, sim_server):
    chat.follow()
    chat.tap("無料体験をやめる", "無料体験")
    chat.tap("終了日の調べ方へ", "【終了日の調べ方】")
    chat.tap("期限の前に知らせてほしい", "終わる日を教えてください")
    chat.chip(PICK).click()
    dialog = chat.page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    picker = dialog.get_by_label("日付")
    today = datetime.now(TOKYO).date()
    low = picker.get_attribute("min")
    assert low is not None and picker.get_attribute("max")
    assert abs((datetime.fromisoformat(low).date() - today).days) <= 1
    # a day the picker does not offer is refused on the page, and nothing is sent
    picker.fill((datetime.fromisoformat(low) - timedelta(days=1)).date().isoformat())
    dialog.get_by_role("button", name="決定").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    deadline = today + timedelta(days=30)
    picker.fill(deadline.isoformat())
    dialog.get_by_role("button", name="決定").click()
    expect(dialog).to_be_hidden()
    chat.said("このトークでお知らせします")
    chat.said(f"{deadline.month}月{deadline.day}日")

    chat.page.evaluate("() => { window.stillTheSamePage = true; }")
    push_at = f"{(deadline - timedelta(days=3)).isoformat()}T09:00+09:00"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SUPPORTNAVI_"))}
    env.update(DATABASE_URL=sim_server.database_url, SUPPORTNAVI_SIMULATOR="true",
               LINE_API_BASE_URL=f"{sim_server.url}/_fake_line")
    done = subprocess.run(
        [sys.executable, "-m", "supportnavi", "reminders", "dispatch", "--once", "--now",
         push_at], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    push = chat.page.locator("#log .row.bot[data-via=push]")
    expect(push.first).to_contain_text("【リマインダー】", timeout=20_000)
    expect(chat.chip("このリマインダーを止める")).to_be_visible()
    assert chat.page.evaluate("() => window.stillTheSamePage") is True


def test_block_then_follow_again(chat):
    chat.follow()
    chat.page.get_by_role("button", name="ブロック", exact=True).click()
    expect(chat.page.locator(".note[data-kind=unfollow]")).to_have_text("ブロックしました")
    expect(chat.page.locator("#blocked")).to_be_visible()
    expect(chat.page.locator("#quick")).to_be_hidden()
    expect(chat.page.locator("#richmenu")).to_be_hidden()
    rows = chat.bot_rows().count()
    chat.page.get_by_role("button", name="フォロー", exact=True).click()
    expect(chat.page.locator(".note[data-kind=follow]").last).to_have_text("ブロックを解除しました")
    expect(chat.bot_rows()).not_to_have_count(rows)
    expect(chat.page.locator("#blocked")).to_be_hidden()
    expect(chat.page.locator("#richmenu")).to_be_visible()
    expect(chat.page.get_by_role("button", name="フォロー", exact=True)).to_be_disabled()


def test_another_user_starts_with_an_empty_chat(chat):
    chat.follow()
    first = chat.user_id()
    chat.page.get_by_role("button", name="新規").click()
    expect(chat.page.locator("#log .empty")).to_be_visible()
    expect(chat.page.locator("#log .row")).to_have_count(0)
    assert chat.user_id() != first
    expect(chat.page.get_by_role("button", name="フォロー", exact=True)).to_be_enabled()
    chat.follow()  # the new person's own greeting
    second = chat.user_id()
    chat.page.get_by_label("ユーザー").select_option(first)
    expect(chat.page.locator("#log .row.bot").first).to_contain_text("友だち追加ありがとう")
    expect(chat.page.locator(".note")).to_have_count(1)
    chat.page.get_by_label("ユーザー").select_option(second)
    expect(chat.page.locator(".note")).to_have_count(1)
    # and the page remembers whom it acts as
    chat.page.reload()
    expect(chat.page.locator("body")).to_have_attribute("data-ready", "true")
    assert chat.user_id() == second


def test_a_hidden_page_stops_asking(chat):
    polls: list[str] = []
    chat.page.on("request", lambda r: polls.append(r.url) if "/api/messages" in r.url else None)
    chat.page.wait_for_timeout(2500)
    assert len(polls) >= 1
    chat.page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {value: true, configurable: true});
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    chat.page.wait_for_timeout(300)  # a request already on its way may still land
    polls.clear()
    chat.page.wait_for_timeout(3000)
    assert polls == []
    chat.page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {value: false, configurable: true});
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    chat.page.wait_for_timeout(1500)
    assert len(polls) >= 1


def test_a_link_chip_opens_a_new_tab_and_nothing_comes_from_elsewhere(chat, sim_server):
    chat.follow()
    chat.tap("プライム会員をやめる", "どの方法で進めますか")
    chat.tap("Amazonから電話をもらう", "【Amazonから電話をもらう】")
    chat.tap("パソコンでの頼み方へ", "【パソコンで頼む】")
    link = chat.page.locator("#quick").get_by_role("link", name="問い合わせページ（ブラウザ）")
    contact = _yaml("facts.yaml")["contact_url"]["value"]
    expect(link).to_have_attribute("href", re.compile("^" + re.escape(contact)))
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", re.compile("noopener"))
    elsewhere = [u for u in chat.requested if not u.startswith(sim_server.url)]
    assert elsewhere == []


def test_the_keyboard_alone_can_chat(chat):
    page = chat.page
    page.locator("#follow").focus()
    page.keyboard.press("Enter")
    chat.said("友だち追加ありがとうございます")
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.classList.contains('chip')"):
            break
    assert page.evaluate("() => document.activeElement.textContent") == "プライム会員をやめる"
    page.keyboard.press("Enter")
    chat.said("どの方法で進めますか")
    page.locator("#richmenu").get_by_role("button", name="トラブル", exact=True).focus()
    page.keyboard.press(" ")
    expect(chat.shown_menu().locator("img")).to_have_attribute("src", re.compile("trouble"))
    chat.page.get_by_role("button", name="キーボードに切り替え").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("メッセージ")).to_be_focused()
    page.keyboard.type("メニュー")
    page.keyboard.press("Enter")
    chat.said("何についてご案内しましょうか")


def _axe(page: Any) -> list[dict[str, Any]]:
    result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]]}
        for v in result["violations"] if v["impact"] in ("serious", "critical")
    ]


def test_axe_finds_no_serious_accessibility_fault(phone, sim_server):
    # added before the page's scripts, so the page's own script policy does not apply to it
    phone.context.add_init_script(path=str(AXE))
    chat = Chat(phone, sim_server).open()
    assert _axe(phone) == [], "the empty chat"
    chat.follow()
    chat.tap("無料体験をやめる", "無料体験")
    assert _axe(phone) == [], "a chat with bubbles, chips and the rich menu"
    chat.tap("終了日の調べ方へ", "【終了日の調べ方】")
    chat.tap("期限の前に知らせてほしい", "終わる日を教えてください")
    chat.chip(PICK).click()
    assert _axe(phone) == [], "the date picker"
    phone.keyboard.press("Escape")
    expect(phone.get_by_role("dialog")).to_be_hidden()
    chat.type("こんにちは")
    chat.said("supportnavi（サポートナビ）です")
    assert _axe(phone) == [], "the keyboard"
    phone.get_by_role("button", name="ブロック", exact=True).click()
    expect(phone.locator("#blocked")).to_be_visible()
    assert _axe(phone) == [], "blocked"


def test_screenshot_the_page_at_phone_and_desktop_width(phone, desktop, sim_server):
    target = os.environ.get("SUPPORTNAVI_SCREENSHOTS")
    if not target:
        pytest.skip("set SUPPORTNAVI_SCREENSHOTS=docs/screenshots to save the README's pictures")
    folder = Path(target) if Path(target).is_absolute() else REPO_ROOT / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, page in (("phone", phone), ("desktop", desktop)):
        chat = Chat(page, sim_server).open()
        chat.follow()
        chat.tap("プライム会員をやめる", "どの方法で進めますか")
        chat.tap("電話で解約する", "【電話で解約】")
        page.wait_for_timeout(300)  # the last image and scroll settle
        page.screenshot(path=str(folder / f"simulator-{name}.png"))
