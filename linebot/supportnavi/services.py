"""`Services`: what one server process is made of, built in the app's lifespan (app.py, from
compose.py) and handed to the web layer through its typed dependencies (web/deps.py)."""

from __future__ import annotations

from dataclasses import dataclass

from supportnavi.admin.queries import Reader
from supportnavi.admin.throttle import Throttle
from supportnavi.conversation.relay import Relay
from supportnavi.conversation.service import ConversationService
from supportnavi.edition import Live, Reloader
from supportnavi.engine import Scenarios
from supportnavi.line.sender import LineSender
from supportnavi.line.webhook import WebhookReader
from supportnavi.reminders.dispatcher import Dispatcher
from supportnavi.settings import Settings
from supportnavi.simulator.fake_line import FakeLine
from supportnavi.simulator.page import Simulator
from supportnavi.store.db import Database
from supportnavi.store.retention import Housekeeper


@dataclass
class Services:
    settings: Settings
    live: Live  # the scenarios served now, swapped by `reloader` (edition.py)
    db: Database
    sender: LineSender
    reader: WebhookReader
    conversation: ConversationService
    fake_line: FakeLine | None
    dispatcher: Dispatcher | None = None  # None: `serve --no-dispatcher`
    simulator: Simulator | None = None  # the /simulator page, in simulator mode
    admin: Reader | None = None  # the dashboard's reads; None: SUPPORTNAVI_ADMIN_TOKEN unset
    relay: Relay | None = None  # None: SUPPORTNAVI_RELAY=false
    housekeeper: Housekeeper | None = None  # None: SUPPORTNAVI_HOUSEKEEPING=false
    # wrong dashboard tokens, counted in this process; None: SUPPORTNAVI_ADMIN_TOKEN unset
    admin_throttle: Throttle | None = None
    reloader: Reloader | None = None

    @property
    def scenarios(self) -> Scenarios:
        """The scenarios served now. A unit of work reads `live.current` once and keeps it."""
        return self.live.current.scenarios
