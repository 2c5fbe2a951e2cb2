from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from supportnavi.web.deps import ServicesDep

router = APIRouter()


@router.get("/healthz")
async def healthz(services: ServicesDep) -> JSONResponse:
    try:
        await services.db.check()  # SQLite: can a write have the lock (reads go on regardless)
    except Exception as exc:  # the point of a health check is to say so, not to raise
        return JSONResponse({"status": "down", "database": type(exc).__name__}, 503)
    reminders = (services.dispatcher.status() if services.dispatcher is not None
                 else {"running": False})
    edition = services.live.current
    return JSONResponse(
        {
            # the webhook works (200), but a dispatcher whose passes fail sends no reminder
            "status": "degraded" if reminders.get("failing") else "ok",
            "mode": "simulator" if services.settings.simulator_mode else "line",
            "routes": sorted(edition.scenarios.routes),
            # the edition served, and why the last change to the files was not loaded (null
            # once one loaded): a broken change keeps the old edition serving, so still 200
            "scenarios": {"version": edition.version, "error": services.live.error},
            # a dispatcher paused by LINE's monthly quota still answers 200: the webhook works,
            # and `reminders.paused` says why no reminder goes out
            "reminders": reminders,
        }
    )
