"""Every figure a person reads comes from a fact (issue 17): a day count, an hour, a price or a
phone number in a bubble, a title, a button, a pushed reminder or a system text is a fact of
facts.yaml, which names the guides that state it (or, kind policy or example, says why it is
our own), or it is a step's number. Scenario text writes no figure of its own, and `lint`
refuses one; these tests read the shipped files themselves, and plant figures to see that the
checker and lint find them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from supportnavi.engine.content import Fact
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.templates import TEMPLATE, bare_figures, is_shown
from supportnavi.engine.vocab import GUIDE_COUNT, OWN_KINDS
from supportnavi.settings import REPO_ROOT
from tests.engine.test_lint import break_file, copy, lint  # noqa: F401 (copy is a fixture)

SCENARIOS_DIR = REPO_ROOT / "scenarios"
SCENARIOS = load_scenarios(SCENARIOS_DIR)


Path_ = tuple[str | int, ...]


def _strings(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))


def shown_as_written(directory: Path = SCENARIOS_DIR) -> dict[tuple[str, Path_], str]:
    """Every text a person reads, as the YAML writes it (before its facts are filled in), by
    file ("system" or the route) and place in it."""
    found: dict[tuple[str, Path_], str] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name == "facts.yaml":
            continue
        where = "system" if path.name == "system.yaml" else "route"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        found |= {(path.stem, at): text for at, text in _strings(data) if is_shown(at, where)}
    return found


STEP = re.compile(r"(?m)(?:^|【|\()[ \t]*\d+\.(?=[ \t])|手順[ \t]*\d+(?:[ \t]*[・〜~\-][ \t]*\d+)*"
                  r"|全部で\d+つの手順")


def figures_outside_facts(text: str, facts: dict[str, Fact]) -> list[str]:
    """What a person reads, filled in: the digit groups left once the values of the facts it
    uses, its {placeholders} and its step numbers are taken out. Read from the filled text, so
    it does not trust how the templates were written."""
    rest = STEP.sub(" ", unicodedata.normalize("NFKC", text))
    values = {unicodedata.normalize("NFKC", f.value) for f in facts.values()}
    for value in sorted(values, key=len, reverse=True):
        rest = rest.replace(value, " ")
    rest = re.sub(r"\{[a-z_]+\}", " ", rest)
    return re.findall(r"\d+", rest)


def shown_filled() -> dict[tuple[str, Path_], str]:
    """The same texts as the bot holds them, every {{fact}} filled in."""
    found: dict[tuple[str, Path_], str] = {}
    for route_id, route in SCENARIOS.routes.items():
        data = route.model_dump(include={"nodes", "title", "menu_label"})
        found |= {(route_id, at): text for at, text in _strings(data) if is_shown(at, "route")}
    found |= {("system", at): text for at, text in _strings(SCENARIOS.system.model_dump())
              if is_shown(at, "system")}
    return found


def used(text: str) -> dict[str, Fact]:
    return {m.group(1): SCENARIOS.facts[m.group(1)] for m in TEMPLATE.finditer(text)}


# --- the shipped scenarios --------------------------------------------------------------------


def test_there_is_much_to_check():
    # the walk reaches bubbles, titles, buttons, pushed reminders and system texts alike
    where = " ".join(f"{f}:" + ".".join(map(str, at)) for f, at in shown_as_written())
    for part in (".say.", ".title", ".label", "reminders.return_window.text",
                 "texts.remind_bad_date", "safety.secret_warning", "labels.stop_numbered"):
        assert part in where, part
    assert len(shown_as_written()) > 800
    assert shown_as_written().keys() == shown_filled().keys()


def test_scenario_text_writes_no_figure_of_its_own():
    found = [(where, figures) for where, text in shown_as_written().items()
             if (figures := bare_figures(text))]
    assert found == []


def test_every_figure_a_person_reads_is_part_of_a_fact():
    written = shown_as_written()
    found = [(where, figures) for where, text in shown_filled().items()
             if (figures := figures_outside_facts(text, used(written[where])))]
    assert found == []


def test_every_fact_a_text_uses_names_its_guides_or_says_it_is_ours():
    keys = {key for text in shown_as_written().values() for key in used(text)}
    for key in sorted(keys):
        fact = SCENARIOS.facts[key]
        if fact.kind in OWN_KINDS:
            assert not fact.sources and fact.note, key
        else:
            assert fact.sources and all(re.fullmatch(r"00[0-4]", s) for s in fact.sources), key
        if any(c.isdigit() for c in fact.value) and fact.kind not in OWN_KINDS:
            assert fact.note or len(fact.sources) == 1, key  # a figure says where it stands


def test_a_count_of_guides_is_how_many_its_sources_name():
    counts = {k: f for k, f in SCENARIOS.facts.items() if f.kind == GUIDE_COUNT}
    assert {"phone_prime_listed_by", "callback_only_by", "phone_prime_24h_by"} <= set(counts)
    for key, fact in counts.items():
        assert re.sub(r"\D", "", fact.value) == str(len(set(fact.sources))), key


def test_no_day_count_is_given_for_returns():
    # no guide states a return period: the return screens and the push give none
    assert "return_window_days" not in SCENARIOS.facts
    returns = [t for (f, _), t in shown_filled().items() if f == "returns"]
    returns.append(SCENARIOS.system.reminders["return_window"].text)
    notice = SCENARIOS.facts["return_notice_days"].value + "日前"  # when the push comes
    example = SCENARIOS.facts["date_example"].value
    days = [m for t in returns for m in re.findall(r"\d+日[前目]?", t.replace(example, ""))]
    assert days and set(days) == {notice}


# --- the checker itself ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "figures"),
    [
        ("届いた日から30日ほどが目安です", ["30"]),
        ("受付は２４時間です", ["24"]),  # full-width
        ("料金は500円", ["500"]),
        ("0120-999-373 にかける", ["0120", "999", "373"]),
        ("三日前に知らせます", ["三日"]),
        ("{{trial_cancel_margin_days}}日前、そして30日目", ["30"]),
        ("1. ログインする\n2. 押す\n3日以内に返信", ["3"]),  # a step's number, then a figure
        ("1. ログインする\n2. 「{{btn_cancel}}」を押す", []),
        ("次へ（手順4・5）", []),
        ("次へ（2. Amazonに知らせる）", []),
        ("【3. {{setting_two_step}}】", []),
        ("全部で5つの手順です", []),
        ("期限 {deadline} まで、{window}の間", []),
        ("一時停止をやめる", []),
    ],
)
def test_the_checker_finds_bare_figures_and_only_those(text, figures):
    assert bare_figures(text) == figures


def test_the_filled_check_finds_a_planted_figure():
    assert figures_outside_facts("受付は24時間です", {}) == ["24"]
    assert figures_outside_facts("受付は24時間です", used("{{phone_hours_24h}}")) == []
    # the value of a fact the text does not use does not count
    assert figures_outside_facts("返品は届いてから30日まで", used("{{date_example}}")) == ["30"]
    assert figures_outside_facts("無料体験は30日", used("{{trial_days}}")) == []


@pytest.mark.parametrize(
    ("file", "old", "new", "figure"),
    [
        ("returns.yaml", "期限は、{{return_deadline_on_screen}}。\"",
         "届いた日から30日ほどが目安です。\"", "'30'"),
        ("contact.yaml", "「{{phone_hours_24h}}」としています",
         "「9時〜21時」としています", "'9'"),
        ("system.yaml", 'name: "返品の期限"', 'name: "返品の期限（30日）"', "'30'"),
        ("system.yaml", "出品者に連絡した日から{{seller_reply_wait_days}}日",
         "出品者に連絡した日から2日", "'2'"),
        ("prime_cancel.yaml", '{label: "ウェブで解約する", to: web_1}',
         '{label: "ウェブで解約する（5分）", to: web_1}', "'5'"),
    ],
)
def test_lint_refuses_a_planted_figure(copy, file, old, new, figure):  # noqa: F811
    break_file(copy / file, old, new)
    result = lint(copy)
    assert result.returncode == 1
    assert any(f"figure {figure} written out" in line and file in line
               for line in result.stdout.splitlines()), result.stdout


def test_lint_refuses_a_count_of_guides_its_sources_do_not_make(copy):  # noqa: F811
    break_file(copy / "facts.yaml", 'callback_only_by:\n  value: "3つ"',
               'callback_only_by:\n  value: "4つ"')
    result = lint(copy)
    assert result.returncode == 1 and "guide_count 'callback_only_by'" in result.stdout
