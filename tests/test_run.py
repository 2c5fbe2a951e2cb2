"""What `make run` starts: `supportnavi serve` in simulator mode, reached as LINE would reach it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from supportnavi.chat import FOLLOW, ChatClient
from supportnavi.settings import SIMULATOR_CHANNEL_SECRET


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LINE_", "SUPPORTNAVI_"))}
    env.pop("DATABASE_URL", None)
    env.update(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/run.db", **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_in_simulator_mode_answers_a_signed_follow(tmp_path):
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "supportnavi", "serve", "--port", str(port)],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz").json()["mode"] == "simulator":
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.05)
        client = ChatClient(url, SIMULATOR_CHANNEL_SECRET, "U" + "1" * 32)
        said = "\n".join(m["text"] for m in client.send(FOLLOW))
        assert "友だち追加" in said and "非公式" in said
        assert [i["action"]["label"] for i in client.quick_replies][:2] == [
            "プライム会員をやめる", "無料体験をやめる"
        ]
        assert "supportnavi_webhook_requests_total" in httpx.get(f"{url}/metrics").text
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_chat_in_the_terminal(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "supportnavi", "chat"],
        input="1\n4\n1\n1\n", capture_output=True, text=True, timeout=120, env=_env(tmp_path),
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] プライム会員をやめる" in out
    assert "【電話で解約】" in out and "0120-899-543" in out
    assert "音声ガイドで 1 → 3 → 3" in out


def test_chat_picks_a_date_for_a_reminder(tmp_path):
    """In the terminal, 「1 YYYY-MM-DD」 stands for LINE's date picker."""
    day = datetime.now(ZoneInfo("Asia/Tokyo")).date() + timedelta(days=30)
    result = subprocess.run(
        [sys.executable, "-m", "supportnavi", "chat"],
        input=f"無料体験をやめたい\n1\n3\n1\n1 {day.isoformat()}\n", capture_output=True,
        text=True, timeout=120, env=_env(tmp_path), check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] 日付を選ぶ（カレンダー） 📅" in out
    assert "番号と日付を送ってください" in out
    assert f"{day.month}月{day.day}日" in out and "このトークでお知らせします" in out


def test_one_line_credential_without_the_other_is_refused(tmp_path):
    """Half a channel would run in simulator mode holding the real channel secret: /simulator
    would sign webhooks the real channel accepts, and replies would go to nobody."""
    import pytest

    from supportnavi.app import create_app
    from supportnavi.settings import Settings

    for present in ("LINE_CHANNEL_SECRET", "LINE_CHANNEL_ACCESS_TOKEN"):
        env = _env(tmp_path, **{present: "only-this-one"})
        for argv in (["serve", "--port", str(_free_port()), "--no-migrate"], ["chat"],
                     ["reminders", "dispatch", "--once"]):
            result = subprocess.run([sys.executable, "-m", "supportnavi", *argv], env=env,
                                    input="", capture_output=True, text=True, timeout=60,
                                    check=False)
            assert result.returncode == 2, (argv, result.stderr)
            assert "refusing to start" in result.stderr and "both LINE credentials" in (
                result.stderr), argv
        with pytest.raises(ValueError, match="both LINE credentials"):
            create_app(Settings(**{present: "only-this-one"}))
    # both, or neither, is fine
    assert Settings(LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t").half_configured() is None
    assert Settings().half_configured() is None
