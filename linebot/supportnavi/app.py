"""create_app(): every resource is made and closed in the lifespan, never at import time."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from supportnavi import compose
from supportnavi.admin.throttle import Throttle
from supportnavi.edition import Live, ignore_sighup, on_sighup
from supportnavi.line.webhook import WebhookReader
from supportnavi.services import Services
from supportnavi.settings import FAKE_LINE_PREFIX, Settings
from supportnavi.simulator.fake_line import FakeLine
from supportnavi.simulator.page import Simulator
from supportnavi.store.mode import start_on
from supportnavi.web import admin, health, metrics, simulator, webhook
from supportnavi.web.simulator import LocalOnly

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if (problem := settings.start_problem()) is not None:
        raise ValueError(problem)
    # Broken scenarios stop the start-up here, before a single request is accepted (later
    # changes are checked by the reloader, and a broken one is not loaded).
    scenarios, version = compose.first_edition(settings)
    fake_line = FakeLine() if settings.simulator_mode else None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db = compose.database(settings)
        try:  # before the relay or the dispatcher could send anything
            await start_on(db, settings.simulator_mode)
        except BaseException:
            await db.dispose()
            raise
        sender = compose.sender(settings)
        # Reading typed text: the encoder, the analyser and the scenarios' readings load once
        # per process, in a thread, before the first request (1-2 s), not inside a reply.
        # Every part reads the scenarios through `live`, which the reloader swaps.
        live = Live(await asyncio.to_thread(compose.edition, settings, scenarios, version))
        reloader = compose.reloader(settings, live)
        conversation = compose.conversation(settings, db, live, sender)
        relay = compose.relay(settings, db, sender)
        dispatcher = (compose.dispatcher(settings, db, sender, live)
                      if settings.dispatcher else None)
        housekeeper = (compose.housekeeper(settings, db, live)
                       if settings.housekeeping else None)
        chat_page = (Simulator(fake_line, live,
                               settings.local_base_url() + "/callback", settings.channel_secret)
                     if fake_line is not None else None)
        app.state.services = Services(
            settings=settings,
            live=live,
            reloader=reloader,
            db=db,
            sender=sender,
            reader=WebhookReader(settings.channel_secret),
            conversation=conversation,
            fake_line=fake_line,
            dispatcher=dispatcher,
            simulator=chat_page,
            admin=compose.reader(settings, db),
            relay=relay,
            housekeeper=housekeeper,
            admin_throttle=Throttle() if settings.admin_token else None,
        )
        relaying = None
        if relay is not None:
            relaying = asyncio.create_task(relay.run_forever(settings.relay_interval_seconds),
                                           name="outbox-relay")
        pruning = None
        if housekeeper is not None:
            pruning = asyncio.create_task(
                housekeeper.run_forever(settings.housekeeping_interval_seconds),
                name="housekeeping")
        # scenario changes: a look every SUPPORTNAVI_SCENARIOS_POLL seconds, and at once on
        # SIGHUP (`supportnavi reload`; `serve --workers N` passes it on to every worker)
        reloading = asyncio.create_task(reloader.run_forever(), name="scenarios-reloader")
        sighup = on_sighup(reloader.ask)
        sighup.__enter__()
        dispatching = None
        if dispatcher is not None:
            dispatching = asyncio.create_task(
                dispatcher.run_forever(settings.dispatch_interval_seconds),
                name="reminder-dispatcher",
            )
        # Everything loaded so far (scenarios, the encoder's tokenizer and weights, the SDK)
        # lives as long as the process: out of the collector's sight, a full collection no
        # longer walks it (35-55 ms each, several times a second under load: the webhook's
        # slowest answers).
        gc.collect()
        gc.freeze()
        mode = "simulator (fake LINE API in-process)" if fake_line else "LINE"
        log.info("supportnavi ready: %s mode, %d routes (scenarios %s), reminder dispatcher "
                 "%s, relay %s", mode, len(scenarios.routes), version,
                 "on" if dispatcher else "off", "on" if relay else "off")
        try:
            yield
        finally:
            sighup.__exit__(None, None, None)
            for task in (reloading, dispatching, relaying, pruning):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            if chat_page is not None:
                await chat_page.close()
            await conversation.close()
            await sender.close()
            if app.state.services.admin is not None:
                await app.state.services.admin.dispose()
            await db.dispose()
            gc.unfreeze()  # an app made again in this process (the tests) freezes anew

    # no schema and no docs pages: the bot's one public API is LINE's webhook, and a map of
    # every route (the dashboard's, the simulator's) helps only a stranger
    app = FastAPI(title="supportnavi", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.include_router(webhook.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(simulator.router)  # 404 with the reason outside simulator mode
    app.mount("/static", StaticFiles(directory=simulator.STATIC_DIR), name="static")
    app.include_router(admin.router())
    if fake_line is not None:
        app.mount(FAKE_LINE_PREFIX, fake_line.app())
        # the simulator's pages and the fake answer this machine only, and never a POST from
        # another site (the webhook takes any Host: LINE comes through proxies)
        app.add_middleware(LocalOnly, host=settings.host)

    @app.exception_handler(RequestValidationError)
    async def _bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        # where and why, never the input itself: echoed, it could hold what was typed, and a
        # lone surrogate in it could not even be encoded (the 400 became a 500)
        errors = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse({"detail": "bad request", "errors": errors}, 400)

    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory for `serve --workers N`: each worker reads the environment. A
    SIGHUP before its lifespan listens for one is ignored (a worker uvicorn starts again after
    one died does not inherit `serve`'s)."""
    ignore_sighup()
    return create_app(Settings())
