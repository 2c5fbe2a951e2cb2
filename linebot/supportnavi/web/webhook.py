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
from supportnavi.metrics import (
    EVENT_SECONDS,
    EVENTS,
    WEBHOOK_REQUESTS,
    WEBHOOK_SECONDS,
    event_type,
)
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
    failures: list[Exception] = []
    held: set[str] = set()  # people one of whose events failed: their later ones wait
    for event in events:
        if event.user_key is not None and event.user_key in held:
            continue  # kept in order: LINE brings it back after the one that failed
        try:
            with EVENT_SECONDS.time():
                delivery = await services.conversation.handle(event)
        except EngineFailed as exc:
            # this event's own trouble: the others in the body, other people's, go on
            log.exception("event %s failed; answering 500 so that LINE redelivers",
                          event.event_id)
            EVENTS.labels(event_type(event.source_type), "failed").inc()
            failures.append(exc)
            if event.user_key is not None:
                held.add(event.user_key)
            continue
        except Exception as exc:
            # the database or the like: the next events would fail the same way
            log.exception("webhook handling failed; answering 500 so that LINE redelivers")
            EVENTS.labels(event_type(event.source_type), "failed").inc()
            failures.append(exc)
            break
        EVENTS.labels(event_type(event.source_type), "handled").inc()
        if delivery is not None:
            committed.append(delivery)
    # what did commit gets its answer; a redelivery skips those events by their id
    background.add_task(services.conversation.deliver_all, committed)
    if failures:
        WEBHOOK_REQUESTS.labels("500").inc()
        for failure in failures:  # counted after the answer, each in its own transaction
            engine = isinstance(failure, EngineFailed)  # its message is only a class name
            background.add_task(incidents.record, services.db, "engine" if engine else "webhook",
                                str(failure) if engine else incidents.code_of(failure),
                                at=services.conversation.clock())
        return JSONResponse({"detail": "temporary failure, please redeliver"}, 500,
                            background=background)
    WEBHOOK_REQUESTS.labels("200").inc()
    return JSONResponse({"status": "ok", "events": len(events)}, background=background)
