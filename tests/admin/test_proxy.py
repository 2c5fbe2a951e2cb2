"""`supportnavi serve` hands SUPPORTNAVI_FORWARDED_ALLOW_IPS to uvicorn, on the `--workers` path
too: with a proxy elsewhere named there, a request from 127.0.0.1 that claims to have come
over https is not believed (its cookie is not made Secure), and its X-Forwarded-For is no
address to the login throttle. uvicorn's own default would believe 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from supportnavi.admin.throttle import PER_ADDRESS
from supportnavi.web.admin import COOKIE
from tests.admin.conftest import ADMIN_TOKEN
from tests.support.serve_run import ServeProcess

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
FORGED = {"X-Forwarded-Proto": "https"}


def test_serve_believes_forwarded_headers_only_from_the_proxies_named(db_url, tmp_path: Path):
    server = ServeProcess(
        db_url, "http://127.0.0.1:9", tmp_path / "serve.log", "--workers", "2",
        "--no-dispatcher",
        SUPPORTNAVI_ADMIN_TOKEN=ADMIN_TOKEN, SUPPORTNAVI_FORWARDED_ALLOW_IPS="192.0.2.1",
    )
    with server, httpx.Client(base_url=server.url, timeout=15) as http:
        answer = http.post("/admin/login", data={"token": ADMIN_TOKEN}, headers=FORGED)
        assert answer.status_code == 303, server.output()
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=") and "secure" not in cookie.lower()
        # every forged address is 127.0.0.1 to the throttle; it does not matter which worker
        # answers: a worker locks it out after PER_ADDRESS of those it heard
        statuses = [http.post("/admin/login", data={"token": "not-the-token-at-all"},
                              headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code
                    for i in range(4 * PER_ADDRESS)]
        assert 429 in statuses, statuses
