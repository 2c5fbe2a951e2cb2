"""Browser tests: Playwright drives Debian's Chromium (/usr/bin/chromium) against the bot as
`make run` starts it, `supportnavi serve` in simulator mode in its own process, with the admin
dashboard on. Playwright's own browser download does not work here and is never used.

Without Chromium these tests are skipped, except with CI=true, where they fail: `.ci/run`
installs it with apt-get."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

CHROMIUM = os.environ.get("SUPPORTNAVI_TEST_CHROMIUM", "/usr/bin/chromium")
ADMIN_TOKEN = "browser-test-admin-token"
# What a phone shows (an iPhone 14-sized screen) and what an operator's laptop does.
PHONE: dict[str, Any] = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2,
                         "is_mobile": True, "has_touch": True, "locale": "ja-JP"}
DESKTOP: dict[str, Any] = {"viewport": {"width": 1280, "height": 860}, "locale": "ja-JP"}
# Chromium as root in a sandbox without a network: no sandbox, no GPU, and none of the
# background connections that this machine's closed network would refuse.
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]


def _chromium() -> str:
    found = shutil.which(CHROMIUM) or (CHROMIUM if Path(CHROMIUM).exists() else None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is required when CI=true (.ci/run installs it)")
        pytest.skip(f"no Chromium at {CHROMIUM} on this machine (apt-get install chromium)")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SimServer:
    """`supportnavi serve` in simulator mode, on a free loopback port, its own SQLite file."""

    def __init__(self, url: str, proc: subprocess.Popen[str], log: Path,
                 database_url: str = "") -> None:
        self.url = url
        self.proc = proc
        self.log = log
        self.admin_token = ADMIN_TOKEN
        self.database_url = database_url  # for a `supportnavi` command run beside the server


@pytest.fixture(scope="package")
def sim_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimServer]:
    tmp = tmp_path_factory.mktemp("sim")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SUPPORTNAVI_"))}
    database_url = f"sqlite+aiosqlite:///{tmp}/sim.db"
    env.update(DATABASE_URL=database_url, SUPPORTNAVI_ADMIN_TOKEN=ADMIN_TOKEN)
    log = tmp / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "supportnavi", "serve", "--simulator", "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield SimServer(url, proc, log, database_url)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    executable = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _page(browser: Any, options: dict[str, Any]) -> Iterator[Any]:
    context = browser.new_context(**options)
    context.set_default_timeout(15_000)  # a loaded 2-core machine is slow
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"the page threw: {errors}"


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    """A page the size of a phone's screen; fails the test if the page's script threw."""
    yield from _page(browser, PHONE)


@pytest.fixture
def desktop(browser: Any) -> Iterator[Any]:
    yield from _page(browser, DESKTOP)
