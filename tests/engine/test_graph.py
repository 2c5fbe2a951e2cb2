"""`graph`: every route drawn as Mermaid and as a well-formed SVG naming each node."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from supportnavi.engine.graph import mermaid, svg
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT

SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")
SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize("route_id", sorted(SCENARIOS.routes))
def test_every_route_draws(route_id):
    route = SCENARIOS.routes[route_id]
    root = ET.fromstring(svg(route))
    assert root.tag == f"{SVG}svg"
    drawn = {g.get("data-node") for g in root.iter(f"{SVG}g")}
    assert set(route.nodes) <= drawn
    ends = {g.get("data-node") for g in root.iter(f"{SVG}g") if g.get("class") == "end"}
    assert ends == {n for n, node in route.nodes.items() if node.end}
    width, height = float(root.get("width")), float(root.get("height"))
    for rect in root.iter(f"{SVG}rect"):
        if rect.get("x") is not None:  # every box lies inside the picture
            x, y = float(rect.get("x")), float(rect.get("y"))
            assert x >= 0 and x + float(rect.get("width")) <= width
            assert y >= 0 and y + float(rect.get("height")) <= height
    text = mermaid(route)
    assert text.startswith("stateDiagram-v2") and f"[*] --> {route.start}" in text


def test_the_cli_writes_an_svg(tmp_path):
    out = tmp_path / "prime_cancel.svg"
    result = subprocess.run(
        [sys.executable, "-m", "supportnavi", "graph", "prime_cancel", "--format", "svg",
         "--output", str(out)], capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ET.parse(out).getroot().tag == f"{SVG}svg"
    bad = subprocess.run(
        [sys.executable, "-m", "supportnavi", "graph", "prime_cancel", "--format", "png"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert bad.returncode == 2 and "png" in bad.stderr


def _drawn_in_a_new_process(route_id: str, hash_seed: str) -> bytes:
    """`graph --format svg` as a fresh process draws it: with its own hash seed and its own
    object addresses, which grandalf's sets used to follow."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    result = subprocess.run(
        [sys.executable, "-m", "supportnavi", "graph", route_id, "--format", "svg"],
        capture_output=True, timeout=60, check=True, env=env)
    return result.stdout


def test_the_committed_picture_is_what_graph_draws_byte_for_byte():
    """docs/routes/prime_cancel.svg can be regenerated and compared: the same bytes on every
    run (it differed on every run before)."""
    committed = (REPO_ROOT / "docs/routes/prime_cancel.svg").read_bytes()
    for seed in ("1", "2"):
        assert _drawn_in_a_new_process("prime_cancel", seed) == committed


@pytest.mark.parametrize("route_id", ["contact", "returns", "security"])
def test_every_route_is_drawn_the_same_every_time(route_id):
    assert _drawn_in_a_new_process(route_id, "3") == _drawn_in_a_new_process(route_id, "4")
