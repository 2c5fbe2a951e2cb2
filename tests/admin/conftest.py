"""The bot with its dashboard on: SUPPORTNAVI_ADMIN_TOKEN set."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from supportnavi.app import create_app
from supportnavi.simulator.fake_line import FakeLine
from tests.conftest import Bot, Served, bot_settings

ADMIN_TOKEN = "admin-test-token-0123456789"


@pytest.fixture
async def admin_bot(db_url: str, fake_line: tuple[FakeLine, str]) -> AsyncIterator[Bot]:
    fake, line_url = fake_line
    app = create_app(bot_settings(db_url, line_url, SUPPORTNAVI_ADMIN_TOKEN=ADMIN_TOKEN))
    async with Served(app) as served:
        yield Bot(served.url, fake, db_url, app)
