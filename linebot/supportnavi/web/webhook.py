"""POST /callback: verify, parse, hand the body's events to the service, answer.

A 200 means every event in the body is committed (an event that fails on every try, a poison
event, is committed as set aside, answered with an apology). Any other failure answers 500 so
that LINE's redelivery brings the body back; events already committed are then skipped by
their id.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from supportnavi.conversation.events import Delivery
from supportnavi.line.webhook import BadSignature, MalformedBody
from supportnavi.metrics import EVENTS, WEBHOOK_REQUESTS, WEBHOOK_SECONDS, event_type
from supportnavi.services import Services
from supportnavi.store import incidents
from supportnavi.store.group_commit import Held
from supportnavi.web.deps import ServicesDep

log = logging.getLogger(__name__)
router = APIRouter()


def _answer(status: int, detail: str) -> JSONResponse:
    WEBHOOK_REQUESTS.labels(str(status)).inc()
    return JSONResponse({"detail": detail}, status)


@router.post("/callback")
async def callback(request: Request, background: BackgroundTasks,
                   services: ServicesDep) -> JSONResponse:
    started = time.perf_counter()
    try:
        return await _callback(request, background, services)
    finally:
        WEBHOOK_SECONDS.observe(time.perf_counter() - started)


async def _callback(request: Request, background: BackgroundTasks,
                    services: Services) -> JSONResponse:
    limit = services.settings.max_body_bytes

    declared = request.headers.get("content-length")
    if declared is not None:
        # ASCII digits only (isdigit() would let 「²」 through to int()), and leading zeros
        # never make a number too long for int()
        if not (declared.isascii() and declared.isdecimal()):
            return _answer(400, "bad Content-Length")
        significant = declared.lstrip("0")
        if len(significant) > len(str(limit)) or int(significant or "0") > limit:
            return _answer(413, f"body over {limit} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return _answer(413, f"body over {limit} bytes")

    signatures = request.headers.getlist("x-line-signature")
    if len(signatures) > 1:  # LINE sends one; which of several would we trust?
        return _answer(400, "more than one x-line-signature")
    signature = signatures[0] if signatures else ""
    if not signature:
        return _answer(400, "missing x-line-signature")
    try:
        events = services.reader.read(bytes(body), signature)
    except BadSignature:
        log.warning("webhook with a bad signature refused")
        return _answer(400, "invalid signature")
    except MalformedBody as exc:
        return _answer(400, str(exc))

    results = await services.conversation.handle_all(events)
    committed: list[Delivery] = []
    failures: list[BaseException] = []
    for event, result in zip(events, results, strict=True):
        if isinstance(result, BaseException):
            # not committed: LINE's redelivery brings the body back, and what did commit is
            # then skipped by its id (a Held one waits for the failed one before it)
            if not isinstance(result, Held):
                log.error("event %s failed (%s); answering 500 so that LINE redelivers",
                          event.event_id, type(result).__name__, exc_info=result)
            EVENTS.labels(event_type(event.source_type), "failed").inc()
            failures.append(result)
            continue
        EVENTS.labels(event_type(event.source_type), "handled").inc()
        if result.delivery is not None:
            committed.append(result.delivery)
        if result.incident is not None:  # answered all the same: counted after the answer
            background.add_task(incidents.record, services.db, *result.incident,
                                at=services.conversation.clock())
    # what did commit gets its answer
    background.add_task(services.conversation.deliver_all, committed)
    if failures:
        WEBHOOK_REQUESTS.labels("500").inc()
        for failure in {type(f): f for f in failures if not isinstance(f, Held)}.values():
            background.add_task(incidents.record, services.db, "webhook",
                                incidents.code_of(failure), at=services.conversation.clock())
        return JSONResponse({"detail": "temporary failure, please redeliver"}, 500,
                            background=background)
    WEBHOOK_REQUESTS.labels("200").inc()
    return JSONResponse({"status": "ok", "events": len(events)}, background=background)
