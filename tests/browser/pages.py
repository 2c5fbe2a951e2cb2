"""The two pages as a person uses them, shared by the browser tests: the simulator's chat
(`Chat`) and the dashboard's login and numbers."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml
from playwright.sync_api import expect

from supportnavi.settings import REPO_ROOT

SCENARIOS = REPO_ROOT / "scenarios"
AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TOKYO = ZoneInfo("Asia/Tokyo")
PICK = "日付を選ぶ（カレンダー）"


def _yaml(name: str) -> Any:
    return yaml.safe_load((SCENARIOS / name).read_text(encoding="utf-8"))


def phone_number_of_the_phone_step() -> str:
    """The number prime_cancel's phone step states: the phone fact its text names."""
    text = " ".join(_yaml("prime_cancel.yaml")["nodes"]["phone_1"]["say"])
    facts = _yaml("facts.yaml")
    numbers = [facts[key]["value"] for key in re.findall(r"\{\{(\w+)", text)
               if facts.get(key, {}).get("kind") == "phone"]
    assert len(numbers) == 1, numbers
    return str(numbers[0])


class Chat:
    """The page as a person uses it."""

    def __init__(self, page: Any, server: Any) -> None:
        self.page = page
        self.server = server
        self.requested: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))

    def open(self) -> Chat:
        self.page.goto(f"{self.server.url}/simulator")
        expect(self.page.locator("body")).to_have_attribute("data-ready", "true")
        expect(self.page.locator("#log .empty")).to_be_visible()
        return self

    @property
    def log(self) -> Any:
        return self.page.locator("#log")

    def bot_rows(self) -> Any:
        return self.page.locator("#log .row.bot")

    def chip(self, label: str) -> Any:
        return self.page.locator("#quick").get_by_role("button", name=label, exact=True)

    def said(self, text: str) -> None:
        """Wait until the bot's latest bubbles contain `text`."""
        expect(self.bot_rows().filter(has_text=text).last).to_be_visible()

    def last_said(self) -> str:
        return str(self.bot_rows().last.inner_text())

    def tap(self, label: str, then: str) -> None:
        self.chip(label).click()
        self.said(then)

    def follow(self) -> None:
        self.page.get_by_role("button", name="フォロー", exact=True).click()
        self.said("友だち追加ありがとうございます")
        expect(self.chip("プライム会員をやめる")).to_be_visible()

    def type(self, text: str) -> None:
        if not self.page.locator("#composer").is_visible():
            self.page.get_by_role("button", name="キーボードに切り替え").click()
        self.page.get_by_label("メッセージ").fill(text)
        self.page.get_by_role("button", name="送信").click()

    def user_id(self) -> str:
        return str(self.page.locator("#user-select").input_value())

    def shown_menu(self) -> Any:
        return self.page.locator("#richmenu .rm-frame:visible")


def admin_summary(server: Any) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/admin/api/summary", timeout=15,
                       headers={"Authorization": f"Bearer {server.admin_token}"})
    answer.raise_for_status()
    return answer.json()  # type: ignore[no-any-return]


def funnel(data: dict[str, Any], route: str) -> dict[str, Any]:
    return next(f for f in data["funnels"] if f["route"] == route)


def log_in(page: Any, server: Any) -> None:
    """/admin without the token is the 401 login page; the form lets the operator in."""
    answer = page.goto(f"{server.url}/admin")
    assert answer.status == 401
    assert page.get_by_role("heading", name="ログインが必要です").is_visible()
    page.get_by_label("トークン").fill(server.admin_token)
    with page.expect_navigation():
        page.get_by_role("button", name="ログイン").click()
    assert page.url == f"{server.url}/admin"
