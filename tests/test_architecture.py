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
