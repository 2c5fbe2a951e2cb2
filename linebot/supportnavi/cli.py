"""The `supportnavi` command: every subcommand, each a thin shell over compose.py and the parts
it builds. One module on purpose, though over 450 lines: a command is its flags, its checks
and a few calls, and each imports what it needs inside itself, so that `supportnavi --help`
and `lint` start fast."""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Coroutine
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from supportnavi.settings import Settings

if TYPE_CHECKING:
    from supportnavi.store.db import Database

app = typer.Typer(help="supportnavi: an unofficial LINE guide to Amazon support.",
                  no_args_is_help=True, add_completion=False)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
reminders_app = typer.Typer(help="Deadline reminders.", no_args_is_help=True)
app.add_typer(reminders_app, name="reminders")
richmenu_app = typer.Typer(help="The rich menu at the bottom of the chat.", no_args_is_help=True)
app.add_typer(richmenu_app, name="richmenu")
examples_app = typer.Typer(help="Examples for the scenarios, from the operators' inbox.",
                           no_args_is_help=True)
app.add_typer(examples_app, name="examples")


def _settings(overrides: dict[str, str] | None = None) -> Settings:
    """Settings() (with a command's flags over the environment), or exit 2 naming each setting
    that is wrong and why: a message for the operator, not a traceback (and never the value,
    which may be a secret)."""
    from pydantic import ValidationError

    try:
        return Settings.model_validate(overrides or {})
    except ValidationError as exc:
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            why = str(error["msg"]).removeprefix("Value error, ")
            typer.echo(f"refusing to start: {where}: {why}", err=True)
        raise typer.Exit(2) from None


def _refuse_misconfigured(settings: Settings) -> None:
    if (problem := settings.start_problem()) is not None:
        typer.echo(f"refusing to start: {problem}", err=True)
        raise typer.Exit(2)


async def _start_on(db: Database, settings: Settings) -> None:
    """store/mode.py's check, as a refusal with exit status 2 (a lifespan that raises makes
    uvicorn exit with 3 and a traceback: `serve` checks before it starts uvicorn)."""
    from sqlalchemy.exc import SQLAlchemyError

    from supportnavi.store.mode import WrongDatabase, start_on

    try:
        await start_on(db, settings.simulator_mode)
    except WrongDatabase as exc:
        typer.echo(f"refusing to start: {exc}", err=True)
        raise typer.Exit(2) from None
    except (SQLAlchemyError, OSError) as exc:  # only the simulator fails closed on these
        typer.echo(f"refusing to start: the simulator could not read which mode has used the "
                   f"database ({type(exc).__name__}); is it migrated (`supportnavi db "
                   f"upgrade`) and up?", err=True)
        raise typer.Exit(2) from None


def _refuse_a_line_database(settings: Settings) -> None:
    """The simulator's check before its server starts: exit 2 on a LINE channel's database."""
    import asyncio

    from supportnavi import compose

    async def check() -> None:
        db = compose.database(settings)
        try:
            await _start_on(db, settings)
        finally:
            await db.dispose()

    asyncio.run(check())


def _logging(settings: Settings) -> None:
    from supportnavi import logs

    logs.configure(settings)


