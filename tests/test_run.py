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

from supportnavi.settings import SIMULATOR_CHANNEL_SECRET
from supportnavi.simulator.terminal import FOLLOW, ChatClient


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
        [sys.executable, "-m", "supportnavi", "serve", "--simulator", "--port", str(port)],
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
        [sys.executable, "-m", "supportnavi", "chat", "--simulator"],
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
        [sys.executable, "-m", "supportnavi", "chat", "--simulator"],
        input=f"無料体験をやめたい\n1\n3\n1\n1 {day.isoformat()}\n", capture_output=True,
        text=True, timeout=120, env=_env(tmp_path), check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] 日付を選ぶ（カレンダー） 📅" in out
    assert "番号と日付を送ってください" in out
    assert f"{day.month}月{day.day}日" in out and "このトークでお知らせします" in out


def test_one_line_credential_without_the_other_is_refused(tmp_path):
    """Half a channel would answer the real channel's webhooks and reply to nobody; and beside
    the simulator, /simulator would sign webhooks with the real channel's secret."""
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


def _refusal(env: dict[str, str], *argv: str) -> str:
    result = subprocess.run([sys.executable, "-m", "supportnavi", *argv], env=env, input="",
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2, (argv, result.stdout, result.stderr)
    assert "refusing to start" in result.stderr, (argv, result.stderr)
    return result.stderr


def test_without_credentials_the_server_refuses_to_start_unless_the_simulator_is_asked_for(
    tmp_path
):
    """No credentials used to mean simulator mode, silently, on whatever database was there:
    a copy of a real one had its pending reply and due reminder sent to the fake LINE API."""
    import pytest

    from supportnavi.app import create_app
    from supportnavi.settings import Settings

    env = _env(tmp_path)
    for argv in (["serve", "--port", str(_free_port())], ["reminders", "dispatch", "--once"]):
        said = _refusal(env, *argv)
        assert "LINE_CHANNEL_SECRET" in said and "LINE_CHANNEL_ACCESS_TOKEN" in said, said
        assert "supportnavi serve --simulator" in said and "SUPPORTNAVI_SIMULATOR=true" in said
    assert not (tmp_path / "run.db").exists()  # refused before the database was touched
    with pytest.raises(ValueError, match="LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN"):
        create_app(Settings(LINE_CHANNEL_SECRET="", LINE_CHANNEL_ACCESS_TOKEN=""))


def test_credentials_and_the_simulator_together_are_refused(tmp_path):
    """Which would be meant: the real channel, or the fake one?"""
    import pytest

    from supportnavi.app import create_app
    from supportnavi.settings import Settings

    credentials = {"LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"}
    for env, argv in (
        (_env(tmp_path, **credentials), ["serve", "--simulator", "--port", str(_free_port())]),
        (_env(tmp_path, SUPPORTNAVI_SIMULATOR="true", **credentials),
         ["serve", "--port", str(_free_port())]),
    ):
        said = _refusal(env, *argv)
        assert "SUPPORTNAVI_SIMULATOR" in said and "LINE_CHANNEL_SECRET" in said, said
    with pytest.raises(ValueError, match="simulator mode and LINE credentials"):
        create_app(Settings(SUPPORTNAVI_SIMULATOR=True, **credentials))


def test_the_simulator_binds_nothing_but_loopback_unless_told(tmp_path):
    """Its pages and its fake LINE API have no login: on 0.0.0.0 (the image's HOST) anyone on
    the network could act as anyone and read every chat."""
    import pytest

    from supportnavi.app import create_app
    from supportnavi.settings import Settings

    said = _refusal(_env(tmp_path), "serve", "--simulator", "--host", "0.0.0.0",
                    "--port", str(_free_port()))
    assert "HOST=0.0.0.0" in said and "SUPPORTNAVI_SIMULATOR_PUBLIC=true" in said, said
    for host in ("0.0.0.0", "::", "", "192.168.1.20", "example.com", "localhost.example.com",
                 "127.0.0.1.example.com"):
        with pytest.raises(ValueError, match="not a loopback address"):
            create_app(Settings(SUPPORTNAVI_SIMULATOR=True, HOST=host))
    for host in ("127.0.0.1", "127.3.2.1", "::1", "localhost", "LocalHost"):
        assert Settings(SUPPORTNAVI_SIMULATOR=True, HOST=host).start_problem() is None, host
    told = Settings(SUPPORTNAVI_SIMULATOR=True, SUPPORTNAVI_SIMULATOR_PUBLIC=True, HOST="0.0.0.0")
    assert told.start_problem() is None
    create_app(told)
    # a real channel's server binds where it is told: LINE reaches it through a proxy
    assert Settings(LINE_CHANNEL_SECRET="s", LINE_CHANNEL_ACCESS_TOKEN="t",
                    HOST="0.0.0.0").start_problem() is None


def test_the_simulator_on_ipv6_loopback_posts_to_itself_at_a_url_that_parses():
    from supportnavi.settings import Settings

    settings = Settings(SUPPORTNAVI_SIMULATOR=True, HOST="::1", PORT=8123)
    assert settings.local_base_url() == "http://[::1]:8123"
    assert httpx.URL(settings.effective_line_api_base_url()).host == "::1"
