"""/admin: the operator dashboard. Off (404 on every /admin path) unless SUPPORTNAVI_ADMIN_TOKEN
is set; then each page needs the token, as `Authorization: Bearer <token>` or, for a person
with a browser, a session cookie that the login form sets.

The cookie never holds the token: it holds a session's random id and an HMAC of that, keyed
with the token. The session is a row (admin/sessions.py), so logout ends it on the server and
it expires there; the HMAC makes a forged id cost no query, and a new token ends every
session. Wrong tokens are throttled per address and in all (admin/throttle.py): a locked-out
attempt gets 429 with Retry-After before its token is compared. Pages are server-rendered
HTML without a script.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.resources import files
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from supportnavi.admin import charts, inbox, sessions
from supportnavi.admin.queries import (
    IDLE,
    MAX_DAYS,
    REMINDER_STATUSES,
    VISIT_DEFINITION,
    Ending,
    Funnel,
    Reader,
    Summary,
    daily,
    summary,
)
from supportnavi.admin.throttle import Throttle
from supportnavi.engine.content import Route
from supportnavi.engine.graph import svg as route_svg
from supportnavi.engine.scenarios import Scenarios
from supportnavi.reminders.rules import format_ja
from supportnavi.services import Services
from supportnavi.web.deps import ServicesDep

COOKIE = "supportnavi_admin"
SESSION_SECONDS = 12 * 3600
LOGIN_BODY_MAX = 4096
OFF = "the operator dashboard is off: set SUPPORTNAVI_ADMIN_TOKEN to turn it on"
# No script at all, styles only from our own file, nothing framed: a dashboard has no need.
HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def router() -> APIRouter:
    """The /admin routes; their templates are read once, here, when the app is made."""
    templates = Environment(
        loader=PackageLoader("supportnavi.admin", "templates"),
        autoescape=select_autoescape(default=True),
        trim_blocks=True, lstrip_blocks=True,
    )
    templates.globals.update(
        funnel_chart=_funnel_chart, routes_chart=_routes_chart, users_chart=_users_chart,
        route_graph=_route_graph, rate=_rate, busiest=_busiest, statuses=REMINDER_STATUSES,
        at=_at, no_rate=_no_rate,
    )
    templates.filters.update(local=_local, day=format_ja)
    api = APIRouter()

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(name).render(
            idle_minutes=int(IDLE.total_seconds() // 60), session_hours=SESSION_SECONDS // 3600,
            **values
        )
        return HTMLResponse(html, status, headers={**HEADERS, **_refusal_headers(
            status, values.get("retry_after"))})

    def login_page(request: Request, refusal: _Refused) -> HTMLResponse:
        return page(request, "login.html", refusal.status, reason=refusal.reason,
                    failed=refusal.reason == WRONG, retry_after=refusal.retry_after)

    async def refused(request: Request, services: Services, *, json: bool) -> Response | None:
        """None when the request may see the dashboard; else the 404, 401 or 429 to answer."""
        token = _token(services)
        if token is None:
            return JSONResponse({"detail": OFF}, 404)
        verdict = await _verdict(request, services, token)
        if verdict is None:
            return None
        if json:
            return JSONResponse({"detail": verdict.reason}, verdict.status,
                                headers=_refusal_headers(verdict.status, verdict.retry_after))
        return login_page(request, verdict)

    def bad_range(request: Request, asked: _Asked, reason: str) -> HTMLResponse:
        """A page whose dates cannot be read: its form again, with the reason, as a 400."""
        return page(request, "range_error.html", 400, reason=reason, asked=asked)

    @api.get("/admin", response_class=HTMLResponse)
    async def overview(request: Request, services: ServicesDep, asked: AskedDep) -> Response:
        if (refusal := await refused(request, services, json=False)) is not None:
            return refusal
        scenarios = services.scenarios  # one edition for the whole page
        found = await _summary(services, asked, scenarios)
        if isinstance(found, str):
            return bad_range(request, asked, found)
        return page(request, "overview.html", numbers=found, kinds=_kind_names(scenarios),
                    q=asked.query())

    async def one_route(
        request: Request, services: Services, route_id: str, asked: _Asked, *, html: bool,
    ) -> Response | tuple[Summary, Route]:
        """A route's page, picture and CSV: the token, the route, the dates, the numbers."""
        if (refusal := await refused(request, services, json=not html)) is not None:
            return refusal
        scenarios = services.scenarios  # one edition for the whole page
        if route_id not in scenarios.routes:
            return JSONResponse({"detail": f"no route {route_id!r}"}, 404)
        found = await _summary(services, asked, scenarios)
        if isinstance(found, str):
            return (bad_range(request, asked, found) if html
                    else JSONResponse({"detail": found}, 400, headers=HEADERS))
        return found, scenarios.routes[route_id]

    @api.get("/admin/routes/{route_id}", response_class=HTMLResponse)
    async def route_page(
        request: Request, services: ServicesDep, route_id: str, asked: AskedDep,
    ) -> Response:
        found = await one_route(request, services, route_id, asked, html=True)
        if isinstance(found, Response):
            return found
        numbers, route = found
        return page(request, "route.html", numbers=numbers, funnel=numbers.funnel(route_id),
                    route=route, q=asked.query())

    @api.get("/admin/routes/{route_id}/graph.svg")
    async def route_graph(
        request: Request, services: ServicesDep, route_id: str, asked: AskedDep,
    ) -> Response:
        found = await one_route(request, services, route_id, asked, html=False)
        if isinstance(found, Response):
            return found
        numbers, route = found
        return Response(_route_graph(numbers.funnel(route_id), route),
                        media_type="image/svg+xml", headers=HEADERS)

    # --- the inbox of what the bot could not place (issue 18) -----------------------------

    @api.get("/admin/unmatched", response_class=HTMLResponse)
    async def unmatched_page(
        request: Request, services: ServicesDep, accepted: int | None = Query(None, ge=1),
    ) -> Response:
        if (refusal := await refused(request, services, json=False)) is not None:
            return refusal
        reader, scenarios = _reader(services), services.scenarios
        fresh = await inbox.entries(reader, status="new", limit=inbox.PAGE_MOST)
        taken = await inbox.entries(reader, status="accepted")
        just = next((e for e in taken if e.id == accepted), None)
        return page(request, "unmatched.html", entries=fresh, taken=taken, just=just,
                    places=inbox.places(scenarios), names=dict(inbox.places(scenarios)),
                    yaml_line=inbox.yaml_line, days=services.settings.unmatched_days,
                    zone=services.settings.zone, most=inbox.PAGE_MOST)

    @api.post("/admin/unmatched/{entry_id}/accept")
    async def unmatched_accept(request: Request, services: ServicesDep, entry_id: int) -> Response:
        if (refusal := await changing(request, services)) is not None:
            return refusal
        form = await _form(request)
        if isinstance(form, Response):
            return form
        place = inbox.parse_place(services.scenarios, form.get("place", ""))
        if place is None:
            return JSONResponse({"detail": "place must be a route id or route.node of the "
                                           "scenarios"}, 400, headers=HEADERS)
        if not await inbox.accept(services.db, entry_id, *place):
            return JSONResponse({"detail": f"no inbox entry {entry_id}"}, 404, headers=HEADERS)
        return RedirectResponse(f"/admin/unmatched?accepted={entry_id}#accepted-{entry_id}",
                                303, headers={"Cache-Control": "no-store"})

    @api.post("/admin/unmatched/{entry_id}/ignore")
    async def unmatched_ignore(request: Request, services: ServicesDep, entry_id: int) -> Response:
        if (refusal := await changing(request, services)) is not None:
            return refusal
        if not await inbox.ignore(services.db, entry_id):
            return JSONResponse({"detail": f"no inbox entry {entry_id}"}, 404, headers=HEADERS)
        return RedirectResponse("/admin/unmatched", 303, headers={"Cache-Control": "no-store"})

    async def changing(request: Request, services: Services) -> Response | None:
        """A form that changes something: the token, and from a page of this server (the
        cookie is SameSite=Strict already; a browser's Sec-Fetch-Site and Origin say so
        too)."""
        if (refusal := await refused(request, services, json=False)) is not None:
            return refusal
        if (reason := _cross_site(request)) is not None:
            return JSONResponse({"detail": reason}, 403, headers=HEADERS)
        return None

    @api.get("/admin/api/unmatched")
    async def api_unmatched(
        request: Request, services: ServicesDep,
        status: inbox.Status | None = None,
    ) -> Response:
        if (refusal := await refused(request, services, json=True)) is not None:
            return refusal
        found = await inbox.entries(_reader(services), status=status, order="recent")
        return JSONResponse({"items": [e.as_json() for e in found]}, headers=HEADERS)

    @api.get("/admin/api/summary")
    async def api_summary(request: Request, services: ServicesDep, asked: AskedDep) -> Response:
        if (refusal := await refused(request, services, json=True)) is not None:
            return refusal
        found = await _summary(services, asked)
        if isinstance(found, str):
            return JSONResponse({"detail": found}, 400, headers=HEADERS)
        return JSONResponse(_as_json(found), headers=HEADERS)

    @api.get("/admin/export/daily.csv")
    async def daily_csv(request: Request, services: ServicesDep, asked: AskedDep) -> Response:
        if (refusal := await refused(request, services, json=True)) is not None:
            return refusal
        window = _resolve(services, asked)
        if isinstance(window, str):
            return JSONResponse({"detail": window}, 400, headers=HEADERS)
        first, last = window
        found = await summary(_reader(services), services.scenarios,
                              services.conversation.clock(), services.settings.zone,
                              first_day=first, last_day=last, with_funnels=False)
        days = await daily(_reader(services), services.scenarios,
                           services.conversation.clock(), services.settings.zone, first, last)
        users = {d.day: d for d in found.users.days}
        rows: list[list[Any]] = [["day", "new_users", "blocked", "visits", "reached_end", "gave_up",
                 "in_progress", "yes", "no", "steps"]]
        for d in days:
            u = users[d.day]
            rows.append([d.day.isoformat(), u.new, u.blocked, d.visits, d.reached_end,
                         d.gave_up, d.in_progress, d.yes, d.no, d.steps])
        return _csv(rows, f"supportnavi-daily-{first}-{last}.csv")

    @api.get("/admin/export/funnel/{route_id}.csv")
    async def funnel_csv(
        request: Request, services: ServicesDep, route_id: str, asked: AskedDep,
    ) -> Response:
        found = await one_route(request, services, route_id, asked, html=False)
        if isinstance(found, Response):
            return found
        numbers, _ = found
        f = numbers.funnel(route_id)
        span = [str(numbers.first_day), str(numbers.last_day)]
        rows: list[list[Any]] = [
            ["from", "to", "route", "node", "title", "end", "visits", "reached_end",
             "gave_up", "in_progress", "yes", "no"],
            [*span, f.route, "", f.title, "", f.started, f.reached_end, f.gave_up,
             f.in_progress, f.yes, f.no],
        ]
        rows += [[*span, f.route, n.node, n.title, "yes" if n.end else "", n.visits, "",
                  n.gave_up, "", "", ""] for n in f.nodes]
        return _csv(rows, f"supportnavi-funnel-{route_id}-{span[0]}-{span[1]}.csv")

    @api.post("/admin/login")
    async def login(request: Request, services: ServicesDep) -> Response:
        token = _token(services)
        if token is None:
            return JSONResponse({"detail": OFF}, 404)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > LOGIN_BODY_MAX:
                return JSONResponse({"detail": f"a login form is under {LOGIN_BODY_MAX} bytes"},
                                    413)
        typed = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0].strip()
        # From the check to the count, nothing awaits: checked before the form was read, a
        # burst of slow forms would all pass the check and all be compared.
        throttle, address = _throttle(services), _address(request)
        if (lockout := throttle.check(address)) is not None:
            return login_page(request, _Refused(lockout.reason, 429, lockout.retry_after))
        if not typed or not _same(typed, token):
            throttle.failed(address)
            return login_page(request, _Refused(WRONG))
        throttle.succeeded(address)
        session_id = await sessions.open_session(services.db, datetime.now(UTC),
                                                 timedelta(seconds=SESSION_SECONDS))
        response = RedirectResponse("/admin", 303, headers={"Cache-Control": "no-store"})
        response.set_cookie(
            COOKIE, _cookie(token, session_id), max_age=SESSION_SECONDS, path="/admin",
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )
        return response

    @api.post("/admin/logout")
    async def logout(request: Request, services: ServicesDep) -> Response:
        token = _token(services)
        if token is None:
            return JSONResponse({"detail": OFF}, 404)
        # only a cookie the token signed names a session to end: nobody logs another out
        session_id = _session_id(request.cookies.get(COOKIE), token)
        if session_id is not None:
            await sessions.end_session(services.db, session_id)
        response = RedirectResponse("/admin", 303, headers={"Cache-Control": "no-store"})
        response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="strict",
                               secure=request.url.scheme == "https")
        return response

    @api.get("/admin/static/admin.css")
    async def stylesheet(services: ServicesDep) -> Response:
        if _token(services) is None:
            return JSONResponse({"detail": OFF}, 404)
        css = files("supportnavi.web").joinpath("static/admin.css").read_text(encoding="utf-8")
        return Response(css, media_type="text/css",
                        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options":
                                 "nosniff"})

    @api.api_route("/admin/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    async def elsewhere(services: ServicesDep, rest: str) -> Response:
        detail = OFF if _token(services) is None else f"no page /admin/{rest}"
        return JSONResponse({"detail": detail}, 404)

    return api


# --- who may look ---------------------------------------------------------------------------


FORM_BODY_MAX = 4096


async def _form(request: Request) -> dict[str, str] | Response:
    """A small urlencoded form's fields (the first value of each), or the 413 to answer."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_BODY_MAX:
            return JSONResponse({"detail": f"a form is under {FORM_BODY_MAX} bytes"}, 413,
                                headers=HEADERS)
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items() if v}


def _cross_site(request: Request) -> str | None:
    """Why a change did not come from a page of this server, or None."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return f"a change must come from the dashboard itself (Sec-Fetch-Site: {fetch_site})"
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        host = origin.partition("://")[2]
        if host != request.headers.get("host", ""):
            return "a change must come from the dashboard itself (Origin is another site)"
    return None


WRONG = "wrong token"


@dataclass(frozen=True)
class _Refused:
    """Why a request may not see the dashboard, and the status that says so."""

    reason: str
    status: int = 401
    retry_after: int | None = None  # seconds, with 429


def _refusal_headers(status: int, retry_after: int | None) -> dict[str, str]:
    if status == 401:
        return {"WWW-Authenticate": 'Bearer realm="supportnavi admin"'}
    if status == 429 and retry_after is not None:
        return {"Retry-After": str(retry_after)}
    return {}


def _throttle(services: Services) -> Throttle:
    throttle: Throttle | None = services.admin_throttle
    assert throttle is not None, "made by the app whenever SUPPORTNAVI_ADMIN_TOKEN is set"
    return throttle


def _reader(services: Services) -> Reader:
    assert services.admin is not None, "made by the app whenever SUPPORTNAVI_ADMIN_TOKEN is set"
    return services.admin


def _address(request: Request) -> str | None:
    """The client's address: behind a proxy uvicorn trusts (SUPPORTNAVI_FORWARDED_ALLOW_IPS),
    the one it forwarded for, not the proxy's own."""
    return request.client.host if request.client is not None else None


def _token(services: Services) -> str | None:
    return services.settings.admin_token


def _same(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode(), token.encode())


def _cookie(token: str, session_id: str) -> str:
    signature = hmac.new(token.encode(), f"supportnavi-admin:{session_id}".encode(),
                         hashlib.sha256)
    return f"{session_id}.{signature.hexdigest()}"


def _session_id(cookie: str | None, token: str) -> str | None:
    """The session id in a cookie that this token signed; None for any other cookie."""
    if cookie is None:
        return None
    session_id, _, _ = cookie.partition(".")
    if not (0 < len(session_id) <= sessions.ID_MAX and session_id.isascii()):
        return None
    return session_id if _same(cookie, _cookie(token, session_id)) else None


async def _verdict(request: Request, services: Services, token: str) -> _Refused | None:
    """None: let in. Otherwise why not, in a few words (never echoing what was sent)."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _Refused("the Authorization header must be: Bearer <token>")
        throttle, address = _throttle(services), _address(request)
        if (lockout := throttle.check(address)) is not None:
            return _Refused(lockout.reason, 429, lockout.retry_after)
        if not _same(given.strip(), token):
            throttle.failed(address)
            return _Refused(WRONG)
        throttle.succeeded(address)
        return None
    cookie = request.cookies.get(COOKIE)
    if cookie is None:
        return _Refused("the dashboard needs the token")
    session_id = _session_id(cookie, token)
    if session_id is None:
        return _Refused("the session is not valid: log in again")
    ends = await sessions.expires_at(_reader(services), session_id)
    if ends is None:
        return _Refused("the session has ended (logged out): log in again")
    if ends <= datetime.now(UTC):
        return _Refused("the session has expired: log in again")
    return None


# --- the numbers and their pictures ---------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """The dates a page was asked for, as given: `days` up to today (the default), or from/to
    (local days in SUPPORTNAVI_TZ, YYYY-MM-DD, both included)."""

    days: int
    start: str | None
    end: str | None

    def query(self) -> str:
        """The same dates for a link: "" for the default."""
        found: dict[str, Any] = {}
        if self.start or self.end:
            found = {k: v for k, v in (("from", self.start), ("to", self.end)) if v}
        elif self.days != 28:
            found = {"days": self.days}
        return "?" + urlencode(found) if found else ""


def _asked(
    days: int = Query(28, ge=1, le=MAX_DAYS),
    start: str | None = Query(None, alias="from", max_length=32),
    end: str | None = Query(None, alias="to", max_length=32),
) -> _Asked:
    return _Asked(days, start or None, end or None)


AskedDep = Annotated[_Asked, Depends(_asked)]


def _resolve(services: Services, asked: _Asked) -> tuple[date, date] | str:
    """The local days asked for, or why they cannot be shown."""
    today = services.conversation.clock().astimezone(services.settings.zone).date()
    parsed: dict[str, date | None] = {}
    for name, given in (("from", asked.start), ("to", asked.end)):
        try:
            parsed[name] = date.fromisoformat(given) if given else None
        except ValueError:
            return f"{name}={given!r} is not a date: write it as YYYY-MM-DD, e.g. {today}"
    first, last = parsed["from"], parsed["to"]
    if first is None and last is None:
        return today - timedelta(days=asked.days - 1), today
    last = last or today
    first = first or last - timedelta(days=asked.days - 1)
    if first > last:
        return f"from ({first}) is after to ({last})"
    if last > today:
        return f"to ({last}) is after today ({today})"
    if first < today - timedelta(days=MAX_DAYS - 1):
        return (f"from ({first}) is more than {MAX_DAYS} days ago: the dashboard keeps the "
                f"last {MAX_DAYS} days")
    return first, last


async def _summary(services: Services, asked: _Asked, scenarios: Scenarios | None = None
                   ) -> Summary | str:
    window = _resolve(services, asked)
    if isinstance(window, str):
        return window
    return await summary(_reader(services), scenarios or services.scenarios,
                         services.conversation.clock(), services.settings.zone,
                         first_day=window[0], last_day=window[1])


def _csv(rows: list[list[Any]], name: str) -> Response:
    """A CSV download: UTF-8 with a byte order mark, so that a spreadsheet reads the Japanese."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return Response("\ufeff" + out.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={**HEADERS, "Content-Disposition": f'attachment; filename="{name}"'})


def _kind_names(scenarios: Scenarios) -> dict[str, str]:
    reminders = scenarios.system.reminders
    return {kind: text.name for kind, text in reminders.items()}


def _as_json(found: Summary) -> dict[str, Any]:
    data = asdict(found)
    for funnel, out in zip(found.funnels, data["funnels"], strict=True):
        out["yes_rate"] = funnel.yes_rate
        for ending, shown in zip(funnel.endings, out["endings"], strict=True):
            shown["no_rate"] = ending.no_rate
    data["definitions"] = {"visit": VISIT_DEFINITION}
    return _plain(data)  # type: ignore[no-any-return]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _local(at: datetime, numbers: Summary) -> str:
    local = at.astimezone(ZoneInfo(numbers.timezone))
    return f"{format_ja(local.date())} {local.hour}:{local.minute:02d}"


def _at(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{format_ja(local.date())} {local.hour}:{local.minute:02d}"


def _no_rate(ending: Ending) -> str:
    rate = ending.no_rate
    return "—" if rate is None else f"{rate:.0%}"


def _rate(funnel: Funnel) -> str:
    rate = funnel.yes_rate
    return "—" if rate is None else f"{rate:.0%}"


def _funnel_chart(funnel: Funnel, title: str, started: str, ended: str,
                  legend: tuple[str, str], note: str) -> Markup:
    bars = [charts.Bar(started, funnel.started)]
    bars += [charts.Bar(n.title, n.visits, n.gave_up) for n in funnel.nodes]
    bars.append(charts.Bar(ended, funnel.reached_end))
    return Markup(charts.hbars(f"funnel-{funnel.route}", title, bars, legend=legend, note=note))


def _routes_chart(funnels: list[Funnel], title: str, legend: tuple[str, str],
                  note: str) -> Markup:
    bars = [charts.Bar(f.title, f.started, f.reached_end) for f in _busiest(funnels) if f.started]
    return Markup(charts.hbars("routes", title, bars, legend=legend, note=note,
                               part_colour=charts.REACHED))


def _busiest(funnels: list[Funnel]) -> list[Funnel]:
    """Most visited first; ties keep the menu's order."""
    return sorted(funnels, key=lambda f: -f.started)


def _users_chart(numbers: Summary, title: str, new: str, blocked: str) -> Markup:
    days = numbers.users.days
    labels = [f"{d.day.month}/{d.day.day}" for d in days]
    series = [(new, [d.new for d in days]), (blocked, [d.blocked for d in days])]
    return Markup(charts.columns("users", title, labels, series))


def _route_graph(funnel: Funnel, route: Any) -> Markup:
    return Markup(route_svg(route, funnel.counts()))
