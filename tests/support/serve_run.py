"""`supportnavi serve` as its own process, as production runs it, for tests that kill it, run
it with several workers, or take its database away. Its output goes to a log file the test can
read (and shows when it fails to start)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.dispatch_run import ROOT, dispatch_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServeProcess:
    """The bot on a free port of 127.0.0.1, against `db_url` and the fake LINE API at
    `line_url`, with `extra` settings (SUPPORTNAVI_...)."""

    def __init__(self, db_url: str, line_url: str, log: Path, *args: str, **extra: str) -> None:
        self.db_url = db_url
        self.line_url = line_url
        self.log = log
        self.args = args
        self.env = {**dispatch_env(db_url, line_url), **extra}
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 90.0) -> ServeProcess:
        """Start it and wait until /healthz answers 200."""
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"\n===== start {self.starts} =====\n")
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "supportnavi", "serve", "--port", str(self.port),
                 *self.args],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its workers die with it: the group is signalled
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"supportnavi serve did not start:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL, the whole process group (uvicorn's workers too): no shutdown of any kind."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def __enter__(self) -> ServeProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


__all__ = ["ROOT", "ServeProcess", "free_port"]