@reminders_app.command("dispatch")
def reminders_dispatch(
    once: Annotated[bool, typer.Option("--once", help="one pass over what is due")] = False,
    now: Annotated[
        str | None, typer.Option("--now", help="fix the clock (ISO 8601, with an offset)")
    ] = None,
    interval: Annotated[float | None, typer.Option(
        help="seconds between passes (SUPPORTNAVI_DISPATCH_INTERVAL, 30, by default)")] = None,
) -> None:
    """Push due reminders: once, or every --interval seconds until stopped."""
    import asyncio
    import gc
    from datetime import UTC, datetime

    settings = _settings()
    _logging(settings)
    _refuse_misconfigured(settings)
    fixed: datetime | None = None
    if now is not None:
        try:
            fixed = datetime.fromisoformat(now)
        except ValueError:
            typer.echo(f"--now {now!r} is not an ISO 8601 date-time", err=True)
            raise typer.Exit(2) from None
        if fixed.tzinfo is None:
            typer.echo("--now needs an offset, e.g. 2026-12-02T09:00+09:00", err=True)
            raise typer.Exit(2)
        fixed = fixed.astimezone(UTC)

    every = interval if interval is not None else settings.dispatch_interval_seconds

    async def run() -> None:
        from supportnavi import compose

        db = compose.database(settings)
        try:  # the simulator's dispatcher never pushes a LINE channel's reminders
            await _start_on(db, settings)
        except BaseException:
            await db.dispose()
            raise
        sender = compose.sender(settings, replies=False)
        dispatcher = compose.dispatcher(settings, db, sender, compose.scenarios(settings),
                                        workers=1)
        # what start-up loaded stays: out of the collector's sight, a full collection (each a
        # pause in the sending, then a burst) no longer walks it (see create_app)
        gc.collect()
        gc.freeze()
        try:
            while True:
                report = await dispatcher.run_once(fixed or datetime.now(UTC))
                paused = f", paused: {report.paused}" if report.paused else ""
                typer.echo(
                    f"sent {report.sent}, retried {report.retried}, failed {report.failed}, "
                    f"deferred {report.deferred}, skipped {report.skipped} "
                    f"({report.pushes} pushes, {report.multicasts} multicasts){paused}"
                )
                if once:
                    return
                await asyncio.sleep(every)
        finally:
            await sender.close()
            await db.dispose()

    _run_fast(run())


