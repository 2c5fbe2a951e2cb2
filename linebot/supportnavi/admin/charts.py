"""The dashboard's charts as SVG, drawn here, in Python: no chart library, no script.

Each chart is an image to assistive technology (`role="img"`, a `<title>` and a `<desc>` that
reads the numbers out); the page puts the same numbers in a table as well. The words (titles,
legends) come from the templates, which hold the page's Japanese; this module only lays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

FONT = "'Noto Sans JP','Hiragino Sans','Yu Gothic',Meiryo,sans-serif"
# Colours with at least 3:1 against white (WCAG's contrast for graphics), text darker still.
BAR = "#3b6ea8"
GAVE_UP = "#b85c00"
REACHED = "#2f7d32"
SECOND = "#c2410c"
TEXT = "#1f2933"
MUTED = "#52606d"
GRID = "#d9e2ec"


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    part: int = 0  # a share of `value` drawn over its start in the second colour


def _text_width(text: str, size: float) -> float:
    return sum(size if ord(c) > 0x2E7F else size * 0.6 for c in text)


def _clip(text: str, size: float, width: float) -> str:
    if _text_width(text, size) <= width:
        return text
    while text and _text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def _open(chart_id: str, width: float, height: float, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" width="{width:.0f}" height="{height:.0f}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc" font-family="{escape(FONT)}">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def hbars(
    chart_id: str, title: str, bars: Sequence[Bar], *, legend: tuple[str, str] | None = None,
    note: str = "{value} ({part})", part_colour: str = GAVE_UP, width: int = 400,
) -> str:
    """Horizontal bars, one a row: the label above its bar, the number after it (`note`, with
    {value} and {part}, when the bar has a part). `legend` names the bar and its part (e.g.
    visits, and those that gave up there)."""
    size, row, bar_h, pad = 14, 40, 14, 8
    top = 30 if legend else 8
    height = top + row * len(bars) + pad
    largest = max((b.value for b in bars), default=0) or 1
    notes = [note.format(value=b.value, part=b.part) if b.part else str(b.value) for b in bars]
    # the longest note goes after the longest bar
    room = width - 2 * pad - 8 - max((_text_width(n, size - 1) for n in notes), default=0)
    desc = ", ".join(f"{b.label} {n}" for b, n in zip(bars, notes, strict=True))
    out = _open(chart_id, width, height, title, desc)
    if legend:
        out.append(_swatch(pad, 8, BAR, legend[0], size - 1))
        out.append(_swatch(pad + 24 + _text_width(legend[0], size - 1) + 16, 8, part_colour,
                           legend[1], size - 1))
    for i, (bar, number) in enumerate(zip(bars, notes, strict=True)):
        y = top + i * row
        out.append(f'<text x="{pad}" y="{y + size}" font-size="{size}" fill="{TEXT}">'
                   f"{escape(_clip(bar.label, size, width - 2 * pad))}</text>")
        length = room * bar.value / largest
        by = y + size + 6
        out.append(f'<rect x="{pad}" y="{by}" width="{max(length, 1):.1f}" height="{bar_h}" '
                   f'rx="2" fill="{BAR if bar.value else GRID}"/>')
        if bar.part:
            out.append(f'<rect x="{pad}" y="{by}" width="{room * bar.part / largest:.1f}" '
                       f'height="{bar_h}" rx="2" fill="{part_colour}"/>')
        out.append(f'<text x="{pad + max(length, 1) + 6:.1f}" y="{by + bar_h - 2}" '
                   f'font-size="{size - 1}" fill="{TEXT}">{escape(number)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def columns(
    chart_id: str, title: str, labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]],
    *, width: int = 400, height: int = 180,
) -> str:
    """Columns per label (a day), one per series side by side (new friends, blocks), with the
    largest value marked on the axis and every seventh label written under it."""
    size, left, right, top, bottom = 12, 30, 8, 30, 22
    colours = (BAR, SECOND)
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((v for _, values in series for v in values), default=0) or 1
    slot = plot_w / max(len(labels), 1)
    col = max(slot / (len(series) + 1), 1.0)
    desc = ", ".join(
        f"{label}: " + " ".join(f"{name} {values[i]}" for name, values in series)
        for i, label in enumerate(labels)
        if any(values[i] for _, values in series)
    ) or "0"
    out = _open(chart_id, width, height, title, desc)
    x = float(left)
    for (name, _), colour in zip(series, colours, strict=False):
        out.append(_swatch(x, 8, colour, name, size))
        x += 24 + _text_width(name, size) + 16
    base = top + plot_h
    out.append(f'<line x1="{left}" y1="{base}" x2="{width - right}" y2="{base}" '
               f'stroke="{MUTED}"/>')
    out.append(f'<line x1="{left}" y1="{top}" x2="{width - right}" y2="{top}" stroke="{GRID}" '
               'stroke-dasharray="3,3"/>')
    out.append(f'<text x="{left - 4}" y="{top + 4}" font-size="{size}" fill="{MUTED}" '
               f'text-anchor="end">{largest}</text>')
    out.append(f'<text x="{left - 4}" y="{base}" font-size="{size}" fill="{MUTED}" '
               'text-anchor="end">0</text>')
    for i, label in enumerate(labels):
        x0 = left + i * slot + col / 2
        for j, ((_, values), colour) in enumerate(zip(series, colours, strict=False)):
            h = plot_h * values[i] / largest
            if h:
                out.append(f'<rect x="{x0 + j * col:.1f}" y="{base - h:.1f}" '
                           f'width="{col:.1f}" height="{h:.1f}" fill="{colour}"/>')
        if i % 7 == 0 or i == len(labels) - 1:
            out.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{base + 16}" '
                       f'font-size="{size}" fill="{MUTED}" text-anchor="middle">'
                       f"{escape(label)}</text>")
    out.append("</svg>")
    return "\n".join(out)


def _swatch(x: float, y: float, colour: str, name: str, size: float) -> str:
    return (f'<rect x="{x:.1f}" y="{y}" width="16" height="12" fill="{colour}"/>'
            f'<text x="{x + 22:.1f}" y="{y + 11}" font-size="{size}" fill="{TEXT}">'
            f"{escape(name)}</text>")
