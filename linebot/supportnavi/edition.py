"""Scenario changes without a restart (issue 18): the scenarios a process serves, held in one
place, and the watcher that swaps in a new edition when the files change.

An `Edition` is everything that is made from one set of scenario files: the scenarios, the
classifier (its examples encoded), the date planner (its day counts are facts) and the rich
menu's plan, with the files' `version`. `Live` holds the edition being served; every part that
reads the scenarios (the conversation service, the reminder dispatcher, the simulator page, the
dashboard, /healthz) reads them through the one `Live` of its process, and takes
`live.current` once per transaction, pass or request, so that nothing ever sees half of one
edition and half of another. A swap replaces that one reference.

`Reloader` polls the files (a stat of each, cheap; their content hashed only when a stat
changed) every SUPPORTNAVI_SCENARIOS_POLL seconds, and at once when asked (`supportnavi
reload`, SIGHUP). A change is loaded, checked as `lint` checks it, and its examples encoded and
readings built, in a thread, never on the event loop; a change that fails is not loaded: the
old edition keeps serving and `error` says the first problem as `file:line: message`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from supportnavi.engine.errors import LintError
from supportnavi.engine.ports import Classifier, Planner
from supportnavi.engine.scenarios import Scenarios
from supportnavi.richmenu.layout import Menu

log = logging.getLogger(__name__)

VERSION_CHARS = 12  # of the files' SHA-256: what /healthz and the logs call an edition
LOGGED_ERRORS = 10  # a broken change logs its first problems, not hundreds
FIXED = "fixed"  # the version of an edition nobody watches (tests, one-off commands)


@dataclass(frozen=True)
class Edition:
    """What one set of scenario files makes, served as a whole or not at all."""

    scenarios: Scenarios
    version: str = FIXED
    classifier: Classifier | None = None  # None: typed text is routed by names and keywords
    planner: Planner | None = None  # None: no reminders are offered
    menus: list[Menu] = field(default_factory=list)  # the rich menu's plan


class Live:
    """The edition a process serves. Read `current` once and keep it for the whole of one
    unit of work; `swap` replaces it in one assignment."""

    def __init__(self, edition: Edition) -> None:
        self._edition = edition
        # the first problem of the last change that failed to load, `file:line: message`;
        # None once a change loaded (or none failed)
        self.error: str | None = None

    @classmethod
    def fixed(cls, scenarios: Scenarios, *, classifier: Classifier | None = None,
              planner: Planner | None = None) -> Live:
        return cls(Edition(scenarios, FIXED, classifier, planner))

    @property
    def current(self) -> Edition:
        return self._edition

    def swap(self, edition: Edition) -> None:
        self._edition = edition
        self.error = None

    def status(self) -> dict[str, str | None]:
        """/healthz's `scenarios`."""
        return {"version": self._edition.version, "error": self.error}


# --- the files ------------------------------------------------------------------------------


def _files(directory: Path) -> list[Path]:
    """What the loader reads: the directory's *.yaml (engine/loader.py)."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


Stamp = tuple[tuple[str, int, int, int], ...]


def stamp(directory: Path) -> Stamp:
    """Each file's name, size, mtime and inode: a cheap look that says whether to read them."""
    found = []
    for path in _files(directory):
        with contextlib.suppress(OSError):  # removed between the listing and the stat
            st = path.stat()
            found.append((path.name, st.st_size, st.st_mtime_ns, st.st_ino))
    return tuple(found)


def version_of(directory: Path) -> str:
    """The files' content as a short hash: the same files, the same version, in every process
    and on every machine."""
    digest = hashlib.sha256()
    for path in _files(directory):
        try:
            content = path.read_bytes()
        except OSError:
            continue
        for part in (path.name.encode(), content):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.hexdigest()[:VERSION_CHARS]


# --- the watcher ----------------------------------------------------------------------------

Load = Callable[[Path], tuple[Scenarios | None, list[LintError]]]
Build = Callable[[Scenarios, str], Edition]


