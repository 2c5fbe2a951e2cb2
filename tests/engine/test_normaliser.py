"""One normaliser (`engine/text.clean`) reads typed text for commands, typed labels, dates, phone
numbers, secrets and links; each used to read it its own way, with its own list of dashes
(issue 15). What it changed on purpose: 「2026‐12‐5」 and 「２０２６ー１２ー５」 are dates, and a
link reads through invisible characters. Everywhere else the old answers are kept: each check
is run through the reading it had before (kept here as it was) and through the one reading,
on generated text, and must answer the same."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from supportnavi.engine import links, phones, sensitive, text
from supportnavi.engine.links import LinkJudge
from supportnavi.engine.loader import load_scenarios
from supportnavi.reminders import rules
from supportnavi.settings import REPO_ROOT

# --- the readings as they were ---------------------------------------------------------------

_OLD_TEXT_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣"}
                                 | {"〜": "~", "～": "~", "〰": "~"})


def old_text_normalize(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).translate(_OLD_TEXT_DASHES)
    return re.sub(r"\s+", " ", value).strip()


def old_phones_normalise(value: str) -> str:
    value = unicodedata.normalize("NFKC", value)
    for dash in "‐‑‒–—―−ー－":
        value = value.replace(dash, "-")
    return value


def old_links_normalise(value: str) -> str:
    dots = str.maketrans({"。": ".", "．": ".", "｡": "."})
    return unicodedata.normalize("NFKC", value.translate(dots)).casefold()


def old_sensitive_normalise(value: str) -> str:
    value = unicodedata.normalize("NFKC", value.translate(text.INVISIBLE))
    return value.translate(str.maketrans({c: "-" for c in "‐‑‒–—―−－⁃"}))


def old_rules_clean(value: str) -> str:
    return unicodedata.normalize("NFKC", value)


@contextlib.contextmanager
def reading(module: Any, name: str, function: Callable[[str], str]) -> Iterator[None]:
    kept = getattr(module, name)
    setattr(module, name, function)
    try:
        yield
    finally:
        setattr(module, name, kept)


# --- what people type ------------------------------------------------------------------------

DASHES_CHANGED = "‐‑‒–—―−﹣⁃"
pieces = st.sampled_from([
    "0", "1", "2", "5", "9", "０", "１", "２", "12", "2026", "0120", "999", "373", "4111",
    "-", "ー", "－", "/", "／", ".", "．", "。", " ", "　", "\t", "\n", "年", "月", "日", "は",
    "〜", "～", "パスワード", "ぱすわーど", "pw", ":", "確認コード", "コード", "マイナンバー", "伝票",
    "amazon", "amaz0n", "co.jp", "http://", "https://", "www.", "evil", ".example", "@",
    "メニュー", "もどる", "プライム", "返品", "ア", "あ", "A", "Ｐ", "!", "?", "、", "「", "」",
    *DASHES_CHANGED, "\u200b", "\u2060",
])
typed = st.lists(pieces, max_size=14).map("".join)
SETTINGS = settings(max_examples=400, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SCENARIOS = load_scenarios(REPO_ROOT / "scenarios")
JUDGE = LinkJudge(["amazon.co.jp", "amazon.com"], SCENARIOS.system.safety.brands)
GUARD = SCENARIOS.secrets
assert GUARD is not None


def _digit_dash_digit(value: str) -> bool:
    """A dash look-alike, or 「ー」, between digits (after NFKC): where the one reading now reads
    a date or a number that was not read before."""
    nfkc = unicodedata.normalize("NFKC", value.translate(text.INVISIBLE))
    return re.search(rf"\d[{DASHES_CHANGED}ー]\d", nfkc) is not None


@SETTINGS
@given(value=typed)
def test_phone_numbers_are_read_as_before(value: str) -> None:
    assume(not any(c in value for c in DASHES_CHANGED) and "\u200b" not in value
           and "\u2060" not in value)
    now = phones.find(value)
    with reading(phones, "normalise", old_phones_normalise):
        before = phones.find(value)
    assert now == before


@SETTINGS
@given(value=typed)
def test_secrets_are_read_as_before(value: str) -> None:
    now = GUARD.find(value)
    with reading(sensitive, "clean", old_sensitive_normalise):
        before = GUARD.find(value)
    assert now == before


@SETTINGS
@given(value=typed)
def test_links_are_read_as_before(value: str) -> None:
    assume(not any(c in value for c in DASHES_CHANGED) and "\u200b" not in value
           and "\u2060" not in value)
    now = JUDGE.judge(value)
    with reading(links, "normalise", old_links_normalise):
        before = JUDGE.judge(value)
    assert now == before


@SETTINGS
@given(value=typed)
def test_dates_are_read_as_before(value: str) -> None:
    assume(not _digit_dash_digit(value))
    today = date(2026, 11, 20)
    for direction in ("future", "past"):
        now = rules.parse_date(value, today, direction)  # type: ignore[arg-type]
        with reading(rules, "clean", old_rules_clean):
            before = rules.parse_date(value, today, direction)  # type: ignore[arg-type]
        assert now == before


@SETTINGS
@given(value=typed)
def test_commands_labels_and_routing_words_fold_as_before(value: str) -> None:
    assume("\u200b" not in value and "\u2060" not in value and "⁃" not in value)
    now = text.fold(value)
    with reading(text, "normalize", old_text_normalize):
        before = text.fold(value)
    assert now == before


def test_what_changed_on_purpose() -> None:
    today = date(2026, 11, 20)
    for typed_date in ("2026‐12‐5", "２０２６ー１２ー５", "2026−12−5", "2026―12―5"):
        assert rules.parse_date(typed_date, today, "future") == date(2026, 12, 5), typed_date
    assert JUDGE.judge("https://amazon.co.jp\u200b.evil.example/").verdict == "lookalike"
    assert JUDGE.judge("https://amazon.co.jp/").verdict == "amazon"
    # and what must not change with it: 「ー」 in a word is a long vowel, not a dash
    assert text.clean("メニュー") == "メニュー" and text.fold("めにゅー") == text.fold("メニュー")
