"""The fixed decisions: `linebot` is the SDK's, and only supportnavi/line imports it."""

from __future__ import annotations

import ast
from pathlib import Path

from supportnavi.settings import REPO_ROOT

PACKAGE = REPO_ROOT / "linebot" / "supportnavi"


def test_linebot_still_imports_the_sdk():
    import linebot.v3
    from linebot.v3 import WebhookParser

    import linebot

    assert not (REPO_ROOT / "linebot" / "__init__.py").exists()
    assert "site-packages" in str(Path(linebot.__file__))
    assert WebhookParser.__module__ == "linebot.v3.webhook"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_only_the_line_adapter_imports_the_sdk():
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if p.parent.name != "line" and any(n.startswith("linebot") for n in _imports(p))
    ]
    assert offenders == []


def test_the_engine_is_pure():
    banned = ("fastapi", "starlette", "sqlalchemy", "linebot", "httpx", "aiohttp", "asyncio",
              "supportnavi.store", "supportnavi.web", "supportnavi.conversation")
    for path in (PACKAGE / "engine").rglob("*.py"):
        bad = [n for n in _imports(path) if n.startswith(banned)]
        assert bad == [], (path.name, bad)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of the package it imports, anywhere in it (at the top, inside a
    function, under TYPE_CHECKING): `from a import b` names the module a.b when there is one,
    else a itself (its __init__)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                    + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                           for a in node.names]
            graph[module].update(t for t in targets if t in modules and t != module)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_the_package_imports_itself_round_a_circle():
    """A cycle means two modules are one concept, or a type lives in the wrong one (links and
    model imported each other until issue 15)."""
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def _reads_app_state(source: str) -> bool:
    return any(isinstance(node, ast.Attribute) and node.attr == "state"
               and isinstance(node.value, ast.Attribute) and node.value.attr == "app"
               for node in ast.walk(ast.parse(source)))


def test_web_routes_reach_services_only_through_deps():
    """`request.app.state` is read in one place, web/deps.py; every route takes ServicesDep."""
    offenders = [p.name for p in (PACKAGE / "web").glob("*.py")
                 if p.name != "deps.py" and _reads_app_state(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_the_app_state_finder_finds_a_read():
    assert _reads_app_state("x = request.app.state.services")
    assert not _reads_app_state("x = services.scenarios")
