"""Where each tile of the rich menu sits and what a tap on it sends, from `richmenu:` in
`scenarios/system.yaml`. Pure: the drawing and the deploy both read this one plan."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from supportnavi.engine import keys, postback
from supportnavi.engine.content import RichMenuIcon
from supportnavi.engine.limits import RICHMENU_COLUMNS, RICHMENU_ROWS
from supportnavi.engine.scenarios import Scenarios

WIDTH, HEIGHT = 2500, 1686  # LINE's large rich menu
TAB_BAR = 250  # the tab bar's height; the tiles share the rest
NAME_PREFIX = "supportnavi:"  # rich menus whose name starts so are ours (deploy replaces them)
ALIAS_PREFIX = "supportnavi-"
IMAGES = Path(__file__).resolve().parent / "images"


@dataclass(frozen=True)
class Box:
    x: int
    y: int
    width: int
    height: int

    def overlaps(self, other: Box) -> bool:
        return (self.x < other.x + other.width and other.x < self.x + self.width
                and self.y < other.y + other.height and other.y < self.y + self.height)


@dataclass(frozen=True)
class Tile:
    """A tappable tile: it opens a route (or the menu) with the menu button's postback."""

    box: Box
    label: str  # drawn; "\n" breaks the line
    icon: RichMenuIcon
    data: str  # postback data, exactly what the menu's button sends
    display_text: str  # what the chat shows as the person's tap


@dataclass(frozen=True)
class TabArea:
    """A tab in the tab bar: the current one is drawn highlighted and has no action; another
    switches to its rich menu through the alias."""

    box: Box
    label: str
    alias_id: str
    current: bool


@dataclass(frozen=True)
class Menu:
    alias: str  # "procedures"
    name: str  # the rich menu's name on the channel
    alias_id: str  # the rich-menu alias id
    chat_bar: str
    tabs: list[TabArea]
    tiles: list[Tile]

    @property
    def image_file(self) -> str:
        return f"{self.alias}.png"

    def areas(self) -> list[dict[str, Any]]:
        """The rich menu's areas as LINE's API spells them (camelCase, like the spec)."""
        areas: list[dict[str, Any]] = [
            {"bounds": _bounds(tab.box),
             "action": {"type": "richmenuswitch", "richMenuAliasId": tab.alias_id,
                        "data": switch_data(tab.alias_id)}}
            for tab in self.tabs if not tab.current
        ]
        areas += [
            {"bounds": _bounds(tile.box),
             "action": {"type": "postback", "data": tile.data, "displayText": tile.display_text}}
            for tile in self.tiles
        ]
        return areas


def _bounds(box: Box) -> dict[str, int]:
    return {"x": box.x, "y": box.y, "width": box.width, "height": box.height}


def switch_data(alias_id: str) -> str:
    """The postback a tab switch sends along; the webhook reads a tab switch as no input."""
    return postback.encode(postback.Tap(keys.Tab(alias_id)))


def _split(total: int, parts: int) -> list[tuple[int, int]]:
    """(start, size) of `parts` slices covering `total` exactly, the remainder spread."""
    edges = [round(total * i / parts) for i in range(parts + 1)]
    return [(edges[i], edges[i + 1] - edges[i]) for i in range(parts)]


def plan(scenarios: Scenarios) -> list[Menu]:
    """The rich menus, in the order of `richmenu.tabs`; the first is the default."""
    richmenu = scenarios.system.richmenu
    if richmenu is None:
        return []
    tab_slots = _split(WIDTH, len(richmenu.tabs))
    columns = _split(WIDTH, RICHMENU_COLUMNS)
    rows = [(TAB_BAR + y, h) for y, h in _split(HEIGHT - TAB_BAR, RICHMENU_ROWS)]
    menus: list[Menu] = []
    for current in richmenu.tabs:
        tabs = [
            TabArea(Box(x, 0, w, TAB_BAR), tab.label, ALIAS_PREFIX + tab.alias,
                    current=tab.alias == current.alias)
            for tab, (x, w) in zip(richmenu.tabs, tab_slots, strict=True)
        ]
        tiles: list[Tile] = []
        for i, area in enumerate(current.areas):
            (x, w), (y, h) = columns[i % RICHMENU_COLUMNS], rows[i // RICHMENU_COLUMNS]
            tiles.append(Tile(Box(x, y, w, h), area.label, area.icon,
                              data=postback.encode(postback.Tap(area.key)),
                              display_text=_display_text(scenarios, area.route)))
        menus.append(Menu(alias=current.alias, name=NAME_PREFIX + current.alias,
                          alias_id=ALIAS_PREFIX + current.alias, chat_bar=richmenu.chat_bar,
                          tabs=tabs, tiles=tiles))
    return menus


def _display_text(scenarios: Scenarios, route_id: str | None) -> str:
    if route_id is None:
        return scenarios.system.labels.menu
    route = scenarios.routes[route_id]
    return route.menu_label or route.title
