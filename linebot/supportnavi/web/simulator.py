"""/simulator: a chat page that looks and behaves like LINE on a phone (simulator mode only).
The routes and the guard of its paths; what the page does is simulator/page.py's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.responses import FileResponse, JSONResponse
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from supportnavi.richmenu.layout import IMAGES
from supportnavi.settings import FAKE_LINE_PREFIX, is_loopback
from supportnavi.simulator.page import ActionIn, NotSent, Simulator
from supportnavi.web.deps import ServicesDep

STATIC_DIR = Path(__file__).resolve().parent / "static"
PAGE = STATIC_DIR / "simulator.html"
# Everything the page loads comes from this server: no CDN, no inline script.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
OFF = ("the simulator runs only in simulator mode (SUPPORTNAVI_SIMULATOR=true or "
       "`serve --simulator`); this server talks to a real LINE channel")
GUARDED = ("/simulator", FAKE_LINE_PREFIX)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

class LocalOnly:
    """Guards the simulator's paths (`/simulator…`, `/_fake_line…`), which have no login.

    Only a Host header naming this machine (a loopback name, or HOST as configured) is
    answered, else 400: with DNS rebinding, a page at evil.example whose name now points to
    127.0.0.1 reaches this server, but its requests still say `Host: evil.example`.

    A request that changes something must come from this server's own page, else 403: a
    browser sends a cross-site form POST without asking anyone, so under `/simulator` the
    body must be declared JSON (a form cannot, and a cross-site fetch that does must first
    pass a CORS preflight, which this server never grants); and whatever the browser says of
    where the request comes from (Sec-Fetch-Site, Origin) must be this origin. The bot's own
    calls to the fake send neither header."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app = app
        name = host.strip().lower().removeprefix("[").removesuffix("]")
        # "", 0.0.0.0 and :: (every interface) name no host a browser could be sent to
        self.own_host = name if name not in ("", "0.0.0.0", "::") else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not any(
            path == prefix or path.startswith(prefix + "/") for prefix in GUARDED
        ):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope, Headers(scope=scope))
        if refusal is not None:
            status, detail = refusal
            await JSONResponse({"detail": detail}, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _known(self, host: str) -> bool:
        name = _host_name(host)
        return name is not None and (is_loopback(name) or name == self.own_host)

    def refusal(self, scope: Scope, headers: Headers) -> tuple[int, str] | None:
        host = headers.get("host", "")
        if not self._known(host):
            return 400, ("the simulator answers only a Host header naming this machine "
                         "(localhost, 127.0.0.1, [::1] or its HOST), not "
                         f"{host[:100]!r}")
        if scope["method"] in SAFE_METHODS:
            return None
        site = headers.get("sec-fetch-site")
        if site is not None and site not in ("same-origin", "none"):
            return 403, (f"a cross-site request (Sec-Fetch-Site: {site[:40]}) cannot change "
                         "the simulator: only its own page can")
        origin = headers.get("origin")
        if origin is not None and origin.lower() != f"{scope['scheme']}://{host}".lower():
            return 403, (f"a request from another origin ({origin[:100]}) cannot change the "
                         "simulator: only its own page can")
        media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
        if scope["path"].startswith("/simulator") and media_type != "application/json":
            return 403, ("send Content-Type: application/json: the simulator takes no form, "
                         "which any other site could make a browser post here")
        return None


def _host_name(host: str) -> str | None:
    """The name in a Host header, without its port; None when it is no name at all."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8000
        name, bracket, rest = host[1:].partition("]")
        return name if bracket and (not rest or rest.startswith(":")) else None
    name, _, _ = host.partition(":")
    return name or None


router = APIRouter(prefix="/simulator")


def _simulator(services: ServicesDep) -> Simulator:
    simulator = services.simulator
    if simulator is None:
        raise HTTPException(404, OFF)
    return simulator


Sim = Annotated[Simulator, Depends(_simulator)]


@router.get("", include_in_schema=False)
async def page(_: Sim) -> FileResponse:
    return FileResponse(PAGE, media_type="text/html; charset=utf-8",
                        headers={"content-security-policy": PAGE_POLICY,
                                 "cache-control": "no-cache"})


@router.get("/richmenu/{name}")
async def richmenu_image(name: str, sim: Sim) -> FileResponse:
    for menu in sim.menus:
        if menu.image_file == name:
            return FileResponse(IMAGES / name, media_type="image/png")
    raise HTTPException(404, f"no rich-menu image {name!r}")


@router.get("/api/richmenu")
async def richmenu(sim: Sim) -> dict[str, Any]:
    return sim.richmenu()


@router.get("/api/users")
async def users(sim: Sim) -> dict[str, Any]:
    return {"users": [u.public() for u in sim.users.values()]}


@router.post("/api/users", status_code=201)
async def new_user(sim: Sim) -> dict[str, Any]:
    return sim.new_user().public()


@router.get("/api/messages")
async def messages(
    sim: Sim,
    user: Annotated[str, Query(pattern=r"^U[0-9a-f]{32}$",
                               description="the LINE user id the page acts as")],
    after: Annotated[int, Query(ge=0, description="the last entry the page has")] = 0,
) -> dict[str, Any]:
    """The person's chat after entry `after`: what they did and what reached them."""
    found = sim.users.get(user)
    if found is None:  # reading does not make a person up; their first action does
        default = sim.menus[0].alias_id if sim.menus else None
        return {"user": {"id": user, "number": None, "relation": "new", "richmenu": default},
                "entries": [], "cursor": 0, "epoch": sim.epoch}
    entries = sim.entries(found, after)
    return {"user": found.public(), "entries": entries, "cursor": len(found.entries),
            "epoch": sim.epoch}


@router.post("/api/events")
async def events(action: Annotated[ActionIn, Body()], sim: Sim) -> JSONResponse:
    """One action of the person, sent to /callback as LINE would send it."""
    try:
        return JSONResponse(await sim.act(action))
    except NotSent as failed:
        return JSONResponse({"detail": failed.detail}, failed.status)
