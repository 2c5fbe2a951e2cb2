"""A route's state machine as Mermaid text."""

from __future__ import annotations

from supportnavi.engine.model import Route


def mermaid(route: Route) -> str:
    lines = ["stateDiagram-v2", f"    [*] --> {route.start}"]
    for node_id, node in route.nodes.items():
        if node.title:
            lines.append(f'    {node_id} : {node.title.replace(":", " ")}')
        for button in node.buttons:
            label = button.label.replace(":", " ")
            if button.to is not None:
                lines.append(f"    {node_id} --> {button.to} : {label}")
            elif button.route is not None:
                lines.append(f"    {node_id} --> route_{button.route} : {label}")
        if node.end:
            lines.append(f"    {node_id} --> [*]")
    return "\n".join(lines)
