"""create_app(): every resource is made and closed in the lifespan, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from supportnavi.conversation.events import SendResult
from supportnavi.conversation.ports import ObservedSender
from supportnavi.conversation.relay import Relay
from supportnavi.conversation.service import ConversationService
from supportnavi.engine import Scenarios, load_scenarios
from supportnavi.line.sender import LineSender
from supportnavi.line.webhook import WebhookReader
from supportnavi.reminders.dispatcher import Dispatcher, make_dispatcher
from supportnavi.reminders.planner import RulesPlanner, days_from_facts
from supportnavi.settings import FAKE_LINE_PREFIX, Settings
from supportnavi.simulator.fake_line import FakeLine
from supportnavi.store.db import Database
from supportnavi.understanding import ExampleClassifier
from supportnavi.web import health, metrics, webhook
from supportnavi.web.metrics import DELIVERIES

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    scenarios: Scenarios
    db: Database
    sender: LineSender
    reader: WebhookReader
    conversation: ConversationService
    fake_line: FakeLine | None
    dispatcher: Dispatcher | None = None  # None: `serve --no-dispatcher`
    relay: Relay | None = None  # None: SUPPORTNAVI_RELAY=false


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    # Broken scenarios stop the start-up here, before a single request is accepted.
    scenarios = load_scenarios(settings.scenarios_dir)
    fake_line = FakeLine() if settings.simulator_mode else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = Database(settings.database_url,
                      sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)
        sender = LineSender(
            settings.effective_line_api_base_url(), settings.access_token,
            timeout=settings.line_timeout_seconds,
            max_connections=settings.dispatch_concurrency + 16,  # the dispatcher's, and replies
        )
        planner = RulesPlanner(settings.zone, days_from_facts(scenarios.facts))
        # The similarity fallback for typed text: the encoder loads once per process, in a
        # thread, before the first request (1-2 s), not inside the first person's reply.
        classifier = ExampleClassifier.for_scenarios(scenarios)
        await asyncio.to_thread(classifier.load)
        counted = ObservedSender(sender, _count_delivery)
        conversation = ConversationService(db, scenarios, counted, planner=planner,
                                           classifier=classifier)
        # a claim outlasts a page of sends: each row is a reply and maybe a push, at once
        lease = timedelta(seconds=2 * settings.line_timeout_seconds + 10)
        relay = (Relay(db, counted, grace=timedelta(seconds=settings.relay_grace_seconds),
                       lease=lease) if settings.relay else None)
        dispatcher = (make_dispatcher(db, sender, scenarios, settings)
                      if settings.dispatcher else None)
        app.state.services = Services(
            settings=settings,
            scenarios=scenarios,
            db=db,
            sender=sender,
            reader=WebhookReader(settings.channel_secret),
            conversation=conversation,
            fake_line=fake_line,
            dispatcher=dispatcher,
            relay=relay,
        )
        relaying = None
        if relay is not None:
            relaying = asyncio.create_task(relay.run_forever(settings.relay_interval_seconds),
                                           name="outbox-relay")
        dispatching = None
        if dispatcher is not None:
            dispatching = asyncio.create_task(
                dispatcher.run_forever(settings.dispatch_interval_seconds),
                name="reminder-dispatcher",
            )
        mode = "simulator (fake LINE API in-process)" if fake_line else "LINE"
        log.info("supportnavi ready: %s mode, %d routes, reminder dispatcher %s, relay %s",
                 mode, len(scenarios.routes), "on" if dispatcher else "off",
                 "on" if relay else "off")
        try:
            yield
        finally:
            for task in (dispatching, relaying):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await sender.close()
            await db.dispose()

    app = FastAPI(title="supportnavi", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(webhook.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    if fake_line is not None:
        app.mount(FAKE_LINE_PREFIX, fake_line.app())

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": "bad request", "errors": exc.errors()}, 400)

    return app


def _count_delivery(_op: str, result: SendResult) -> None:
    DELIVERIES.labels("true" if result.ok else "false").inc()


def create_app_from_env() -> FastAPI:
    """The uvicorn factory for `serve --workers N`: each worker reads the environment."""
    return create_app(Settings())
