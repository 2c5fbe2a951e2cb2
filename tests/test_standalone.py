"""A clone with nothing beside it passes `make test` (issue 13): what the tests and the benches
read is in the repository, and the guard that holds every test to that can fail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import paths
from tests.support.line_spec import SPEC_DIR, request_errors, webhook_errors

ROOT = paths.REPO_ROOT


def test_the_line_specs_and_the_intent_set_are_ours(tmp_path: Path) -> None:
    assert SPEC_DIR == ROOT / "tests/spec/line-openapi"
    for name in ("messaging-api.yml", "webhook.yml", "LICENSE", "README.md"):
        assert (SPEC_DIR / name).is_file(), name
    assert "Apache License" in (SPEC_DIR / "LICENSE").read_text(encoding="utf-8")
    # the copy is the one the README names: the blob hashes in its table match the files
    note = (SPEC_DIR / "README.md").read_text(encoding="utf-8")
    for name in ("messaging-api.yml", "webhook.yml"):
        blob = subprocess.run(["git", "hash-object", str(SPEC_DIR / name)], capture_output=True,
                              text=True, check=True).stdout.strip()
        assert f"| `{name}` |" in note and blob in note, name
    # and they are what the validators read
    assert request_errors("POST", "/v2/bot/message/push", {"to": "U1"}) != []
    assert webhook_errors({"destination": "U" + "0" * 32, "events": []}) == []
    intents = yaml.safe_load((ROOT / "tests/understanding/intents_dev.yaml").read_text("utf-8"))
    assert "unknown" in intents and len(intents) >= 10


def test_the_guard_tells_beside_from_inside_and_from_the_system(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    (repo / "tests").mkdir(parents=True)
    guard = paths.PathGuard(root=repo)
    assert guard.check(repo / "tests" / "x.yml") is None
    assert guard.check(str(repo / "tests" / ".." / "scenarios" / "a.yaml")) is None
    beside = tmp_path / "shared" / "line-openapi" / "webhook.yml"
    assert guard.check(beside) == str(beside)
    assert guard.check(repo / ".." / "shared" / "data.yaml") == str(tmp_path / "shared/data.yaml")
    # a link inside the repository that points beside it is beside it
    (tmp_path / "shared").mkdir()
    (repo / "spec").symlink_to(tmp_path / "shared")
    assert guard.check(repo / "spec" / "x") == str(tmp_path / "shared" / "x")
    # the interpreter's and the system's own files are not the project's to carry
    assert guard.check(os.__file__) is None
    assert guard.check("/etc/hosts") is None
    assert guard.check(Path.home() / ".netrc") is None  # the user's own settings
    assert guard.check(3) is None


def test_the_guard_sees_an_open_in_this_process(tmp_path: Path) -> None:
    repo = tmp_path / "clone"
    repo.mkdir()
    (tmp_path / "beside.txt").write_text("x", encoding="utf-8")
    guard = paths.PathGuard(root=repo).watch()
    try:
        (repo / "inside.txt").write_text("x", encoding="utf-8")
        (tmp_path / "beside.txt").read_text(encoding="utf-8")
    finally:
        guard.stop()
    assert guard.take() == [str(tmp_path / "beside.txt")]


def test_a_process_the_tests_start_reports_what_it_opens_beside(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    beside = ROOT.parent / "nothing-beside-supportnavi" / "data.yaml"
    code = f"""
try:
    open({str(beside)!r})
except FileNotFoundError:
    pass
open({str(ROOT / 'README.md')!r}).close()
"""
    env = {**os.environ, paths.GUARD_ENV: str(report)}
    assert str(paths.SITE_DIR) in env["PYTHONPATH"].split(os.pathsep)
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path)
    assert paths.reported(report) == [f"-c: {beside}"]


def test_the_classify_bench_reads_only_the_repository() -> None:
    """Run as a reader would run it, with its defaults; anything it opens beside the repository
    reaches this session's report and fails this test."""
    out = subprocess.run([sys.executable, "bench/classify.py", "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "tests/understanding/intents_dev.yaml" in out.stdout


def test_the_admin_bench_reads_only_the_repository() -> None:
    out = subprocess.run(
        [sys.executable, "bench/admin.py", "--rows", "2000", "--db", "sqlite", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "summary_s=" in out.stdout


def test_ci_runs_the_suite_in_a_copy_with_nothing_beside_it() -> None:
    script = (ROOT / ".ci/run").read_text(encoding="utf-8")
    assert "mktemp -d" in script and "make test" in script
    # nothing the build, the tests or CI read is named outside the repository
    for name in ("Makefile", ".ci/run", "pyproject.toml", "alembic.ini", "Dockerfile"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "../" not in text and "shared/" not in text, name