def _run_fast(main: Coroutine[Any, Any, None]) -> None:
    """asyncio.run on uvloop when it is installed (uvicorn[standard] brings it; `serve` uses it
    too): the dispatcher is bound by the client's CPU per request, and uvloop cuts it."""
    import asyncio

    try:
        import uvloop
    except ImportError:  # pragma: no cover - a platform without uvloop
        asyncio.run(main)
        return
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Run Alembic migrations to head."""
    from supportnavi.migrate import upgrade

    upgrade(_settings().database_url)


@db_app.command("prune")
def db_prune(
    now: Annotated[str | None, typer.Option(help="the clock, ISO 8601 with an offset")] = None,
) -> None:
    """Delete what is past its retention now (serve does this every hour by itself)."""
    from datetime import UTC, datetime

    from supportnavi import compose

    settings = _settings()
    at = datetime.fromisoformat(now) if now else datetime.now(UTC)
    if at.tzinfo is None:
        raise typer.BadParameter("--now needs an offset, e.g. 2026-12-05T09:00+09:00")

    async def run() -> None:
        db = compose.database(settings)
        try:
            deleted = await compose.housekeeper(settings, db).run_once(at)
        finally:
            await db.dispose()
        typer.echo(" ".join(f"{table}={n}" for table, n in deleted.items()))

    _run_fast(run())


@examples_app.command("export")
def examples_export(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="write here instead of stdout")] = None,
) -> None:
    """Every inbox entry accepted on /admin/unmatched, as YAML grouped by route and node: one
    document per scenarios/<route>.yaml, with that file's keys (examples:, nodes: <node>:
    examples:), to paste there."""
    from supportnavi import compose
    from supportnavi.admin import inbox
    from supportnavi.admin.queries import Reader

    settings = _settings()

    async def run() -> None:
        db = compose.database(settings)
        reader = Reader(db)
        try:
            accepted = await inbox.entries(reader, status="accepted", limit=None)
        finally:
            await reader.dispose()
            await db.dispose()
        written = inbox.export(accepted)
        if out is None:
            typer.echo(written, nl=False)
        else:
            out.write_text(written, encoding="utf-8")
            typer.echo(f"{len(accepted)} examples written to {out}", err=True)

    _run_fast(run())


@app.command()
def serve(
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes")] = 1,
    host: Annotated[str | None, typer.Option(help="bind address (default $HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="port (default $PORT)")] = None,
    migrate: Annotated[bool, typer.Option(help="run migrations before serving")] = True,
    dispatcher: Annotated[bool, typer.Option(
        help="run the reminder dispatcher in the server (--no-dispatcher: run it apart, with "
             "`supportnavi reminders dispatch`)"
    )] = True,
    simulator: Annotated[bool, typer.Option(
        "--simulator", help="simulator mode (SUPPORTNAVI_SIMULATOR=true): no LINE credentials, "
                            "a fake LINE API in the process and the /simulator page, on "
                            "loopback only, never on a LINE channel's database"
    )] = False,
) -> None:
    """Serve the webhook (POST /callback), /healthz and /metrics; and push due reminders.

    With --workers N every worker runs a dispatcher with 1/N of LINE's rate limits: claims
    never overlap (SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite, and a lease), so
    nothing goes twice. On SQLite one writer is enough; prefer --no-dispatcher there and one
    `supportnavi reminders dispatch` process."""
    import os

    import uvicorn

    from supportnavi import compose
    from supportnavi.edition import ignore_sighup
    from supportnavi.engine.errors import ScenarioError

    # A SIGHUP means "reload the scenarios" (`supportnavi reload`): until the app listens
    # for it, it is ignored, not the end of the process (the workers inherit this)
    ignore_sighup()
    # the flags, over the environment: read once, here
    flags = {"HOST": host, "PORT": None if port is None else str(port),
             "SUPPORTNAVI_DISPATCHER": None if dispatcher else "false",
             "SUPPORTNAVI_SIMULATOR": "true" if simulator else None}
    overrides = {name: value for name, value in flags.items() if value is not None}
    settings = _settings(overrides)
    _logging(settings)
    _refuse_misconfigured(settings)
    try:
        compose.scenarios(settings)
    except ScenarioError as exc:
        typer.echo(f"refusing to start: the scenarios are broken\n{exc}", err=True)
        raise typer.Exit(1) from exc
    if settings.simulator_mode and workers > 1:
        typer.echo("simulator mode keeps its fake LINE API in one process: using 1 worker",
                   err=True)
        workers = 1
    if migrate:
        from supportnavi.migrate import upgrade

        upgrade(settings.database_url)
    if settings.simulator_mode:
        _refuse_a_line_database(settings)  # after the migrations: `meta` is one of them
        typer.echo(f"simulator mode: LINE calls go to the fake LINE API in this process. "
                   f"Open {settings.local_base_url()}/simulator, or chat with: supportnavi "
                   f"chat --url {settings.local_base_url()}", err=True)
    from supportnavi import logs
    from supportnavi.app import create_app

    # one Config for every worker: what it believes of a proxy holds in each of them
    common: dict[str, Any] = {
        "host": settings.host, "port": settings.port, "log_level": settings.log_level.lower(),
        "log_config": logs.config(settings), "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips}
    pidfile = settings.pidfile_path()
    _write_pidfile(pidfile)
    try:
        if workers == 1:
            _remove_pidfile_on_sigterm(pidfile)
            # the settings read above are the app's: nothing goes through the environment
            uvicorn.run(create_app(settings.model_copy(update={"workers": 1})), **common)
            return
        # Workers are processes that read their settings as this one did: from the
        # environment, given the same flags (and their share of the rate limits), before they
        # start.
        os.environ.update(overrides | {"SUPPORTNAVI_WORKERS": str(workers)})
        _share_metrics()
        _run_workers(uvicorn.Config("supportnavi.app:create_app_from_env", factory=True,
                                    workers=workers, **common))
    finally:
        _remove_pidfile(pidfile)


def _run_workers(config: Any) -> None:
    """uvicorn.run's supervisor for `--workers N`, but a SIGHUP is passed on to every worker,
    each of which reloads the scenarios (edition.py): uvicorn's own answer to SIGHUP replaces
    every worker, a restart of each (seconds of loading, its dispatcher and relay stopped)."""
    import contextlib
    import logging
    import os
    import signal

    from uvicorn.supervisors import Multiprocess

    log = logging.getLogger("uvicorn.error")

    class Workers(Multiprocess):
        def handle_hup(self) -> None:
            log.info("Received SIGHUP: every worker reloads the scenarios.")
            for process in self.processes:
                if process.pid is not None:
                    # one that just died: its replacement loads the files anew
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(process.pid, signal.SIGHUP)

    sock = config.bind_socket()
    try:
        Workers(config, sockets=[sock]).run()
    finally:
        sock.close()


def _write_pidfile(path: Path) -> None:
    """Where `supportnavi reload` finds this server: its main process, which passes a SIGHUP
    on to its workers."""
    import os

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"{os.getpid()}\n", encoding="ascii")
    except OSError as exc:  # reload then needs the pid by hand (kill -HUP); the bot still runs
        typer.echo(f"warning: could not write the pidfile {path} ({type(exc).__name__}): "
                   f"`supportnavi reload` will not find this server", err=True)


def _remove_pidfile_on_sigterm(path: Path) -> None:
    """uvicorn's server, after its graceful shutdown on SIGTERM, raises the signal again with
    the handler it found: this one, which removes the pidfile, then dies of SIGTERM as the
    default would (the `finally` after uvicorn.run never runs then)."""
    import signal

    def handler(signum: int, frame: object) -> None:
        _remove_pidfile(path)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, handler)


def _remove_pidfile(path: Path) -> None:
    import os

    try:
        if path.read_text(encoding="ascii").strip() == str(os.getpid()):
            path.unlink()
    except (OSError, ValueError):
        pass


@app.command()
def reload(
    pidfile: Annotated[Path | None, typer.Option(
        help="the server's pidfile (default: SUPPORTNAVI_PIDFILE, else var/serve-$PORT.pid)"
    )] = None,
) -> None:
    """Ask the running `serve` to load the scenario files now, instead of at its next look
    (SUPPORTNAVI_SCENARIOS_POLL): a SIGHUP to the process in its pidfile, which every worker
    gets. A change that fails `lint` is not loaded: /healthz's `scenarios.error` says why."""
    import os
    import signal

    from supportnavi.edition import version_of

    settings = _settings()
    path = pidfile or settings.pidfile_path()
    try:
        pid = int(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        typer.echo(f"no pidfile at {path}: is `supportnavi serve` running here, with the same "
                   f"PORT (or SUPPORTNAVI_PIDFILE)?", err=True)
        raise typer.Exit(1) from None
    except (OSError, ValueError):
        typer.echo(f"{path} holds no process id", err=True)
        raise typer.Exit(1) from None
    if not _is_serve(pid):
        typer.echo(f"process {pid} of {path} is not a running `supportnavi serve` (a stale "
                   f"pidfile?)", err=True)
        raise typer.Exit(1)
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        typer.echo(f"process {pid} of {path} is gone (a stale pidfile)", err=True)
        raise typer.Exit(1) from None
    except PermissionError:
        typer.echo(f"not allowed to signal process {pid}: run as the server's user", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"asked server {pid} to reload; the files are version "
               f"{version_of(settings.scenarios_dir)} (/healthz: scenarios.version, .error)")


def _is_serve(pid: int) -> bool:
    """Is `pid` alive and a `supportnavi serve` (by its command line, where /proc says it)?"""
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's: os.kill says so next
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():
        return True  # no /proc: trust the pidfile
    try:
        words = cmdline.read_bytes().split(b"\0")
    except OSError:
        return True
    return any(b"supportnavi" in w for w in words) and b"serve" in words


def _share_metrics() -> None:
    """Workers are processes: each counts apart. Give them one fresh directory to count in, so
    that a scrape of any worker reports them all (prometheus_client's multiprocess mode)."""
    import os
    import tempfile

    from supportnavi.metrics import MULTIPROC_ENV

    if os.environ.get(MULTIPROC_ENV):
        directory = Path(os.environ[MULTIPROC_ENV])
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):  # counts of an earlier run are not this run's
            stale.unlink()
    else:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="supportnavi-metrics-")


