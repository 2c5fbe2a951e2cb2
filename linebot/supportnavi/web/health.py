from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

router = APIRouter()


@router.get("/healthz")
async def healthz(request: Request) -> JSONResponse:
    services = request.app.state.services
    try:
        async with services.db.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:  # the point of a health check is to say so, not to raise
        return JSONResponse({"status": "down", "database": type(exc).__name__}, 503)
    return JSONResponse(
        {
            "status": "ok",
            "mode": "simulator" if services.settings.simulator_mode else "line",
            "routes": sorted(services.scenarios.routes),
            # a dispatcher paused by LINE's monthly quota still answers 200: the webhook works,
            # and `reminders.paused` says why no reminder goes out
            "reminders": services.dispatcher.status() if services.dispatcher is not None
            else {"running": False},
        }
    )
