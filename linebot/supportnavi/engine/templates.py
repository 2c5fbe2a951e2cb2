"""What scenario text may hold in braces, checked and filled once, at load: `{{fact}}`, a fact
from facts.yaml (a discontinued phone number only as `{{key|dead}}`, in a warning; a phone
number written out is an error: it must be a fact), and `{placeholder}`, filled by the engine
as it answers (any other name is an error, or a person would see it as written).

The loader reports each problem through `Report(message, path)` with where it is.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from string import Formatter
from typing import Any, Literal

from supportnavi.engine import phones
from supportnavi.engine.content import Fact

Report = Callable[[str, Sequence[str | int]], None]

TEMPLATE = re.compile(r"\{\{\s*([a-z0-9_]+)\s*(?:\|\s*([a-z]+)\s*)?\}\}")
# A phone number typed straight into a scenario: it must be a fact, so that it is checked once.
_RAW_PHONE = re.compile(r"(?<![\d{])(?:\+?81[-\s]?|0)\d{1,4}[-\s]\d{1,4}[-\s]\d{3,4}(?!\d)")


def fill_facts(data: Any, facts: dict[str, Fact], report: Report) -> Any:
    """Every string of `data` (a model dumped) with its {{fact}}s replaced by their values."""
    return _map_strings(data, (), lambda text, path: _fill_text(text, path, facts, report))


# The {placeholders} the engine fills, by where the text is: any other {name} would reach the
# person as it is ({windw}), or fail the turn (str.format on a system text).
NODE_PLACEHOLDERS = frozenset({"window", "number", "use", "link", "domain"})
SYSTEM_PLACEHOLDERS: dict[tuple[str, ...], frozenset[str]] = {
    ("texts", "revive_question"): frozenset({"count", "list"}),
    ("texts", "remind_set"): frozenset({"name", "given", "deadline", "pushes", "window"}),
    ("texts", "push_line"): frozenset({"at"}),
    ("texts", "window_hours"): frozenset({"start", "end"}),
    ("texts", "remind_again"): frozenset({"name", "given"}),
    ("texts", "remind_past"): frozenset({"name", "given", "deadline"}),
    ("texts", "remind_too_late"): frozenset({"name", "given", "deadline"}),
    ("texts", "reminders_item"): frozenset({"n", "name", "deadline"}),
    ("texts", "reminders_next"): frozenset({"next"}),
    ("texts", "reminders_more"): frozenset({"count"}),
    ("texts", "reminder_stopped"): frozenset({"name", "deadline"}),
    ("texts", "menu_other"): frozenset({"label"}),
    ("texts", "stale"): frozenset({"where"}),
    ("texts", "help_unmatched"): frozenset({"days"}),
    ("texts", "ask"): frozenset({"first"}),
    ("labels", "stop_numbered"): frozenset({"n", "name"}),
    ("safety", "secret_warning"): frozenset({"name", "given"}),
    ("reminders", "*", "text"): frozenset({"deadline"}),
}


# Texts the engine fills with str.format (a lone brace there fails the turn); the others are
# filled by replacing each {name}.
FORMATTED = ("texts", "labels")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _placeholders(text: str, formatted: bool) -> tuple[list[str], str | None]:
    """The {names} in a text (fact templates {{key}} left out), and, for a text filled by
    str.format, what is malformed (a lone brace)."""
    bare = TEMPLATE.sub("", text)
    if not formatted:
        return _PLACEHOLDER.findall(bare), None
    try:
        return [name for _, name, _, _ in Formatter().parse(bare) if name is not None], None
    except ValueError as exc:
        return [], str(exc)


def _allowed_in_system(path: tuple[str | int, ...]) -> frozenset[str]:
    for pattern, names in SYSTEM_PLACEHOLDERS.items():
        if len(pattern) <= len(path) and all(
            p in ("*", q) for p, q in zip(pattern, path, strict=False)
        ):
            return names
    return frozenset()


def check_placeholders(data: Any, where: Literal["route", "system"], report: Report) -> None:
    """Every {placeholder} in a route's nodes (`route`) or in system.yaml (`system`) must be one
    the engine fills there; in a text filled by str.format, a lone brace is an error too."""
    def check(text: str, path: tuple[str | int, ...]) -> str:
        allowed = NODE_PLACEHOLDERS if where == "route" else _allowed_in_system(path)
        formatted = where == "system" and path[0] in FORMATTED
        names, malformed = _placeholders(text, formatted=formatted)
        if malformed is not None:
            report(f"a brace that opens no placeholder: {malformed} (write {{{{ and }}}} "
                   "for a brace itself)", path)
        for name in names:
            if name not in allowed:
                known = ", ".join(f"{{{n}}}" for n in sorted(allowed)) or "none here"
                report(f"unknown placeholder {{{name}}}: known {known}", path)
        return text

    _map_strings(data, (), check)


# --- figures ---------------------------------------------------------------------------------
# Every figure a person reads (a day count, an hour, a price, a number) must come from a fact,
# which names the guides that state it (or says why it is ours): scenario text holds none of
# its own. A step's number is not a figure: 「1. 」 opening a line (or 【3. 】, （2. ）),
# 「手順4・5」, 「全部で5つの手順」 (read after NFKC: （ is "(").
_STEP_NUMBER = re.compile(
    r"(?m)(?:^|【|\()[ \t]*\d+\.(?=[ \t])"
    r"|手順[ \t]*\d+(?:[ \t]*[・〜~\-][ \t]*\d+)*"
    r"|全部で\d+つの手順")
_FIGURE = re.compile(r"\d+(?:[.,]\d+)*")
# A figure in kanji with what it counts (「三日」, 「五千円」); 「一時停止」 and 「一度」 are words.
_KANJI_FIGURE = re.compile(
    r"[一二三四五六七八九十百千万]+(?:日|円|時間|か月|ヶ月|カ月|週間|年|営業日|分|件|桁|つ)")
# Where a person reads a text: a route's nodes' bubbles, titles and button labels, and in
# system.yaml what the bot says ("*" is any key or index).
SHOWN_IN_ROUTE = (("title",), ("menu_label",), ("nodes", "*", "say"), ("nodes", "*", "title"),
                  ("nodes", "*", "buttons", "*", "label"))
SHOWN_IN_SYSTEM = (
    ("texts",), ("labels",), ("reminders", "*", "name"), ("reminders", "*", "text"),
    ("reminders", "*", "button"), ("safety", "secret_warning"), ("safety", "secrets"),
    ("safety", "link_fallback"), ("safety", "domain_fallback"), ("menu", "*", "label"),
    ("richmenu", "chat_bar"), ("richmenu", "tabs", "*", "label"),
    ("richmenu", "tabs", "*", "areas", "*", "label"), ("understanding", "greetings", "*", "reply"),
    ("understanding", "unknown"),
)


def bare_figures(text: str) -> list[str]:
    """The figures a scenario text writes out itself: every digit group (full-width too) and
    kanji figure outside its {{facts}}, its {placeholders} (filled as the bot answers) and its
    step numbers."""
    bare = _PLACEHOLDER.sub(" ", TEMPLATE.sub(" ", text))
    bare = _STEP_NUMBER.sub(" ", unicodedata.normalize("NFKC", bare))
    return _FIGURE.findall(bare) + _KANJI_FIGURE.findall(bare)


def is_shown(path: Sequence[str | int], where: Literal["route", "system"]) -> bool:
    """Whether the text at `path` of a route file or of system.yaml is one a person reads."""
    patterns = SHOWN_IN_ROUTE if where == "route" else SHOWN_IN_SYSTEM
    return any(len(pattern) <= len(path) and all(
        p == "*" or p == q for p, q in zip(pattern, path, strict=False)) for pattern in patterns)


def check_figures(data: Any, where: Literal["route", "system"], report: Report) -> None:
    """Every text a person reads holds its figures only through facts (see bare_figures)."""
    def check(text: str, path: tuple[str | int, ...]) -> str:
        if is_shown(path, where):
            for figure in bare_figures(text):
                report(f"figure {figure!r} written out: state it through a fact in facts.yaml "
                       "(with the guides that give it, or kind: policy or example with a note)",
                       path)
        return text

    _map_strings(data, (), check)


def _map_strings(
    value: Any, path: tuple[str | int, ...], fn: Callable[[str, tuple[str | int, ...]], str]
) -> Any:
    if isinstance(value, str):
        return fn(value, path)
    if isinstance(value, dict):
        return {k: _map_strings(v, (*path, k), fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, (*path, i), fn) for i, v in enumerate(value)]
    return value


def _fill_text(text: str, path: Sequence[str | int], facts: dict[str, Fact],
               report: Report) -> str:
    bare = phones.normalise(TEMPLATE.sub("", text))
    written = {m.group(0) for m in _RAW_PHONE.finditer(bare)}
    written |= {m.raw_string for m in phones.PhoneNumberMatcher(bare, phones.REGION)}
    for number in sorted(written):
        report(f"phone number {number!r} written out: make it a fact in facts.yaml", path)

    def replace(match: re.Match[str]) -> str:
        key, flag = match.group(1), match.group(2)
        fact = facts.get(key)
        if fact is None:
            report(f"unknown fact {{{{{key}}}}}", path)
            return match.group(0)
        if fact.status == "discontinued" and flag != "dead":
            report(
                f"fact {key!r} is discontinued: write {{{{{key}|dead}}}} where you warn about "
                "it, and never offer it as working",
                path,
            )
        if flag is not None and flag != "dead":
            report(f"unknown template flag {flag!r} (only |dead)", path)
        if flag == "dead" and fact.status != "discontinued":
            report(f"fact {key!r} is {fact.status}, not discontinued: drop |dead", path)
        return fact.value

    return TEMPLATE.sub(replace, text)