@app.command()
def healthcheck(
    url: Annotated[str | None, typer.Option(help="default: the server at $HOST:$PORT")] = None,
    timeout: Annotated[float, typer.Option(help="seconds")] = 5.0,
) -> None:
    """Exit 0 when the server's /healthz answers 200 (the database answers), else 1. The
    Docker image's HEALTHCHECK runs it, so it follows $PORT."""
    import httpx

    target = (url or _settings().local_base_url()).rstrip("/") + "/healthz"
    try:
        response = httpx.get(target, timeout=timeout)
    except httpx.HTTPError as exc:
        typer.echo(f"unhealthy: {target}: {type(exc).__name__}", err=True)
        raise typer.Exit(1) from None
    if response.status_code != 200:
        typer.echo(f"unhealthy: {target} answered {response.status_code}", err=True)
        raise typer.Exit(1)
    typer.echo(f"healthy: {target}")


@app.command()
def lint(
    path: Annotated[Path | None, typer.Argument(help="scenario directory")] = None,
) -> None:
    """Validate scenario files; print errors as file:line: message; exit 1 on any."""
    from supportnavi.engine.loader import check_scenarios
    from supportnavi.reminders.planner import KINDS

    directory = path or _settings().scenarios_dir
    scenarios, errors = check_scenarios(directory, reminder_kinds=KINDS)
    for error in sorted(errors):
        typer.echo(str(error))
    if errors or scenarios is None:
        raise typer.Exit(1)
    nodes = sum(len(r.nodes) for r in scenarios.routes.values())
    typer.echo(f"ok: {len(scenarios.routes)} routes, {nodes} nodes, {len(scenarios.facts)} facts")



