"""POST /callback: verify, parse, hand each event to the service, answer.

A 200 means every event in the body is committed. Any failure answers 500 so that LINE's
redelivery brings the body back; events already committed are then skipped by their id.
"""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from supportnavi.conversation.events import Delivery
from supportnavi.conversation.service import EngineFailed
from supportnavi.line.webhook import BadSignature, MalformedBody
from supportnavi.metrics import EVENT_SECONDS, EVENTS, WEBHOOK_REQUESTS, WEBHOOK_SECONDS
from supportnavi.store import incidents

log = logging.getLogger(__name__)
router = APIRouter()


def _answer(status: int, detail: str) -> JSONResponse:
    WEBHOOK_REQUESTS.labels(str(status)).inc()
    return JSONResponse({"detail": detail}, status)


@router.post("/callback")
async def callback(request: Request, background: BackgroundTasks) -> JSONResponse:
    started = time.perf_counter()
    try:
        return await _callback(request, background)
    finally:
        WEBHOOK_SECONDS.observe(time.perf_counter() - started)


async def _callback(request: Request, background: BackgroundTasks) -> JSONResponse:
    services = request.app.state.services
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

    committed: list[Delivery] = []
    try:
        for event in events:
            with EVENT_SECONDS.time():
                delivery = await services.conversation.handle(event)
            EVENTS.labels(event.source_type[:32], "handled").inc()
            if delivery is not None:
                committed.append(delivery)
    except Exception as exc:
        log.exception("webhook handling failed; answering 500 so that LINE redelivers")
        EVENTS.labels("any", "failed").inc()
        WEBHOOK_REQUESTS.labels("500").inc()
        # counted after the answer, in its own transaction; EngineFailed's message is only the
        # class name of what advance() raised
        engine = isinstance(exc, EngineFailed)
        background.add_task(incidents.record, services.db, "engine" if engine else "webhook",
                            str(exc) if engine else incidents.code_of(exc),
                            at=services.conversation.clock())
        # what did commit still gets its answer; the redelivery will skip those events
        background.add_task(services.conversation.deliver_all, committed)
        return JSONResponse({"detail": "temporary failure, please redeliver"}, 500,
                            background=background)
    background.add_task(services.conversation.deliver_all, committed)
    WEBHOOK_REQUESTS.labels("200").inc()
    return JSONResponse({"status": "ok", "events": len(events)}, background=background)
