"""GET /metrics: the counters of every part of the bot, and a few numbers read from the
database at scrape time (they are the same whichever worker answers, and survive restarts)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from supportnavi.metrics import (  # noqa: F401 - re-exported for the routes that count
    EVENT_SECONDS,
    EVENTS,
    LINE_REQUESTS,
    REMINDERS,
    WEBHOOK_REQUESTS,
    WEBHOOK_SECONDS,
    registry,
)
from supportnavi.services import Services
from supportnavi.store.models import Outbox, Reminder
from supportnavi.web.deps import ServicesDep

log = logging.getLogger(__name__)
router = APIRouter()


async def _from_database(services: Services) -> bytes:
    """Reminder rows by status and kind, reminders due now, replies not yet sent."""
    db = services.db
    fresh = CollectorRegistry()
    up = Gauge("supportnavi_database_up", "1 when the database answered this scrape",
               registry=fresh)
    try:
        now = datetime.now(UTC)
        async with db.sessions() as session:
            by_status = (await session.execute(
                select(Reminder.status, Reminder.kind, func.count())
                .group_by(Reminder.status, Reminder.kind)
            )).all()
            due = (await session.execute(
                select(func.count()).select_from(Reminder)
                .where(Reminder.status == "pending", Reminder.next_attempt_at <= now)
            )).scalar_one()
            unsent = (await session.execute(
                select(func.count()).select_from(Outbox).where(Outbox.status == "pending")
            )).scalar_one()
    except Exception as exc:  # a scrape says the database is down; it does not fail
        log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
        up.set(0)
        return generate_latest(fresh)
    up.set(1)
    rows = Gauge("supportnavi_reminders", "reminder rows in the database, by status and kind",
                 ["status", "kind"], registry=fresh)
    for status, kind, count in by_status:
        rows.labels(status, kind).set(count)
    Gauge("supportnavi_reminders_due", "pending reminder rows whose time has come",
          registry=fresh).set(due)
    Gauge("supportnavi_outbox_pending", "decided answers not yet sent to LINE",
          registry=fresh).set(unsent)
    return generate_latest(fresh)


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    body = generate_latest(registry()) + await _from_database(services)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
