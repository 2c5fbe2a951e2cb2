"""Reads `scenarios/`, checks it, and fills fact templates in, or refuses with `file:line`.

The checks are those the bot cannot recover from at run time: a target that does not exist,
a node nobody can reach, a node that strands the person, and LINE's own size limits.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from supportnavi.engine import phones, postback
from supportnavi.engine.content import Fact, RichMenu, Route, SystemFile
from supportnavi.engine.errors import LintError, ScenarioError
from supportnavi.engine.limits import (
    MAX_LABEL,
    MAX_NODE_BUBBLES,
    MAX_POSTBACK_DATA,
    MAX_QUICK_REPLIES,
    MAX_TEXT_UTF16,
    NAV_BUTTONS,
    RICHMENU_LABEL_LINES,
    RICHMENU_LINE_CHARS,
)
from supportnavi.engine.links import LinkJudge
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.sensitive import SecretGuard
from supportnavi.engine.templates import check_figures, check_placeholders, fill_facts
from supportnavi.engine.text import fold
from supportnavi.engine.vocab import GUIDE_COUNT, OWN_KINDS, PHONE_KINDS, REMINDER_KINDS
from supportnavi.engine.yamllines import line_of
from supportnavi.engine.yamllines import load as load_yaml

FACTS_FILE = "facts.yaml"
SYSTEM_FILE = "system.yaml"


M = TypeVar("M", bound=BaseModel)


class _File:
    """One YAML file being checked: its raw tree (with lines) and the errors found in it."""

    def __init__(self, path: Path, errors: list[LintError]) -> None:
        self.path = path
        self.name = str(path)
        self.errors = errors
        self.raw: Any = None
        try:
            self.raw = load_yaml(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            self.error(f"YAML: {exc.problem or exc}", line=(mark.line + 1) if mark else 1)
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.error(f"cannot read: {exc}", line=1)

    def error(self, message: str, path: Sequence[str | int] = (), line: int | None = None) -> None:
        self.errors.append(
            LintError(self.name, line if line is not None else line_of(self.raw, path), message)
        )

    def parse(self, model: type[M], raw: Any = None, prefix: Sequence[str | int] = ()) -> M | None:
        try:
            return model.model_validate(self.raw if raw is None else raw)
        except ValidationError as exc:
            for err in exc.errors():
                loc = [*prefix, *err["loc"]]
                where = ".".join(str(p) for p in loc) or "(top)"
                self.error(f"{where}: {err['msg']}", loc)
            return None


def load_scenarios(
    directory: Path, *, reminder_kinds: Collection[str] | None = None,
) -> Scenarios:
    """Load and validate every file; raise ScenarioError listing every problem found.

    `reminder_kinds`: the kinds the date rules know (the planner's); a kind the scenarios use
    that is not among them is an error here, not a failure on that screen later."""
    scenarios, errors = check_scenarios(directory, reminder_kinds=reminder_kinds)
    if errors or scenarios is None:
        raise ScenarioError(errors)
    return scenarios


def check_scenarios(
    directory: Path, *, reminder_kinds: Collection[str] | None = None,
) -> tuple[Scenarios | None, list[LintError]]:
    errors: list[LintError] = []
    if not directory.is_dir():
        return None, [LintError(str(directory), 0, "no such scenario directory")]

    facts_file = _File(directory / FACTS_FILE, errors)
    facts = _parse_facts(facts_file)

    system_file = _File(directory / SYSTEM_FILE, errors)
    system = system_file.parse(SystemFile)

    route_files: dict[str, _File] = {}
    routes: dict[str, Route] = {}
    for path in sorted(directory.glob("*.yaml")):
        if path.name in (FACTS_FILE, SYSTEM_FILE):
            continue
        f = _File(path, errors)
        route = f.parse(Route) if f.raw is not None else None
        if route is None:
            continue
        if route.id != path.stem:
            f.error(f"route id {route.id!r} must match the file name {path.stem!r}", ["id"])
        route_files[route.id] = f
        routes[route.id] = route

    if facts is None or system is None:
        return None, errors

    phone_facts = _index_phone_facts(facts_file, facts)
    filled: dict[str, Route] = {}
    for route_id, route in routes.items():
        f = route_files[route_id]
        _check_route(f, route, routes)
        filled[route_id] = _filled(f, route, facts)
    _check_system(system_file, system, routes, reminder_kinds)
    _check_placeholders(system_file, system, route_files, routes)
    _check_examples(route_files, routes, system_file, system)
    system = _filled(system_file, system, facts)
    links = _check_safety(system_file, system, filled)

    if errors:
        return None, errors
    return Scenarios(routes=filled, facts=facts, system=system, phone_facts=phone_facts,
                     links=links, secrets=SecretGuard(system.safety.words)), errors


def _parse_facts(f: _File) -> dict[str, Fact] | None:
    if f.raw is None:
        return None
    if not isinstance(f.raw, dict):
        f.error("facts.yaml must map fact keys to facts")
        return None
    facts: dict[str, Fact] = {}
    for key, raw in f.raw.items():
        if not re.fullmatch(r"[a-z0-9_]+", str(key)):
            f.error(f"fact key {key!r}: use lower-case letters, digits and _", [key])
        fact = f.parse(Fact, raw, [key])
        if fact is not None:
            if fact.kind in OWN_KINDS:
                # supportnavi's own choice (how long before a deadline to push), or a made-up
                # value that shows what to type: no guide states it, so the note says why
                if fact.sources or not fact.note:
                    f.error(f"{fact.kind} {key!r} is our own choice, not a guide's: no "
                            "sources, and a note saying why", [key])
            elif not fact.sources:
                f.error(f"fact {key!r} names no guide in sources", [key])
            if fact.kind == GUIDE_COUNT and re.sub(r"\D", "", fact.value) != str(
                    len(set(fact.sources))):
                f.error(f"guide_count {key!r} says {fact.value!r} but its sources name "
                        f"{len(set(fact.sources))} guides", [key])
            facts[str(key)] = fact
    return facts


def _index_phone_facts(f: _File, facts: dict[str, Fact]) -> dict[str, str]:
    """E.164 number -> fact key, for number_check; each phone fact must parse and say whose."""
    index: dict[str, str] = {}
    for key, fact in facts.items():
        if fact.kind not in PHONE_KINDS:
            continue
        number = phones.fact_number(fact.value)
        if number is None:
            f.error(f"fact {key!r} is a {fact.kind}, but {fact.value!r} is no phone number", [key])
            continue
        if number in index:
            f.error(f"fact {key!r} is the same number as {index[number]!r}: keep one", [key])
        if not fact.use:
            f.error(f"phone fact {key!r} needs `use`: whose number it is, for number_check", [key])
        index[number] = key
    return index


def _check_route(f: _File, route: Route, routes: dict[str, Route]) -> None:
    if route.start not in route.nodes:
        f.error(f"start node {route.start!r} does not exist", ["start"])
    if route.menu_label is not None:
        _check_label(f, route.menu_label, ["menu_label"])

    for node_id, node in route.nodes.items():
        here: list[str | int] = ["nodes", node_id]
        if not re.fullmatch(r"[a-z0-9_]+", node_id):
            f.error(f"node id {node_id!r}: use lower-case letters, digits and _", here)
        if node.remind is not None and node.remind not in REMINDER_KINDS:
            f.error(f"remind: {node.remind!r} is not a reminder kind; known: "
                    f"{', '.join(REMINDER_KINDS)}", [*here, "remind"])
        bubbles = len(node.say) + (1 if node.asks else 0) + (1 if node.show else 0)
        if bubbles > MAX_NODE_BUBBLES:
            what = "say (plus the 解決しましたか？ question)" if node.asks else "say"
            f.error(
                f"{what} makes {bubbles} bubbles; at most {MAX_NODE_BUBBLES}, so that a reply "
                "stays within LINE's 5 messages",
                [*here, "say"],
            )
        if not node.buttons and not node.end:
            f.error(f"node {node_id!r} is a dead end: give it buttons or mark it end: true", here)
        room = MAX_QUICK_REPLIES - NAV_BUTTONS - (2 if node.asks else 0) - (1 if node.remind else 0)
        if len(node.buttons) > room:
            added = "解決した/まだ, 戻る and メニュー are" if node.asks else "戻る and メニュー are"
            if node.remind:
                added = added.replace(" and", ", 日付を選ぶ and")
            f.error(
                f"{len(node.buttons)} buttons; at most {room}, "
                f"because {added} added and LINE allows {MAX_QUICK_REPLIES}",
                [*here, "buttons"],
            )
        for i, button in enumerate(node.buttons):
            where: list[str | int] = [*here, "buttons", i]
            _check_label(f, button.label, where)
            if button.to is not None and button.to not in route.nodes:
                f.error(f"button target {button.to!r} is not a node of {route.id}", where)
            if button.route is not None and button.route not in routes:
                f.error(f"button leads to route {button.route!r}, which does not exist", where)
            key = button.key
            data = "" if key is None else postback.encode(postback.Tap(key, route.id, node_id))
            if len(data) > MAX_POSTBACK_DATA:
                f.error(f"postback data is {len(data)} characters; LINE allows 300", where)
        for field in ("unresolved", "empty"):
            target = getattr(node, field)
            if target is not None and (target not in route.nodes or target == node_id):
                f.error(f"{field}: {target!r} is not another node of {route.id}", [*here, field])
        if node.input is not None:
            for verdict, target in node.input.next.items():
                if target not in route.nodes:
                    f.error(f"input verdict {verdict!r} leads to {target!r}, not a node of "
                            f"{route.id}", [*here, "input", "next", verdict])
        for i, text in enumerate(node.say):
            units = len(text.encode("utf-16-le")) // 2
            if units > MAX_TEXT_UTF16:
                f.error(f"text is {units} UTF-16 units; LINE allows 5000", [*here, "say", i])

    for node_id in route.nodes.keys() - _reachable(route, [route.start], forward=True):
        f.error(f"node {node_id!r} cannot be reached from {route.start!r}", ["nodes", node_id])
    ends = [node_id for node_id, node in route.nodes.items() if node.end]
    if not ends:
        f.error(f"route {route.id!r} has no end: mark a node end: true, where it asks "
                "解決しましたか？", ["nodes"])
        return
    for node_id in route.nodes.keys() - _reachable(route, ends, forward=False):
        f.error(f"node {node_id!r} can never reach an end (解決しましたか？): add a way on",
                ["nodes", node_id])


def _edges(route: Route, node_id: str) -> list[str]:
    """The nodes one tap (or one typed number) leads to from node_id."""
    node = route.nodes[node_id]
    targets = [b.to for b in node.buttons if b.to is not None]
    targets += [t for t in (node.unresolved, node.empty) if t is not None]
    if node.input is not None:
        targets.extend(node.input.next.values())
    return [t for t in targets if t in route.nodes]


def _reachable(route: Route, starts: list[str], *, forward: bool) -> set[str]:
    """Nodes reachable from `starts`, or (forward=False) nodes from which `starts` are reached."""
    if forward:
        graph = {n: _edges(route, n) for n in route.nodes}
    else:
        graph = {n: [] for n in route.nodes}
        for source in route.nodes:
            for target in _edges(route, source):
                graph[target].append(source)
    seen: set[str] = set()
    todo = [s for s in starts if s in route.nodes]
    while todo:
        node_id = todo.pop()
        if node_id not in seen:
            seen.add(node_id)
            todo.extend(graph[node_id])
    return seen


def _check_examples(
    files: dict[str, _File], routes: dict[str, Route], system_file: _File, system: SystemFile
) -> None:
    """An example that reads, once folded, like another route's (or branch's) name or example,
    or like an out-of-scope sentence, would send the same words two ways. A branch with words
    of its own is offered as a button by its title when the bot asks, so the title must fit
    one. An ambiguous word must name routes that exist."""
    seen: dict[str, str] = {}
    for route_id, route in routes.items():
        for name in (route.title, route.menu_label or route.title, *route.names):
            seen.setdefault(fold(name), route_id)
    for route_id, route in routes.items():
        owned: list[tuple[str, list[str | int], str]] = [
            (example, ["examples", i], route_id) for i, example in enumerate(route.examples)]
        for node_id, node in route.nodes.items():
            owned += [(example, ["nodes", node_id, "examples", i], f"{route_id}.{node_id}")
                      for i, example in enumerate(node.examples)]
            for i, group in enumerate(node.keywords):
                if not any(fold(word) for word in group):
                    files[route_id].error("a keyword group must hold words",
                                          ["nodes", node_id, "keywords", i])
            if (node.examples or node.keywords) and node.title is None:
                files[route_id].error("a branch with words of its own needs a title (its "
                                      "button when the bot asks)", ["nodes", node_id])
        for example, where, target in owned:
            folded = fold(example)
            if not folded:
                files[route_id].error("an example must hold words", where)
            elif seen.setdefault(folded, target) != target:
                files[route_id].error(f"example {example!r} reads like {seen[folded]!r}'s",
                                      where)
    for i, sentence in enumerate(system.understanding.out_of_scope):
        folded = fold(sentence)
        if folded in seen:
            system_file.error(f"out-of-scope {sentence!r} reads like route {seen[folded]!r}'s",
                              ["understanding", "out_of_scope", i])
    for i, vague in enumerate(system.understanding.ambiguous):
        for j, route_id in enumerate(vague.routes):
            if route_id not in routes:
                system_file.error(f"ambiguous words lead to route {route_id!r}, which does not "
                                  "exist", ["understanding", "ambiguous", i, "routes", j])
        if len(vague.routes) > MAX_QUICK_REPLIES - 1:
            system_file.error("an ambiguous word offers more routes than buttons fit",
                              ["understanding", "ambiguous", i, "routes"])


def _check_label(f: _File, label: str, where: Sequence[str | int]) -> None:
    if len(label) > MAX_LABEL:
        f.error(f"label {label!r} is {len(label)} characters; LINE allows {MAX_LABEL}", where)


def _check_system(
    f: _File, system: SystemFile, routes: dict[str, Route], rule_kinds: Collection[str] | None,
) -> None:
    listed: set[str] = set()
    room = MAX_QUICK_REPLIES - (len(system.menu) - 1) - 1  # other pages' buttons, and ヘルプ
    for p, page in enumerate(system.menu):
        where: list[str | int] = ["menu", p]
        _check_label(f, page.label, [*where, "label"])
        if len(page.routes) > room:
            f.error(f"menu page {page.label!r} has {len(page.routes)} routes; at most {room}, "
                    "because the other pages' buttons and ヘルプ are added", [*where, "routes"])
        for i, route_id in enumerate(page.routes):
            if route_id not in routes:
                f.error(f"menu lists route {route_id!r}, which does not exist",
                        [*where, "routes", i])
            elif routes[route_id].menu_label is None:
                f.error(f"route {route_id!r} is in the menu but has no menu_label",
                        [*where, "routes", i])
            elif route_id in listed:
                f.error(f"menu lists route {route_id!r} twice", [*where, "routes", i])
            listed.add(route_id)
    for route_id in sorted(routes.keys() - listed):
        f.error(f"route {route_id!r} is not in the menu: every route must be listed", ["menu"])
    for kind, reminder in system.reminders.items():
        where = ["reminders", kind]
        if kind not in REMINDER_KINDS:
            f.error(f"reminder kind {kind!r} is unknown; known: {', '.join(REMINDER_KINDS)}",
                    where)
        if reminder.route not in routes:
            f.error(f"reminder {kind!r} leads to route {reminder.route!r}, which does not exist",
                    where)
        _check_label(f, reminder.button, [*where, "button"])
    for kind in REMINDER_KINDS:
        if kind not in system.reminders:
            f.error(f"reminders has no text for the kind {kind!r}", ["reminders"])
        if rule_kinds is not None and kind not in rule_kinds:
            f.error(f"the date rules know no reminder kind {kind!r} (supportnavi/reminders/"
                    "rules.py): a screen offering it would fail", ["reminders", kind])
    if system.contact_route not in routes:
        f.error(f"contact_route {system.contact_route!r} does not exist", ["contact_route"])
    if system.richmenu is not None:
        _check_richmenu(f, system.richmenu, routes)
    for name, label in system.labels.model_dump().items():
        _check_label(f, label, ["labels", name])


def _check_safety(f: _File, system: SystemFile, routes: dict[str, Route]) -> LinkJudge:
    """The nodes that answer a number or a link typed anywhere must ask for one; each Amazon
    domain must be a registrable domain (amazon.co.jp, not www.amazon.co.jp)."""
    safety = system.safety
    for field, kind in (("phone_check", "phone"), ("link_check", "link")):
        route_id, _, node_id = getattr(safety, field).partition(".")
        node = routes[route_id].nodes.get(node_id) if route_id in routes else None
        if node is None:
            f.error(f"safety.{field}: no node {node_id!r} in route {route_id!r}",
                    ["safety", field])
        elif node.input is None or node.input.kind != kind:
            f.error(f"safety.{field}: node {route_id}.{node_id} must have input: {{kind: "
                    f"{kind}}}", ["safety", field])
    links = LinkJudge(safety.amazon_domains, safety.brands)
    for i, domain in enumerate(safety.amazon_domains):
        if links.registrable(domain) != domain.lower():
            f.error(f"safety.amazon_domains: {domain!r} is not a registrable domain (it would "
                    f"be {links.registrable(domain)!r})", ["safety", "amazon_domains", i])
    return links


def _check_richmenu(f: _File, richmenu: RichMenu, routes: dict[str, Route]) -> None:
    aliases: set[str] = set()
    for t, tab in enumerate(richmenu.tabs):
        where: list[str | int] = ["richmenu", "tabs", t]
        if tab.alias in aliases:
            f.error(f"rich-menu alias {tab.alias!r} is used twice", [*where, "alias"])
        aliases.add(tab.alias)
        for a, area in enumerate(tab.areas):
            at: list[str | int] = [*where, "areas", a]
            if area.route is not None and area.route not in routes:
                f.error(f"rich-menu area opens route {area.route!r}, which does not exist",
                        [*at, "route"])
            lines = area.label.split("\n")
            if len(lines) > RICHMENU_LABEL_LINES or any(
                not 0 < len(line) <= RICHMENU_LINE_CHARS for line in lines
            ):
                f.error(f"rich-menu label {area.label!r} does not fit a tile: at most "
                        f"{RICHMENU_LABEL_LINES} lines of 1 to {RICHMENU_LINE_CHARS} characters",
                        [*at, "label"])


def _filled(f: _File, model: M, facts: dict[str, Fact]) -> M:
    """The model with every {{fact}} filled in, reporting what is wrong with its templates."""
    data = fill_facts(model.model_dump(), facts, f.error)
    return f.parse(type(model), data) or model


def _check_placeholders(
    system_file: _File, system: SystemFile, files: dict[str, _File], routes: dict[str, Route],
) -> None:
    for route_id, route in routes.items():
        check_placeholders(route.model_dump(include={"nodes"}), "route", files[route_id].error)
        check_figures(route.model_dump(include={"nodes", "title", "menu_label"}), "route",
                      files[route_id].error)
    check_placeholders(system.model_dump(), "system", system_file.error)
    check_figures(system.model_dump(), "system", system_file.error)


def iter_texts(scenarios: Scenarios) -> Iterator[tuple[str, str]]:
    """Every (route id, text) a person can be shown; for tests and tools."""
    for route in scenarios.routes.values():
        for node in route.nodes.values():
            for text in node.say:
                yield route.id, text

