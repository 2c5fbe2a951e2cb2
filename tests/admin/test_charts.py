"""The dashboard's pictures: charts that say what they show to a screen reader and hold the
numbers they were given, and route graphs with a count on each screen when asked for one."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from supportnavi.admin.charts import Bar, columns, hbars
from supportnavi.engine.graph import svg
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT

SVG = "{http://www.w3.org/2000/svg}"
SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def test_bars_are_an_image_with_a_title_and_the_numbers_in_words():
    bars = [Bar("開始", 10), Bar("電話 <番号>", 4, 1), Bar("終わり", 0)]
    root = ET.fromstring(hbars("f", "電話の手順", bars, legend=("来た", "やめた"),
                               note="{value}（やめた {part}）"))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "f-title f-desc"
    assert root.find(f"{SVG}title").text == "電話の手順"
    assert root.find(f"{SVG}desc").text == "開始 10, 電話 <番号> 4（やめた 1）, 終わり 0"
    assert {"10", "4（やめた 1）", "0", "電話 <番号>", "来た", "やめた"} <= set(texts(root))
    widths = [float(r.get("width")) for r in root.iter(f"{SVG}rect") if r.get("height") == "14"]
    # the largest bar is the longest; the part is a quarter of its bar; an empty bar is a stub
    assert widths[0] > widths[1] > widths[2] and widths[2] == pytest.approx(widths[1] / 4, abs=0.1)
    assert widths[-1] == 1.0


def test_columns_hold_every_days_numbers():
    labels = [f"11/{d}" for d in range(1, 29)]
    new = [0] * 28
    new[3], new[27] = 5, 2
    blocked = [0] * 28
    blocked[3] = 1
    root = ET.fromstring(columns("u", "日ごと", labels, [("新しい人", new), ("ブロック", blocked)]))
    assert root.get("role") == "img"
    assert root.find(f"{SVG}desc").text == "11/4: 新しい人 5 ブロック 1, 11/28: 新しい人 2 ブロック 0"
    heights = sorted(float(r.get("height")) for r in root.iter(f"{SVG}rect")
                     if r.get("height") != "12")
    assert heights[-1] == pytest.approx(5 * heights[0])  # 5 against 1
    assert "5" in texts(root)  # the axis is marked with the largest value
    assert {"11/1", "11/8", "11/28"} <= set(texts(root))


def test_a_graph_without_counts_is_what_supportnavi_graph_draws():
    # (grandalf's layout is not the same from one call to the next, so compare what is drawn)
    route = SCENARIOS.routes["prime_cancel"]
    for drawn in (svg(route), svg(route, None)):
        assert 'class="count"' not in drawn and "opacity" not in drawn


def test_a_graph_with_counts_carries_each_screens_number():
    route = SCENARIOS.routes["prime_cancel"]
    counts = {node: 0 for node in route.nodes} | {"start": 12, "phone_1": 7, "after": 3}
    root = ET.fromstring(svg(route, counts))
    nodes = {g.get("data-node"): g for g in root.iter(f"{SVG}g") if g.get("data-node")}
    for node, count in counts.items():
        badge = nodes[node].find(f"{SVG}g[@class='count']")
        assert badge is not None, node
        assert badge.find(f"{SVG}text").text == str(count)
        assert (nodes[node].get("opacity") == "0.55") == (count == 0), node
    other_route = next(g for key, g in nodes.items() if key.startswith("route:"))
    assert other_route.find(f"{SVG}g[@class='count']") is None
    width = float(root.get("width"))
    for rect in root.iter(f"{SVG}rect"):  # the badges stay inside the picture
        if rect.get("x") is not None:
            assert float(rect.get("x")) >= 0 and float(rect.get("x")) + float(rect.get("width")) <= width
