"""The rich menu: its plan from system.yaml, the images, the deploy against the fake LINE API
(twice), and what a tap on it does in the chat."""

from __future__ import annotations

import asyncio
import shutil
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from typer.testing import CliRunner

from supportnavi.cli import app as cli
from supportnavi.engine import keys, load_scenarios, postback
from supportnavi.engine.keys import format_key
from supportnavi.engine.loader import check_scenarios
from supportnavi.line.richmenu import blob_base_url, deploy, request_body
from supportnavi.richmenu import layout
from supportnavi.richmenu.draw import MAX_BYTES
from supportnavi.richmenu.layout import HEIGHT, IMAGES, WIDTH
from supportnavi.settings import Settings
from supportnavi.simulator.fake_line import FakeLine
from tests.conftest import ACCESS_TOKEN, Bot
from tests.support.line_spec import request_errors
from tests.support.line_user import texts

SCENARIOS = Settings().scenarios_dir


@pytest.fixture(scope="module")
def menus() -> list[layout.Menu]:
    return layout.plan(load_scenarios(SCENARIOS))


def test_two_tabs_with_the_issue_s_routes(menus: list[layout.Menu]) -> None:
    found = [[format_key(postback.decode(t.data).key) for t in m.tiles]  # type: ignore[union-attr]
             for m in menus]
    assert found == [
        ["route:prime_cancel", "route:trial_cancel", "route:prime_pause", "route:contact",
         "route:reminders", "action:menu"],
        ["route:delivery", "route:returns", "route:order_cancel", "route:login",
         "route:security", "route:number_check"],
    ]


def test_areas_fit_the_image_and_do_not_overlap(menus: list[layout.Menu]) -> None:
    for menu in menus:
        boxes = [t.box for t in menu.tiles] + [t.box for t in menu.tabs]
        for box in boxes:
            assert box.x >= 0 and box.x + box.width <= WIDTH, box
            assert box.y >= 0 and box.y + box.height <= HEIGHT, box
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                assert not a.overlaps(b), (menu.alias, a, b)
        # together they cover the whole image: no dead strip a thumb could land on
        assert sum(b.width * b.height for b in boxes) == WIDTH * HEIGHT


def test_every_tap_is_what_the_engine_handles_for_a_menu_tap(menus: list[layout.Menu]) -> None:
    scenarios = load_scenarios(SCENARIOS)
    for menu in menus:
        for tile in menu.tiles:
            tap = postback.decode(tile.data)
            assert tap is not None and tap.route is None and tap.node is None
            assert (isinstance(tap.key, keys.Route) and tap.key.route in scenarios.routes) \
                or tap.key == keys.DoAction("menu")
            if isinstance(tap.key, keys.Route):
                assert tile.data == postback.encode(postback.Tap(keys.Route(tap.key.route)))
                assert tile.display_text == scenarios.routes[tap.key.route].menu_label


def test_each_tab_switches_to_the_other(menus: list[layout.Menu]) -> None:
    aliases = {m.alias_id for m in menus}
    for menu in menus:
        switches = [a["action"] for a in menu.areas() if a["action"]["type"] == "richmenuswitch"]
        assert [s["richMenuAliasId"] for s in switches] == sorted(aliases - {menu.alias_id})
        assert all(s["data"] for s in switches)
        assert [t.current for t in menu.tabs].count(True) == 1


def test_the_create_requests_match_line_s_spec(menus: list[layout.Menu]) -> None:
    for menu in menus:
        assert request_errors("POST", "/v2/bot/richmenu", request_body(menu)) == []


def test_blob_calls_follow_the_api_base_url() -> None:
    assert blob_base_url("https://api.line.me") == "https://api-data.line.me"
    assert blob_base_url("https://api.line.me/") == "https://api-data.line.me"
    assert blob_base_url("http://127.0.0.1:9999") == "http://127.0.0.1:9999"


# --- the images ---------------------------------------------------------------------------------


