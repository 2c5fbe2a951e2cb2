"""A dashboard token short enough to guess is refused at start-up, by `Settings()` itself, so
neither `create_app` nor `supportnavi serve` ever runs with one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from supportnavi.settings import ADMIN_TOKEN_MIN, Settings


def test_a_token_under_the_minimum_is_refused_and_the_message_says_which_and_how_long():
    for short in ("x", "a" * (ADMIN_TOKEN_MIN - 1)):
        with pytest.raises(ValidationError) as refused:
            Settings(SUPPORTNAVI_ADMIN_TOKEN=short)
        message = str(refused.value)
        assert "SUPPORTNAVI_ADMIN_TOKEN" in message and str(ADMIN_TOKEN_MIN) in message
        assert short not in message  # the reason, never the token: the error may be printed
    assert Settings(SUPPORTNAVI_ADMIN_TOKEN="a" * ADMIN_TOKEN_MIN).admin_token == (
        "a" * ADMIN_TOKEN_MIN)
    assert Settings(SUPPORTNAVI_ADMIN_TOKEN="").admin_token is None  # blank: dashboard off


def test_serve_with_a_short_token_exits_with_a_clear_message(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SUPPORTNAVI_"))}
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/run.db",
               SUPPORTNAVI_ADMIN_TOKEN="short-token")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    result = subprocess.run(  # before the check, it served until the timeout
        [sys.executable, "-m", "supportnavi", "serve", "--port", str(port), "--no-migrate"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "refusing to start" in result.stderr
    assert "SUPPORTNAVI_ADMIN_TOKEN" in result.stderr
    assert f"at least {ADMIN_TOKEN_MIN} characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert "short-token" not in result.stderr  # a secret, even a bad one, is not printed