@app.command()
def classify() -> None:
    """Read each line of stdin as the bot reads it typed at the menu, and print one JSON line
    each: {"text", "route", "node", "score", "kind", "candidates"}.

    The very code path of the bot (advance() on a person at the menu). `route` is the route
    the bot takes the person to, or the first it offers when it asks (`kind` "ask", the others
    in `candidates`), else null; `node` the branch, or null at a route's start; `kind` what
    decided: secret, link, phone, command, menu_number, name, example, keywords, similar, ask,
    greeting, other_service, unknown, empty; `score` 1.0 for words that match, else the
    similarity to the nearest example."""
    import json

    from supportnavi import compose
    from supportnavi.engine.understand import read_at_menu
    from supportnavi.understanding import ExampleClassifier
    from supportnavi.understanding.reading import reading

    settings = _settings()
    scenarios = compose.scenarios(settings)
    classifier = ExampleClassifier.for_scenarios(scenarios)
    planner = compose.planner(settings, scenarios)
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        found = read_at_menu(scenarios, text, planner=planner, classifier=classifier,
                             reader=reading)
        sys.stdout.write(json.dumps({"text": text, **found}, ensure_ascii=False) + "\n")
        sys.stdout.flush()


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    svg = "svg"


@app.command()
def graph(
    route: str,
    format: Annotated[GraphFormat, typer.Option("--format", help="mermaid or svg")] = (
        GraphFormat.mermaid
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="write to this file, not stdout")
    ] = None,
) -> None:
    """Draw a route's state machine: Mermaid text, or a standalone SVG picture."""
    from supportnavi import compose
    from supportnavi.engine.graph import mermaid, svg

    scenarios = compose.scenarios(_settings())
    if route not in scenarios.routes:
        typer.echo(f"no route {route!r}; known: {', '.join(sorted(scenarios.routes))}", err=True)
        raise typer.Exit(2)
    drawn = (svg if format is GraphFormat.svg else mermaid)(scenarios.routes[route])
    if output is None:
        typer.echo(drawn.rstrip("\n"))
    else:
        output.write_text(drawn, encoding="utf-8")


@app.command()
def chat(
    user: Annotated[str, typer.Option("--user", help="the LINE user id to act as")] = (
        "Uterminal0000000000000000000000001"
    ),
    url: Annotated[str | None, typer.Option(
        help="a running simulator (`supportnavi serve --simulator`)")] = None,
    simulator: Annotated[bool, typer.Option(
        "--simulator", help="without --url: start a simulator in this process (as `make chat` "
                            "does; SUPPORTNAVI_SIMULATOR=true too)")] = False,
) -> None:
    """Talk to the bot in the terminal, through the signed-webhook path."""
    from supportnavi.simulator.signing import follow_event
    from supportnavi.simulator.terminal import FOLLOW, ChatClient, render

    settings = _settings()
    if (half := settings.half_configured()) is not None:
        typer.echo(f"refusing to start: {half}", err=True)
        raise typer.Exit(2)
    if settings.line_channel_secret:  # and the token: half a channel was refused above
        typer.echo("chat needs simulator mode: unset LINE_CHANNEL_SECRET and "
                   "LINE_CHANNEL_ACCESS_TOKEN (it would otherwise reply on your real channel)",
                   err=True)
        raise typer.Exit(2)
    if url is None and not (simulator or settings.simulator_mode):
        typer.echo("chat talks to a simulator: --simulator starts one in this process (as "
                   "`make chat` does), or --url names a running one (`supportnavi serve "
                   "--simulator`, as `make run` starts)", err=True)
        raise typer.Exit(2)
    base_url = url or _start_local_server()
    client = ChatClient(base_url, settings.channel_secret, user)
    typer.echo("supportnavi chat: type a button's number or any text. "
               "「フォロー」 sends a follow event, 「ブロック」 an unfollow, Ctrl-D quits.")
    render(client.send(FOLLOW), typer.echo)
    blocked = False
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        if text.strip() in ("フォロー", "/follow"):
            # as LINE sends it: isUnblocked says whether the person had blocked the bot
            messages = client.send(follow_event(unblocked=blocked))
            blocked = False
        elif text.strip() in ("ブロック", "/unfollow"):
            messages = client.send({"type": "unfollow"})
            blocked = True
            typer.echo("  (ブロックしました。「フォロー」で戻れます)")
        else:
            messages = client.say(text)
        render(messages, typer.echo)
        typer.echo("")