def test_build_draws_each_menu_in_size_and_under_a_megabyte(tmp_path: Path,
                                                            menus: list[layout.Menu]) -> None:
    result = CliRunner().invoke(cli, ["richmenu", "build", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for menu in menus:
        path = tmp_path / menu.image_file
        assert path.stat().st_size < MAX_BYTES
        with Image.open(path) as image:
            assert image.format == "PNG" and image.size == (WIDTH, HEIGHT)
            # the committed image is this build's: deploy uploads what the YAML says
            with Image.open(IMAGES / menu.image_file) as committed:
                assert committed.size == image.size
                diff = ImageChops.difference(committed.convert("RGB"), image.convert("RGB"))
                assert diff.getbbox() is None, (
                    f"{menu.image_file} is stale: run `supportnavi richmenu build` and commit")
        assert (IMAGES / menu.image_file).stat().st_size < MAX_BYTES


def test_the_current_tab_is_drawn_dark_and_the_other_light(menus: list[layout.Menu]) -> None:
    for menu in menus:
        with Image.open(IMAGES / menu.image_file) as image:
            rgb = image.convert("RGB")
            for tab in menu.tabs:
                corner = rgb.getpixel((tab.box.x + 20, tab.box.y + 20))
                assert isinstance(corner, tuple)
                assert (sum(corner[:3]) < 300) == tab.current, (menu.alias, tab.label, corner)


# --- the loader's checks ------------------------------------------------------------------------


def _with_system(tmp_path: Path, old: str, new: str) -> list[str]:
    directory = tmp_path / "scenarios"
    shutil.copytree(SCENARIOS, directory)
    system = directory / "system.yaml"
    text = system.read_text(encoding="utf-8")
    assert old in text
    system.write_text(text.replace(old, new, 1), encoding="utf-8")
    _, errors = check_scenarios(directory)
    return [e.message for e in errors]


def test_lint_rejects_an_area_to_a_missing_route(tmp_path: Path) -> None:
    errors = _with_system(tmp_path, "{route: login,", "{route: log_in,")
    assert any("opens route 'log_in', which does not exist" in e for e in errors), errors


def test_lint_rejects_a_label_too_long_for_a_tile(tmp_path: Path) -> None:
    errors = _with_system(tmp_path, 'label: "怪しい\\nメール"', 'label: "怪しいメールが来た"')
    assert any("does not fit a tile" in e for e in errors), errors


def test_lint_rejects_an_unknown_icon_and_a_seventh_tile(tmp_path: Path) -> None:
    errors = _with_system(tmp_path, "icon: shield}", "icon: skull}")
    assert any("icon" in e for e in errors), errors
    errors = _with_system(
        tmp_path / "b", "{route: number_check,",
        "{route: marketplace, label: \"出品者\", icon: list}\n        - {route: number_check,")
    assert any("areas" in e for e in errors), errors


# --- deploy against the fake LINE API -----------------------------------------------------------


async def test_deploy_twice_leaves_one_set(fake_line: tuple[FakeLine, str],
                                           menus: list[layout.Menu]) -> None:
    fake, url = fake_line
    state = fake.richmenus
    first = await deploy(menus, IMAGES, url, ACCESS_TOKEN)
    second = await deploy(menus, IMAGES, url, ACCESS_TOKEN)

    assert first.deleted == [] and sorted(second.deleted) == sorted(first.menus.values())
    assert sorted(state.menus) == sorted(second.menus.values())  # one set, the new one
    assert state.aliases == second.menus  # each alias points at its tab's current menu
    assert state.default == second.menus["supportnavi-procedures"] == second.default
    for menu in menus:
        menu_id = second.menus[menu.alias_id]
        assert state.menus[menu_id]["name"] == menu.name
        assert state.menus[menu_id]["areas"] == menu.areas()
        assert state.images[menu_id] == ("image/png", (IMAGES / menu.image_file).read_bytes())
        # the tab switch leads to a menu that exists
        for area in state.menus[menu_id]["areas"]:
            if area["action"]["type"] == "richmenuswitch":
                assert state.aliases[area["action"]["richMenuAliasId"]] in state.menus

    richmenu = [r for r in fake.records if "/richmenu" in r.path]
    assert {(r.method, r.path.rsplit("/", 1)[-1]) for r in richmenu} >= {
        ("POST", "richmenu"), ("POST", "content"), ("POST", "alias"), ("DELETE", first.default)}
    for r in richmenu:
        assert request_errors(r.method, r.path, r.body) == [], (r.method, r.path)
        assert r.authorization == f"Bearer {ACCESS_TOKEN}"


async def test_deploy_keeps_menus_that_are_not_ours(fake_line: tuple[FakeLine, str],
                                                    menus: list[layout.Menu]) -> None:
    fake, url = fake_line
    fake.richmenus.menus["richmenu-theirs"] = {
        "richMenuId": "richmenu-theirs", "name": "campaign", "chatBarText": "sale",
        "selected": False, "size": {"width": 2500, "height": 843}, "areas": []}
    fake.richmenus.aliases["supportnavi-trouble"] = "richmenu-theirs"  # a leftover alias
    done = await deploy(menus, IMAGES, url, ACCESS_TOKEN)
    assert "richmenu-theirs" in fake.richmenus.menus
    assert fake.richmenus.aliases["supportnavi-trouble"] == done.menus["supportnavi-trouble"]


async def test_the_deploy_command_against_the_fake(fake_line: tuple[FakeLine, str]) -> None:
    fake, url = fake_line
    env = {"LINE_API_BASE_URL": url, "LINE_CHANNEL_ACCESS_TOKEN": ACCESS_TOKEN,
           "LINE_CHANNEL_SECRET": "x", "PATH": "/usr/bin:/bin"}
    for _ in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "supportnavi", "richmenu", "deploy", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
    assert b"(default)" in out and b"deleted 2" in out
    assert len(fake.richmenus.menus) == 2 and len(fake.richmenus.aliases) == 2


# --- a tap in the chat --------------------------------------------------------------------------


async def test_a_rich_menu_tap_opens_its_route(bot: Bot, menus: list[layout.Menu]) -> None:
    trouble = menus[1]
    check = next(t for t in trouble.tiles if t.data.endswith("number_check"))
    user = bot.user()
    await user.say(user.follow())
    from_menu = texts(await user.open("number_check"))
    tapped = bot.user()
    await tapped.say(tapped.follow())
    assert texts(await tapped.say(tapped.postback(check.data))) == from_menu

    other = next(t for t in menus[0].tiles if postback.decode(t.data).key == keys.DoAction("menu"))  # type: ignore[union-attr]
    said = texts(await tapped.say(tapped.postback(other.data)))
    assert "1." in said  # the numbered menu


async def test_a_tab_switch_gets_no_answer(bot: Bot, menus: list[layout.Menu]) -> None:
    user = bot.user()
    await user.say(user.follow())
    switch = next(a["action"] for a in menus[0].areas() if a["action"]["type"] == "richmenuswitch")
    event = user.postback(switch["data"], newRichMenuAliasId=switch["richMenuAliasId"],
                          status="SUCCESS")
    await user.send(event)
    await user.say(user.text("メニュー"))  # handled after the switch: its answer came
    assert not [r for r in bot.fake.records if r.path.endswith("/reply")
                and r.body.get("replyToken") == event["replyToken"]]
