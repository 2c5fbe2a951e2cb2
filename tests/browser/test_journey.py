"""Issue 6's journey, in one browser, as an evaluator would walk it: open /simulator, follow,
tap through prime_cancel by phone to its end (its number on the page), go back, switch the rich
menu's tab; then open /admin, meet the 401 login page, log in, and find that very conversation
in prime_cancel's funnel and on its state machine."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.pages import Chat, admin_summary, funnel, log_in, phone_number_of_the_phone_step

pytestmark = pytest.mark.browser


def test_a_conversation_in_the_simulator_is_in_the_dashboards_funnel(
    sim_server: Any, phone: Any
) -> None:
    before = funnel(admin_summary(sim_server), "prime_cancel")
    visits_before = {n["node"]: n["visits"] for n in before["nodes"]}
    number = phone_number_of_the_phone_step()

    chat = Chat(phone, sim_server).open()
    chat.follow()
    chat.tap("プライム会員をやめる", "どの方法で進めますか")
    chat.tap("電話で解約する", "【電話で解約】")
    expect(chat.bot_rows().filter(has_text=number).last).to_be_visible()
    chat.chip("戻る").click()  # the back command, and forward again
    expect(chat.bot_rows().last).to_contain_text("どの方法で進めますか")
    chat.tap("電話で解約する", "【電話で解約】")
    chat.tap("かける前の準備へ", "手元に用意するもの")
    chat.tap("かけ方（音声ガイド）へ", number)
    chat.tap("解約できた", "解決しましたか？")

    menu = chat.shown_menu()
    expect(menu.locator("img")).to_have_attribute("src", re.compile(r"procedures\.png$"))
    chat.page.get_by_role("button", name=re.compile("トラブル")).first.click()
    expect(chat.shown_menu().locator("img")).to_have_attribute(
        "src", re.compile(r"trouble\.png$"))

    # the same browser, now as the operator
    page = phone.context.new_page()
    log_in(page, sim_server)  # 401 and the login form first
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="プライム会員の解約"))
    cells = [c.strip() for c in row.get_by_role("cell").all_inner_texts()]
    assert cells[:2] == [str(before["started"] + 1), str(before["reached_end"] + 1)]
    page.get_by_role("link", name="プライム会員の解約").click()
    graph = page.locator(".graph svg")
    # phone_1 was seen twice in this one visit (back, then forward): a visit counts once
    for node in ("start", "phone_1", "phone_2", "phone_3", "after"):
        badge = graph.locator(f'g[data-node="{node}"] g.count text')
        assert badge.text_content() == str(visits_before[node] + 1), node
    page.close()
