"""Draws the rich-menu images with Pillow and the Noto Sans CJK JP Bold font from its wheel.

Only `supportnavi richmenu build` needs this (and Pillow and the font): the built images are
committed, so deploying needs neither. People read these on a phone, often without ease with
apps: large bold text, dark on light, one simple icon per tile, the current tab filled.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from supportnavi.richmenu.layout import HEIGHT, WIDTH, Box, Menu, TabArea, Tile

FONT_PACKAGE = "noto_cjk_sans_jp_bold"
FONT_FILE = "NotoSansCJKjp-Bold.otf"
MAX_BYTES = 1_000_000  # LINE's limit for a rich-menu image

INK = (25, 25, 25)
PAPER = (255, 255, 255)
GAP = (200, 200, 200)  # the lines between tiles
TAB_ON = (18, 64, 122)  # the current tab: white on dark blue
TAB_OFF = (226, 230, 236)
TAB_OFF_INK = (60, 60, 60)
# each tab's tiles get one accent, so the two menus tell apart at a glance
ACCENTS = [(18, 64, 122), (176, 52, 20)]
TINTS = [(226, 236, 248), (252, 232, 222)]

Font = ImageFont.FreeTypeFont
Draw = ImageDraw.ImageDraw


def font(size: int) -> Font:
    path = resources.files(FONT_PACKAGE).joinpath(FONT_FILE)
    with path.open("rb") as f:
        return ImageFont.truetype(io.BytesIO(f.read()), size)


def render(menu: Menu, index: int) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    accent, tint = ACCENTS[index % len(ACCENTS)], TINTS[index % len(TINTS)]
    tab_font, label_font = font(118), font(104)
    for tab in menu.tabs:
        _tab(draw, tab, tab_font)
    for tile in menu.tiles:
        _tile(draw, tile, label_font, accent, tint)
    return image


def _tab(draw: Draw, tab: TabArea, face: Font) -> None:
    b = tab.box
    fill, ink = (TAB_ON, PAPER) if tab.current else (TAB_OFF, TAB_OFF_INK)
    draw.rectangle((b.x, b.y, b.x + b.width - 1, b.y + b.height - 1), fill=fill)
    if not tab.current:
        # a thin line under the tab that is not open, as paper tabs look behind the open one
        draw.rectangle((b.x, b.y + b.height - 12, b.x + b.width - 1, b.y + b.height - 1),
                       fill=TAB_ON)
    cx, cy = b.x + b.width // 2, b.y + b.height // 2
    if tab.current:
        draw.text((cx, cy), tab.label, font=face, fill=ink, anchor="mm")
        return
    # the tab to tap: its name and an arrow, so it reads as something to press
    width = int(draw.textlength(tab.label, font=face)) + 110
    left = cx - width // 2
    draw.text((left, cy), tab.label, font=face, fill=ink, anchor="lm")
    ax = left + width - 30
    draw.polygon([(ax - 22, cy - 36), (ax + 26, cy), (ax - 22, cy + 36)], fill=ink)


def _tile(draw: Draw, tile: Tile, face: Font, accent: tuple[int, int, int],
          tint: tuple[int, int, int]) -> None:
    b = tile.box
    draw.rectangle((b.x, b.y, b.x + b.width - 1, b.y + b.height - 1), fill=PAPER,
                   outline=GAP, width=4)
    cx = b.x + b.width // 2
    icon_cy = b.y + 200
    draw.ellipse((cx - 150, icon_cy - 150, cx + 150, icon_cy + 150), fill=tint)
    ICONS[tile.icon](draw, cx, icon_cy, accent)
    lines = tile.label.split("\n")
    line_height = 124
    top = b.y + 500 - (len(lines) - 1) * line_height // 2
    for i, line in enumerate(lines):
        draw.text((cx, top + i * line_height), line, font=face, fill=INK, anchor="mm")


# --- icons: simple shapes about 220 px across, centred on (x, y) ------------------------------

Color = tuple[int, int, int]


def _crown(d: Draw, x: int, y: int, c: Color) -> None:
    d.polygon([(x - 105, y + 50), (x - 105, y - 70), (x - 50, y - 5), (x, y - 95),
               (x + 50, y - 5), (x + 105, y - 70), (x + 105, y + 50)], fill=c)
    d.rectangle((x - 105, y + 65, x + 105, y + 95), fill=c)
    for dx in (-105, 0, 105):
        top = y - 95 if dx == 0 else y - 70
        d.ellipse((x + dx - 18, top - 18, x + dx + 18, top + 18), fill=c)


def _hourglass(d: Draw, x: int, y: int, c: Color) -> None:
    d.rectangle((x - 90, y - 110, x + 90, y - 88), fill=c)
    d.rectangle((x - 90, y + 88, x + 90, y + 110), fill=c)
    d.line([(x - 70, y - 88), (x + 70, y - 88), (x + 8, y), (x + 70, y + 88),
            (x - 70, y + 88), (x - 8, y), (x - 70, y - 88)], fill=c, width=14, joint="curve")
    d.polygon([(x - 40, y + 80), (x + 40, y + 80), (x, y + 30)], fill=c)  # the sand


def _pause(d: Draw, x: int, y: int, c: Color) -> None:
    d.ellipse((x - 105, y - 105, x + 105, y + 105), outline=c, width=18)
    d.rectangle((x - 45, y - 50, x - 15, y + 50), fill=c)
    d.rectangle((x + 15, y - 50, x + 45, y + 50), fill=c)


def _phone(d: Draw, x: int, y: int, c: Color) -> None:
    d.rounded_rectangle((x - 62, y - 110, x + 62, y + 110), radius=22, outline=c, width=16)
    d.rectangle((x - 28, y - 86, x + 28, y - 76), fill=c)
    d.ellipse((x - 13, y + 70, x + 13, y + 96), fill=c)


def _bell(d: Draw, x: int, y: int, c: Color) -> None:
    d.pieslice((x - 75, y - 95, x + 75, y + 55), 180, 360, fill=c)
    d.polygon([(x - 75, y - 20), (x + 75, y - 20), (x + 95, y + 60), (x - 95, y + 60)], fill=c)
    d.rounded_rectangle((x - 108, y + 52, x + 108, y + 74), radius=10, fill=c)
    d.ellipse((x - 24, y + 72, x + 24, y + 112), fill=c)
    d.ellipse((x - 14, y - 116, x + 14, y - 88), fill=c)


def _list(d: Draw, x: int, y: int, c: Color) -> None:
    for dy in (-70, 0, 70):
        d.ellipse((x - 100, y + dy - 18, x - 64, y + dy + 18), fill=c)
        d.rounded_rectangle((x - 40, y + dy - 14, x + 100, y + dy + 14), radius=8, fill=c)


def _truck(d: Draw, x: int, y: int, c: Color) -> None:
    d.rectangle((x - 115, y - 70, x + 25, y + 45), fill=c)
    d.polygon([(x + 35, y - 35), (x + 85, y - 35), (x + 115, y + 5), (x + 115, y + 45),
               (x + 35, y + 45)], fill=c)
    for wx in (x - 65, x + 70):
        d.ellipse((wx - 32, y + 30, wx + 32, y + 94), fill=c, outline=PAPER, width=10)


def _return(d: Draw, x: int, y: int, c: Color) -> None:
    d.arc((x - 95, y - 85, x + 95, y + 105), 200, 160, fill=c, width=24)
    d.polygon([(x - 125, y - 5), (x - 45, y - 5), (x - 85, y + 65)], fill=c)


def _cancel(d: Draw, x: int, y: int, c: Color) -> None:
    d.ellipse((x - 105, y - 105, x + 105, y + 105), outline=c, width=18)
    d.line([(x - 52, y - 52), (x + 52, y + 52)], fill=c, width=24)
    d.line([(x - 52, y + 52), (x + 52, y - 52)], fill=c, width=24)


def _key(d: Draw, x: int, y: int, c: Color) -> None:
    d.ellipse((x - 115, y - 55, x - 5, y + 55), outline=c, width=22)
    d.rectangle((x - 10, y - 12, x + 115, y + 12), fill=c)
    d.rectangle((x + 60, y + 10, x + 80, y + 50), fill=c)
    d.rectangle((x + 95, y + 10, x + 115, y + 40), fill=c)


def _shield(d: Draw, x: int, y: int, c: Color) -> None:
    d.polygon([(x, y - 115), (x + 95, y - 80), (x + 90, y + 10), (x + 55, y + 70),
               (x, y + 110), (x - 55, y + 70), (x - 90, y + 10), (x - 95, y - 80)], fill=c)
    d.rounded_rectangle((x - 12, y - 70, x + 12, y + 20), radius=8, fill=PAPER)
    d.ellipse((x - 15, y + 40, x + 15, y + 70), fill=PAPER)


def _search(d: Draw, x: int, y: int, c: Color) -> None:
    d.ellipse((x - 100, y - 100, x + 40, y + 40), outline=c, width=22)
    d.line([(x + 25, y + 25), (x + 100, y + 100)], fill=c, width=34)


ICONS: dict[str, Callable[[Draw, int, int, Color], None]] = {
    "crown": _crown, "hourglass": _hourglass, "pause": _pause, "phone": _phone,
    "bell": _bell, "list": _list, "truck": _truck, "return": _return, "cancel": _cancel,
    "key": _key, "shield": _shield, "search": _search,
}


def png(image: Image.Image) -> bytes:
    """The image as PNG, fewer colours first: flat shapes and text need no more than 64, and a
    palette keeps the file far below LINE's 1 MB."""
    out = io.BytesIO()
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(out, "PNG", optimize=True)
    return out.getvalue()


def build(menus: list[Menu], directory: Path) -> list[Path]:
    """Draw every menu into `directory`; each file is checked against LINE's size limit."""
    directory.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for index, menu in enumerate(menus):
        data = png(render(menu, index))
        if len(data) >= MAX_BYTES:
            raise ValueError(f"{menu.image_file} is {len(data)} bytes; LINE takes under 1 MB")
        path = directory / menu.image_file
        path.write_bytes(data)
        written.append(path)
    return written


__all__ = ["ICONS", "Box", "build", "render"]
