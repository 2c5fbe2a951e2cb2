"""A route's state machine as a picture: Mermaid text, or an SVG laid out by grandalf.

Nodes are the route's screens (ends drawn in green with a double border), buttons are the
edges, and a button into another route ends in a grey box naming it. The SVG needs no system
Graphviz: grandalf computes a layered (Sugiyama) layout in pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

from grandalf.graphs import Edge, Graph, Vertex
from grandalf.layouts import SugiyamaLayout
from grandalf.routing import route_with_lines

from supportnavi.engine.content import Node, Route

FONT = "'Noto Sans JP','Hiragino Sans','Yu Gothic',Meiryo,sans-serif"
FONT_SIZE = 13
LINE_H = 18
PAD = 10
MARGIN = 24


def mermaid(route: Route) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {route.start}"]
    for node_id, node in route.nodes.items():
        if node.title:
            lines.append(f'    {node_id} : {node.title.replace(":", " ")}')
        for target, label in _node_edges(node):
            target = target.replace("route:", "route_")
            lines.append(f"    {node_id} --> {target} : {label.replace(':', ' ')}")
        if node.end:
            lines.append(f"    {node_id} --> [*]")
    return "\n".join(lines)


def _node_edges(node: Node) -> list[tuple[str, str]]:
    """(target, label) for each way on from a node: a node id, or route:<id> for a route."""
    edges: list[tuple[str, str]] = []
    for button in node.buttons:
        if button.to is not None:
            edges.append((button.to, button.label))
        elif button.route is not None:
            edges.append((f"route:{button.route}", button.label))
    if node.input is not None:
        edges.extend((target, f"番号 {verdict}") for verdict, target in node.input.next.items())
    if node.unresolved is not None:
        edges.append((node.unresolved, "いいえ、まだ"))
    if node.empty is not None:
        edges.append((node.empty, "お知らせなし"))
    return edges


class _Vertex(Vertex):  # type: ignore[misc]
    """grandalf keeps vertices and edges in sets, and objects hash by their address, so the
    layout came out different on every run. Hashed by their place in the route instead, the
    same route is drawn the same, byte for byte (docs/routes/*.svg can be regenerated)."""

    def __init__(self, data: str, n: int) -> None:
        super().__init__(data)
        self.n = n

    def __hash__(self) -> int:
        return self.n


class _Edge(Edge):  # type: ignore[misc]
    def __init__(self, x: Vertex, y: Vertex, n: int) -> None:
        super().__init__(x, y)
        self.n = n

    def __hash__(self) -> int:
        return self.n


@dataclass
class _Box:
    """A vertex's view for grandalf: its size in, its centre out."""

    key: str
    lines: list[str]
    kind: str  # "node" | "end" | "start" | "route"
    w: float = 0.0
    h: float = 0.0
    xy: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        self.w = max(_text_width(line) for line in self.lines) + 2 * PAD
        self.h = len(self.lines) * LINE_H + 2 * PAD


class _Path:
    def __init__(self) -> None:
        self.points: list[tuple[float, float]] = []

    def setpath(self, points: list[tuple[float, float]]) -> None:
        self.points = [(float(x), float(y)) for x, y in points]


def _text_width(text: str) -> float:
    """Wide (Japanese) characters take a full em; ASCII about 0.6 of one."""
    return sum(FONT_SIZE if ord(c) > 0x2E7F else FONT_SIZE * 0.6 for c in text)


def _edges(route: Route) -> list[tuple[str, str, str]]:
    return [(n, target, label) for n, node in route.nodes.items()
            for target, label in _node_edges(node)]


def svg(route: Route, counts: Mapping[str, int] | None = None) -> str:
    """The route as a standalone SVG document. With `counts` (node id -> a number, e.g. the
    visits the dashboard counted), each screen carries its number in a badge, and a screen
    nobody reached is drawn faded; without them the picture is as `supportnavi graph` draws."""
    boxes: dict[str, _Box] = {}
    for node_id, node in route.nodes.items():
        kind = "end" if node.end else "start" if node_id == route.start else "node"
        boxes[node_id] = _Box(node_id, [node.title or node_id, node_id], kind)
    edges = _edges(route)
    for _, target, _ in edges:
        if target.startswith("route:") and target not in boxes:
            boxes[target] = _Box(target, ["別のルート", target.removeprefix("route:")], "route")

    vertices = {key: _Vertex(key, n) for n, key in enumerate(boxes)}
    for key, vertex in vertices.items():
        vertex.view = boxes[key]
    graph_edges: list[Any] = []
    labels: dict[int, str] = {}
    seen: set[tuple[str, str]] = set()
    for source, target, label in edges:
        if source == target or (source, target) in seen:
            continue
        seen.add((source, target))
        edge = _Edge(vertices[source], vertices[target], len(graph_edges))
        edge.view = _Path()
        labels[id(edge)] = label
        graph_edges.append(edge)
    graph = Graph(list(vertices.values()), graph_edges)

    for component in graph.C:
        layout = SugiyamaLayout(component)
        layout.xspace, layout.yspace = 28, 56
        roots = [vertices[route.start]] if vertices[route.start] in component.sV else None
        layout.init_all(roots=roots)
        layout.route_edge = route_with_lines
        layout.draw(N=3)

    # components side by side, each shifted so that its boxes and edge bends start at x = 0
    offset = 0.0
    for component in graph.C:
        views = [v.view for v in component.sV]
        paths = [e.view for e in component.sE]
        xs = [b.xy[0] - b.w / 2 for b in views] + [x for p in paths for x, _ in p.points]
        shift = offset - min(xs)
        for b in views:
            b.xy = (b.xy[0] + shift, b.xy[1])
        for p in paths:
            p.points = [(x + shift, y) for x, y in p.points]
        right = [b.xy[0] + b.w / 2 for b in views] + [x for p in paths for x, _ in p.points]
        offset = max(right) + MARGIN
    ys = [b.xy[1] - b.h / 2 for b in boxes.values()] + [b.xy[1] + b.h / 2 for b in boxes.values()]
    ys += [y for e in graph_edges for _, y in e.view.points]
    top = min(ys)
    width = offset - MARGIN + 2 * MARGIN
    height = max(ys) - top + 2 * MARGIN

    def at(x: float, y: float) -> tuple[float, float]:
        return round(x + MARGIN, 1), round(y - top + MARGIN, 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-labelledby="title-{route.id}" font-family="{escape(FONT)}" '
        f'font-size="{FONT_SIZE}">',
        f'<title id="title-{route.id}">{escape(route.title)}（{route.id}）の流れ</title>',
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" "
        "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\">"
        "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
    ]
    for edge in graph_edges:
        points = [at(x, y) for x, y in edge.view.points]
        if len(points) < 2:
            continue
        path = " ".join(f"{x},{y}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="#888" stroke-width="1.2" '
                   'marker-end="url(#arrow)"/>')
        mx, my = points[len(points) // 2 - 1] if len(points) > 2 else points[0]
        nx, ny = points[len(points) // 2]
        lx, ly = (mx + nx) / 2, (my + ny) / 2
        out.append(f'<text x="{lx}" y="{ly}" font-size="11" fill="#333" text-anchor="middle" '
                   f'paint-order="stroke" stroke="#fff" stroke-width="3">'
                   f'{escape(labels[id(edge)])}</text>')
    styles = {
        "node": ("#f4f8ff", "#4a6fa5", "1.5"),
        "start": ("#fff7e0", "#c08a00", "2.5"),
        "end": ("#eaf7ea", "#2e7d32", "3"),
        "route": ("#eeeeee", "#777777", "1"),
    }
    for box in boxes.values():
        fill, stroke, width_ = styles[box.kind]
        x, y = at(box.xy[0] - box.w / 2, box.xy[1] - box.h / 2)
        dash = ' stroke-dasharray="5,3"' if box.kind == "route" else ""
        count = counts.get(box.key) if counts is not None and box.kind != "route" else None
        faded = ' opacity="0.55"' if count == 0 else ""
        out.append(f'<g class="{box.kind}" data-node="{escape(box.key)}"{faded}>')
        out.append(f'<rect x="{x}" y="{y}" width="{box.w:.0f}" height="{box.h:.0f}" rx="8" '
                   f'fill="{fill}" stroke="{stroke}" stroke-width="{width_}"{dash}/>')
        if box.kind == "end":
            out.append(f'<rect x="{x + 3}" y="{y + 3}" width="{box.w - 6:.0f}" '
                       f'height="{box.h - 6:.0f}" rx="6" fill="none" stroke="{stroke}"/>')
        for i, line in enumerate(box.lines):
            ty = y + PAD + (i + 1) * LINE_H - 5
            weight = ' font-weight="bold"' if i == 0 else ' fill="#555" font-size="11"'
            out.append(f'<text x="{x + box.w / 2:.1f}" y="{ty}" text-anchor="middle"{weight}>'
                       f"{escape(line)}</text>")
        if count is not None:
            out.append(_badge(x + box.w, y, count))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _badge(x: float, y: float, count: int) -> str:
    """A number in a pill centred on a box's top-right corner."""
    text = str(count)
    w = max(_text_width(text) + 12, 24)
    return (f'<g class="count"><rect x="{x - w / 2 - 4:.1f}" y="{y - 11}" width="{w:.0f}" '
            f'height="22" rx="11" fill="#1f2933"/><text x="{x - 4:.1f}" y="{y + 4.5}" '
            f'text-anchor="middle" fill="#ffffff" font-weight="bold">{text}</text></g>')
