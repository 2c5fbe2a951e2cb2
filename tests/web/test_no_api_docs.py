"""FastAPI's schema and docs pages are not served: in LINE mode the bot is on the internet, and
its API is LINE's webhook, which needs no map for strangers."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


async def test_openapi_json_docs_and_redoc_are_404_in_line_mode(bot):
    assert not bot.app.state.services.settings.simulator_mode
    async with httpx.AsyncClient(base_url=bot.url, timeout=10) as http:
        for path in ("/openapi.json", "/docs", "/redoc", "/docs/oauth2-redirect"):
            answer = await http.get(path)
            assert answer.status_code == 404, path
            assert "openapi" not in answer.text.lower(), path
        assert (await http.get("/healthz")).status_code == 200  # the app is up all the same