@dataclass(frozen=True)
class _Failed:
    version: str
    errors: list[str]


class Reloader:
    """Swaps a new edition into `live` when the files in `directory` change: looks every
    `poll` seconds (0: only when asked), and at once after `ask()`."""

    def __init__(self, live: Live, directory: Path, *, load: Load, build: Build,
                 poll: float) -> None:
        self.live = live
        self.directory = directory
        self.load = load
        self.build = build
        self.poll = poll
        self._tried = live.current.version  # the last version loaded or tried
        # the files' stamp at the last look; None: the first look reads them (a change made
        # while the server started is not missed)
        self._stamp: Stamp | None = None
        self._asked: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._look_lock = threading.Lock()

    def ask(self) -> None:
        """Look now. Safe from any thread and from a signal handler."""
        if self._loop is None or self._asked is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self._loop.call_soon_threadsafe(self._asked.set)

    async def run_forever(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._asked = asyncio.Event()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._asked.wait(), self.poll if self.poll > 0 else None)
            asked = self._asked.is_set()
            self._asked.clear()
            try:
                await self.check(asked=asked)
            except Exception:  # a look that failed is tried again at the next one
                log.exception("scenarios: looking at %s failed", self.directory)

    async def check(self, *, asked: bool = False) -> bool:
        """One look; True when a new edition was swapped in. The reading, the check, the
        encoding are done in a thread; only the swap is on the event loop."""
        found = await asyncio.to_thread(self._look, asked)
        if found is None:
            return False
        if isinstance(found, _Failed):
            self.live.error = found.errors[0]
            more = len(found.errors) - LOGGED_ERRORS
            log.error("scenarios %s not loaded (still serving %s): %s%s", found.version,
                      self.live.current.version, "; ".join(found.errors[:LOGGED_ERRORS]),
                      f"; and {more} more (`supportnavi lint` lists them)" if more > 0 else "")
            return False
        was = self.live.current.version
        self.live.swap(found)
        log.info("scenarios %s loaded (was %s): %d routes", found.version, was,
                 len(found.scenarios.routes))
        return True

    def _look(self, asked: bool) -> Edition | _Failed | None:
        with self._look_lock:
            now = stamp(self.directory)
            if now == self._stamp and not asked:
                return None
            changed = {entry[0] for entry in set(now) ^ set(self._stamp or ())}
            self._stamp = now
            version = version_of(self.directory)
            if version == self._tried:
                if asked:
                    log.info("scenarios: reload asked; the files are those of %s, nothing to "
                             "do", version)
                return None
            self._tried = version
            scenarios, errors = self.load(self.directory)
            if errors or scenarios is None:
                # the changed files' problems first: a broken file also breaks what refers
                # to it (a route that no longer parses is "missing" everywhere)
                ordered = sorted(errors, key=lambda e: (Path(e.file).name not in changed, e))
                return _Failed(version, [str(e) for e in ordered]
                               or [f"{self.directory}:0: no scenarios were loaded"])
            try:
                return self.build(scenarios, version)
            except Exception as exc:  # what lint cannot see (the rich menu's plan, encoding)
                log.exception("scenarios %s: preparing them failed", version)
                return _Failed(version, [f"{self.directory}:0: {type(exc).__name__}"])


@contextlib.contextmanager
def on_sighup(action: Callable[[], None]) -> Iterator[None]:
    """SIGHUP calls `action` while the block runs (the server's lifespan), in the main thread
    only (a signal handler cannot be set elsewhere: an app served by a test's thread has
    none); the previous handler comes back after."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "SIGHUP"):
        yield
        return
    previous = signal.signal(signal.SIGHUP, lambda signum, frame: action())
    try:
        yield
    finally:
        signal.signal(signal.SIGHUP, previous)


def ignore_sighup() -> None:
    """Until a server listens for SIGHUP (on_sighup), one is ignored rather than the end of the
    process (its default)."""
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