def _start_local_server() -> str:
    """No server given: run a simulator in this process, on a free loopback port."""
    import os

    import uvicorn

    from supportnavi.migrate import upgrade

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    os.environ.update(HOST="127.0.0.1", PORT=str(port), SUPPORTNAVI_SIMULATOR="true")
    settings = _settings()
    _refuse_misconfigured(settings)
    upgrade(settings.database_url)
    _refuse_a_line_database(settings)
    from supportnavi.app import create_app

    config = uvicorn.Config(create_app(settings), log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        if not thread.is_alive():  # its start-up failed (uvicorn logged why)
            typer.echo("refusing to start: the simulator's start-up failed", err=True)
            raise typer.Exit(1)
        time.sleep(0.02)
    return f"http://127.0.0.1:{port}"


@richmenu_app.command("build")
def richmenu_build(
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="directory for the images (default: the package's, which "
                               "deploy uploads)")] = None,
) -> None:
    """Draw the rich-menu images from `richmenu:` in scenarios/system.yaml (Pillow and the
    Noto Sans JP font wheel, from the dev extra). Commit them: deploy needs no font."""
    try:
        from supportnavi.richmenu.draw import build
    except ImportError as exc:
        typer.echo(f"richmenu build needs Pillow and the font: pip install -e '.[dev]' ({exc})",
                   err=True)
        raise typer.Exit(2) from exc
    from supportnavi.engine.loader import load_scenarios
    from supportnavi.richmenu.layout import IMAGES, plan

    menus = plan(load_scenarios(_settings().scenarios_dir))
    if not menus:
        typer.echo("scenarios/system.yaml has no richmenu: block", err=True)
        raise typer.Exit(1)
    for path in build(menus, output or IMAGES):
        typer.echo(f"{path} ({path.stat().st_size} bytes)")


@richmenu_app.command("deploy")
def richmenu_deploy(
    images: Annotated[Path | None, typer.Option(help="directory of built images")] = None,
) -> None:
    """Create the rich menus on the channel, upload their images, point the aliases at them
    and make the first the default; then delete those an earlier deploy left."""
    import asyncio

    from supportnavi.engine.loader import load_scenarios
    from supportnavi.line.richmenu import DeployError, deploy
    from supportnavi.richmenu.layout import IMAGES, plan

    settings = _settings()
    if settings.line_channel_access_token is None:
        typer.echo("richmenu deploy needs LINE_CHANNEL_ACCESS_TOKEN (the channel to put the "
                   "menus on)", err=True)
        raise typer.Exit(2)
    menus = plan(load_scenarios(settings.scenarios_dir))
    try:
        done = asyncio.run(deploy(menus, images or IMAGES, settings.line_api_base_url,
                                  settings.line_channel_access_token))
    except DeployError as exc:
        typer.echo(f"richmenu deploy failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    for alias_id, menu_id in done.menus.items():
        default = " (default)" if menu_id == done.default else ""
        typer.echo(f"{alias_id} -> {menu_id}{default}")
    if done.deleted:
        typer.echo(f"deleted {len(done.deleted)} earlier menu(s)")


def main() -> None:
    app()
