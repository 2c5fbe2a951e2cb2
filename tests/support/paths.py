"""Every file the tests and the benches open lies inside the repository, or belongs to the
interpreter and the system (issue 13: a clone with nothing beside it passes `make test`).

An audit hook sees every `open()` of this process. A path that resolves outside the repository
and outside the places Python and the system keep their own files is recorded, and
`tests/conftest.py` fails the test that opened it (or the session, for an open made while
collecting). Processes the tests start (`supportnavi serve`, the benches) inherit
`SUPPORTNAVI_PATH_GUARD` and load `pathguard/sitecustomize.py`, which installs the same hook
and appends what it finds to the file that variable names.
"""

from __future__ import annotations

import os
import site
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
GUARD_ENV = "SUPPORTNAVI_PATH_GUARD"
SITE_DIR = Path(__file__).resolve().parent / "pathguard"

# The system's own files: shared libraries, time zones, certificates, /proc and /dev, fonts.
# The interpreter's prefixes, its site-packages and the temporary folder are added below.
_SYSTEM = ("/dev", "/proc", "/sys", "/etc", "/usr", "/lib", "/lib64", "/bin", "/sbin", "/run",
           "/opt", "/var")


def _allowed_prefixes() -> tuple[str, ...]:
    places = {
        sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
        *site.getsitepackages(), site.getusersitepackages(),
        *sysconfig.get_paths().values(), tempfile.gettempdir(), *_SYSTEM,
    }
    return tuple(sorted({os.path.realpath(p).rstrip("/") + "/" for p in places if p}))


class PathGuard:
    def __init__(
        self, root: Path = REPO_ROOT, on_outside: Callable[[str], None] | None = None
    ) -> None:
        self.root = os.path.realpath(root).rstrip("/") + "/"
        # Beside the repository is never allowed, even when the checkout itself sits in a
        # place that is (a copy in the temporary folder, as .ci/run makes).
        parent = os.path.dirname(self.root.rstrip("/")).rstrip("/") + "/"
        self.beside = parent if parent != "/" else None
        self.allowed = _allowed_prefixes()
        # The interpreter's own environment is allowed even beside the repository: a git
        # worktree may run with its main checkout's virtualenv.
        self.interpreter = tuple(sorted({
            os.path.realpath(p).rstrip("/") + "/"
            for p in (sys.prefix, sys.exec_prefix, *site.getsitepackages()) if p}))
        self.home_dotfiles = os.path.realpath(Path.home()).rstrip("/") + "/."
        self.outside: list[str] = []
        self.on_outside = on_outside
        self.active = True
        self._lock = threading.Lock()

    def watch(self) -> PathGuard:
        sys.addaudithook(self.hook)
        return self

    def check(self, path: str | bytes | os.PathLike[str] | int) -> str | None:
        """The resolved path when it lies outside the repository and the system, else None."""
        if isinstance(path, int):
            return None  # an already open descriptor
        resolved = os.path.realpath(os.fsdecode(path))
        probe = resolved.rstrip("/") + "/"
        if probe.startswith(self.root):
            return None
        if probe.startswith(self.home_dotfiles):
            return None  # the user's own configuration and caches (~/.netrc, ~/.cache)
        if probe.startswith(self.interpreter):
            return None
        if self.beside is not None and probe.startswith(self.beside):
            return resolved
        return None if probe.startswith(self.allowed) else resolved

    def stop(self) -> None:
        """Audit hooks cannot be removed: this one just stops looking."""
        self.active = False

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event != "open" or not self.active or not args or args[0] is None:
            return
        try:
            outside = self.check(args[0])  # type: ignore[arg-type]
        except Exception:  # an audit hook must never break the open it watches
            return
        if outside is not None:
            with self._lock:
                self.outside.append(outside)
            if self.on_outside is not None:
                self.on_outside(outside)

    def take(self) -> list[str]:
        with self._lock:
            found, self.outside = self.outside, []
        return found


def appender(report: str, who: str) -> Callable[[str], None]:
    def append(path: str) -> None:
        with open(report, "a", encoding="utf-8") as out:  # the report lies in the temp folder
            out.write(f"{who}: {path}\n")

    return append


def install(report: Path) -> PathGuard:
    """Watch this process, and have the processes it starts that inherit its environment
    report what they find to `report`."""
    os.environ[GUARD_ENV] = str(report)
    paths = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(SITE_DIR), paths) if p)
    return PathGuard().watch()


def reported(report: Path) -> list[str]:
    """What child processes found, one line each."""
    if not report.exists():
        return []
    return [line for line in report.read_text(encoding="utf-8").splitlines() if line]
