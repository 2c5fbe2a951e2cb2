"""`supportnavi lint`: passes on scenarios/, fails with file:line on broken copies."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from supportnavi.settings import REPO_ROOT


def lint(path: Path | None = None) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "supportnavi", "lint"] + ([str(path)] if path else [])
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    target = tmp_path / "scenarios"
    shutil.copytree(REPO_ROOT / "scenarios", target)
    return target


def break_file(path: Path, old: str, new: str) -> int:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def test_the_shipped_scenarios_pass():
    result = lint()
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok:")


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("prime_cancel.yaml", "to: web_2}", "to: web_9}", "is not a node of prime_cancel"),
        ("prime_cancel.yaml", '{label: "ウェブで解約する", to: web_1}',
         '{label: "ウェブで解約する（パソコンやスマホのブラウザ）", to: web_1}', "LINE allows 20"),
        ("contact.yaml", "{{phone_prime}}", "{{phone_nowhere}}", "unknown fact"),
        ("contact.yaml", "{{phone_old_main|dead}}", "{{phone_old_main}}", "is discontinued"),
        ("contact.yaml", "窓口として {{phone_prime}} を", "窓口として 0120-999-373 を",
         "make it a fact"),
        ("returns.yaml", "    buttons:\n      - {label: \"返品の手順へ\", to: steps_1}\n      - {label: \"返品できないものを見る\", to: cannot}\n  cannot:",
         "  cannot:", "dead end"),
        ("system.yaml", "routes: [prime_cancel,", "routes: [nope, prime_cancel,",
         "does not exist"),
        ("system.yaml", "login, security, number_check,", "login, security,",
         "is not in the menu"),
        ("contact.yaml", "窓口として {{phone_prime}} を", "窓口として ０１２０８９９５４３ を",
         "make it a fact"),
        ("facts.yaml", "  use: ヤマト運輸の問い合わせ窓口です（Amazonではありません）\n", "",
         "needs `use`"),
        ("number_check.yaml", "        amazon: amazon\n", "", "missing: ['amazon']"),
        ("trial_cancel.yaml", "remind: trial_cancel", "remind: trial_end", "not a reminder kind"),
        ("reminders.yaml", 'do: "window:18-22"', 'do: "window:22-18"', "start before it ends"),
        ("reminders.yaml", "do: stop_all, to: all_stopped", "do: stop_all, route: contact",
         "also needs to:"),
        ("facts.yaml", "  kind: policy\n  status: current\n  note: Days before the pause",
         "  kind: policy\n  status: current\n  sources: [\"001\"]\n  note: Days before the pause",
         "our own choice"),
        ("facts.yaml", '  sources: ["001"]\n  note: Answer Amazon', "  sources: []\n"
         "  note: Answer Amazon", "names no guide"),
        # a misspelt placeholder reached the person as it was written
        ("reminders.yaml", "{window}", "{windw}", "unknown placeholder {windw}"),
        ("trial_cancel.yaml", "{{trial_cancel_margin_days}}", "{{trial_margin_dayz}}",
         "unknown fact"),
        # texts: are filled with str.format: a stray field, or a lone brace, failed the turn
        ("system.yaml", 'stale: "そのボタンは、前の画面のものでした。',
         'stale: "{x}そのボタンは、前の画面のものでした。', "unknown placeholder {x}"),
        ("system.yaml", 'push_line: "・{at}"', 'push_line: "・{at"', "a brace that opens"),
        ("system.yaml", 'menu_other: "ほかの相談は「{label}」', 'menu_other: "ほかの相談は「{page}」',
         "unknown placeholder {page}"),
        # issue 17: an end that only informs, where いいえ leads, the list with nothing in it
        ("reminders.yaml", "    title: 届く時間帯を選ぶ\n", "    title: 届く時間帯を選ぶ\n"
         "    informational: true\n", "informational: true is for an end"),
        ("reminders.yaml", "    end: true\n    informational: true\n    say:\n"
         "      - \"お知らせの時間帯", "    end: true\n    informational: true\n"
         "    unresolved: window\n    say:\n      - \"お知らせの時間帯", "unresolved: is for an end"),
        ("contact.yaml", "unresolved: not_yet", "unresolved: nowhere",
         "'nowhere' is not another node of contact"),
        ("reminders.yaml", "empty: none", "empty: nothing", "'nothing' is not another node"),
        ("reminders.yaml", "    show: reminders\n    empty: none\n", "    empty: none\n",
         "empty: is for a node that lists reminders"),
    ],
)
def test_a_broken_copy_fails_with_file_and_line(copy, file, old, new, message):
    line = break_file(copy / file, old, new)
    result = lint(copy)
    assert result.returncode == 1
    errors = result.stdout.strip().splitlines()
    assert any(message in e for e in errors), errors
    hit = next(e for e in errors if message in e)
    m = re.match(rf"^{re.escape(str(copy / file))}:(\d+): ", hit)
    assert m, hit
    assert abs(int(m.group(1)) - line) <= 6, (hit, line)


def test_unreachable_node_and_too_many_buttons(copy):
    path = copy / "contact.yaml"
    text = path.read_text(encoding="utf-8")
    extra = "".join(f'      - {{label: "b{i}", to: done}}\n' for i in range(12))
    text = text.replace('      - {label: "使えない番号の一覧", to: dead}\n',
                        '      - {label: "使えない番号の一覧", to: dead}\n' + extra, 1)
    text += "  orphan:\n    say: [\"x\"]\n    end: true\n"
    path.write_text(text, encoding="utf-8")
    out = lint(copy).stdout
    assert "'orphan' cannot be reached" in out
    shown = text[text.index("  start:"):text.index("  callback:")].count("{label:")
    assert f"{shown} buttons; at most 11" in out


def test_the_server_refuses_to_start_on_broken_scenarios(copy):
    break_file(copy / "prime_cancel.yaml", "start: start", "start: nowhere")
    result = subprocess.run(
        [sys.executable, "-m", "supportnavi", "serve", "--port", "1"],
        capture_output=True, text=True, timeout=60, check=False,
        env={"SUPPORTNAVI_SCENARIOS": str(copy), "PATH": "/usr/bin:/bin",
             "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t"},
    )
    assert result.returncode == 1
    assert "start node 'nowhere' does not exist" in result.stderr


def test_a_node_that_can_never_reach_an_end(copy):
    path = copy / "contact.yaml"
    text = path.read_text(encoding="utf-8")
    text += (
        '  loop_a:\n    say: ["a"]\n    buttons: [{label: "b", to: loop_b}]\n'
        '  loop_b:\n    say: ["b"]\n    buttons: [{label: "a", to: loop_a}]\n'
    )
    text = text.replace('      - {label: "使えない番号の一覧", to: dead}\n',
                        '      - {label: "使えない番号の一覧", to: dead}\n'
                        '      - {label: "ループ", to: loop_a}\n', 1)
    path.write_text(text, encoding="utf-8")
    out = lint(copy).stdout
    assert "'loop_a' can never reach an end" in out
    assert "'loop_b' can never reach an end" in out


def test_a_route_without_an_end(copy):
    break_file(copy / "contact.yaml", "    end: true\n    unresolved: not_yet\n",
               "    buttons: [{label: x, to: start}]\n")
    assert "route 'contact' has no end" in lint(copy).stdout


def test_a_reminder_kind_the_date_rules_do_not_know(copy, monkeypatch):
    """Added to REMINDER_KINDS (and given its texts) but not to the rules: it passed lint, then
    failed on the screen that offers it. The rules' kinds are what lint checks against."""
    from supportnavi.engine import loader
    from supportnavi.engine.loader import check_scenarios
    from supportnavi.reminders.planner import KINDS

    monkeypatch.setattr(loader, "REMINDER_KINDS", (*loader.REMINDER_KINDS, "bill_due"))
    system = copy / "system.yaml"
    line = break_file(system, "reminders:\n", "reminders:\n  bill_due:\n    name: \"支払い\"\n"
                      "    text: \"【リマインダー】{deadline}\"\n    button: \"メニューへ\"\n"
                      "    route: contact\n")
    _, errors = check_scenarios(copy, reminder_kinds=KINDS)
    hits = [e for e in errors if "date rules know no reminder kind 'bill_due'" in str(e)]
    assert hits and hits[0].file.endswith("system.yaml") and hits[0].line == line + 1
    _, without = check_scenarios(copy)  # a tool that has no rules to hand checks the rest
    assert not any("date rules" in str(e) for e in without)
