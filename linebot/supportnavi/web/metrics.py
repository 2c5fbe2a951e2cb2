from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest

WEBHOOK_REQUESTS = Counter(
    "supportnavi_webhook_requests_total", "POST /callback answers", ["status"]
)
EVENTS = Counter("supportnavi_events_total", "webhook events handled", ["type", "outcome"])
DELIVERIES = Counter("supportnavi_deliveries_total", "replies and pushes sent", ["ok"])
WEBHOOK_SECONDS = Histogram(
    "supportnavi_webhook_seconds", "time to answer POST /callback",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0),
)

router = APIRouter()


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
