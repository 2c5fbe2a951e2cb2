"""The composition root: every part of the bot is built here, from one `Settings`, the same way
for `serve` (app.py's lifespan), `reminders dispatch`, `db prune`, the dashboard and the other
commands. Before, cli.py built its own parts and they drifted: `reminders dispatch` ignored
SUPPORTNAVI_SQLITE_BUSY_TIMEOUT and passed every 15 s where the setting says 30.

Building only: what starts tasks and closes resources is the lifespan's, or the command's.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from supportnavi.admin.queries import Reader
from supportnavi.admin.rollups import Rollups
from supportnavi.conversation.relay import Relay
from supportnavi.conversation.service import ConversationService
from supportnavi.edition import Edition, Live, Reloader, version_of
from supportnavi.engine import Scenarios, load_scenarios
from supportnavi.engine.errors import LintError
from supportnavi.engine.interpret import lexicon
from supportnavi.engine.loader import check_scenarios
from supportnavi.engine.ports import Classifier
from supportnavi.line.sender import LineSender
from supportnavi.reminders.dispatcher import Dispatcher
from supportnavi.reminders.planner import KINDS, RulesPlanner, days_from_facts
from supportnavi.richmenu.layout import plan
from supportnavi.settings import Settings
from supportnavi.store.db import Database
from supportnavi.store.retention import Housekeeper, Retention
from supportnavi.understanding import ExampleClassifier
from supportnavi.understanding.reading import reading

# Requests to LINE in flight besides the dispatcher's: a body's replies go 16 at a time.
REPLY_CONNECTIONS = 16


def scenarios(settings: Settings) -> Scenarios:
    """The scenarios, checked as `lint` checks them (the date rules' kinds too)."""
    return load_scenarios(settings.scenarios_dir, reminder_kinds=KINDS)


def checked(directory: Path) -> tuple[Scenarios | None, list[LintError]]:
    """The scenarios in `directory` and every problem `lint` finds in them."""
    return check_scenarios(directory, reminder_kinds=KINDS)


def edition(settings: Settings, scenarios: Scenarios, version: str) -> Edition:
    """Everything made from one set of scenario files, ready to serve: the classifier's
    examples encoded and the readings built (seconds of CPU: call it in a thread)."""
    classifier = ExampleClassifier.for_scenarios(scenarios)
    warm_understanding(scenarios, classifier)
    return Edition(scenarios, version, classifier, planner(settings, scenarios), plan(scenarios))


def first_edition(settings: Settings) -> tuple[Scenarios, str]:
    """The scenarios a server starts on, checked, and their version. Raises ScenarioError."""
    version = version_of(settings.scenarios_dir)
    return scenarios(settings), version


def reloader(settings: Settings, live: Live) -> Reloader:
    """The watcher that swaps in a change of the scenario files (edition.py)."""
    return Reloader(live, settings.scenarios_dir, load=checked,
                    build=lambda found, version: edition(settings, found, version),
                    poll=settings.scenarios_poll_seconds)


def database(settings: Settings) -> Database:
    return Database(settings.database_url,
                    sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms)


def sender(settings: Settings, *, replies: bool = True) -> LineSender:
    """A LINE client with room for the dispatcher's requests, and the replies' if it answers
    events too."""
    return LineSender(
        settings.effective_line_api_base_url(), settings.access_token,
        timeout=settings.line_timeout_seconds,
        max_connections=settings.dispatch_concurrency + (REPLY_CONNECTIONS if replies else 0),
    )


def planner(settings: Settings, scenarios: Scenarios) -> RulesPlanner:
    return RulesPlanner(settings.zone, days_from_facts(scenarios.facts))


def conversation(
    settings: Settings, db: Database, scenarios: Scenarios | Live, line: LineSender,
    classifier: Classifier | None = None,
) -> ConversationService:
    """On a `Live` edition (a server: its classifier and planner are the edition's), or on
    fixed scenarios with `classifier`."""
    # a Live edition brings its own planner and classifier
    plans = None if isinstance(scenarios, Live) else planner(settings, scenarios)
    return ConversationService(
        db, scenarios, line, planner=plans,
        classifier=None if isinstance(scenarios, Live) else classifier,
        batch_max=settings.event_batch_max, reader=reading,
        unmatched_days=settings.unmatched_days)


def warm_understanding(scenarios: Scenarios, classifier: Classifier) -> None:
    """Everything reading typed text needs, loaded before the first message rather than inside
    someone's reply: the encoder, the analyser's dictionary and the scenarios' readings."""
    if hasattr(classifier, "load"):
        classifier.load()
    lexicon(scenarios, reading)


def relay(settings: Settings, db: Database, line: LineSender) -> Relay | None:
    if not settings.relay:
        return None
    # a claim outlasts a page of sends: each row is a reply and maybe a push, at once
    lease = timedelta(seconds=2 * settings.line_timeout_seconds + 10)
    return Relay(db, line, grace=timedelta(seconds=settings.relay_grace_seconds), lease=lease)


def dispatcher(
    settings: Settings, db: Database, line: LineSender, scenarios: Scenarios | Live, *,
    workers: int | None = None,
) -> Dispatcher:
    """A dispatcher; each of `serve --workers N` takes 1/N of the rates, so that together they
    stay within the channel's limits (`workers`: how many share them, the setting's by
    default)."""
    share = max(1, workers if workers is not None else settings.workers)
    return Dispatcher(
        db, line, scenarios, settings.zone,
        push_rate=settings.push_rate / share, multicast_rate=settings.multicast_rate / share,
        concurrency=settings.dispatch_concurrency,
        quota_pause=timedelta(seconds=settings.quota_pause_seconds),
        slowdown=timedelta(seconds=settings.rate_slowdown_seconds),
    )


def housekeeper(settings: Settings, db: Database,
                loaded: Scenarios | Live | None = None) -> Housekeeper:
    """Pruning, after the dashboard's rollups of the periods that closed since the last pass
    (`loaded`: the scenarios already loaded, or the server's Live edition, whose scenarios of
    the moment each pass reads; else they are read here)."""
    source = loaded if loaded is not None else scenarios(settings)
    writer = Rollups(db, (lambda: source.current.scenarios) if isinstance(source, Live)
                     else source, settings.zone)
    return Housekeeper(db, Retention.days(settings.event_ids_days, settings.step_history_days,
                                          settings.unmatched_days),
                       before=[writer.run_once])


def reader(settings: Settings, db: Database) -> Reader | None:
    """The dashboard's reads; None when the dashboard is off (no token)."""
    return Reader(db) if settings.admin_token else None
