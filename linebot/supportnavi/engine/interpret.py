"""One interpreter of typed text, for the bot and `supportnavi classify` alike (issue 16): what a
person meant, wherever they are, in kanji or kana, a word or a sentence.

In order, the first that decides wins:
1. safety first: a secret, a link, a phone number (engine/sensitive.py, links.py, phones.py);
2. on a screen: a command (戻る, もどって, メニュー...), a button's number (「2」, 「２」), a
   button's label or a clear start of one (「次へ」, 「つぎへ」), はい / いいえ where the screen
   asks yes or no, a date where it offers a reminder, a number where it asks for one;
3. at the menu: the menu's number;
4. where to go: a greeting, another company's service (none of ours), a route's or a branch's
   name or example word for word, its keywords (in the text as typed or as it reads: 「かいやく」
   reads like 「解約」), a bare word that could mean several routes (「解約」: ask which),
   keywords one kana off (ask), then sentence similarity to the examples (the Classifier):
   confident, it opens; close to several, or weak, it asks; and a text with a word of one of
   our routes is never answered "none of ours": it asks.

Readings come from a `Reader` (a morphological analyser, outside the engine); the scenarios'
words are read once per scenarios (`Lexicon`), a message once per message.
"""

from __future__ import annotations

import contextlib
import functools
import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from supportnavi.engine import keys
from supportnavi.engine.content import Route
from supportnavi.engine.outcome import QuickReply
from supportnavi.engine.postback import decode
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.text import fold, normalize, small_number

Reader = Callable[[str], str]

# The sentence similarity's thresholds, chosen on our held-out sets (bench/classify.py --sweep,
# bench/README.md): at or above CONFIDENT, and MARGIN clear of the next other target, it opens;
# at or above ASK_FROM it asks; below, none of ours.
CONFIDENT = 0.6
MARGIN = 0.05
ASK_FROM = 0.45
# A keyword this long or longer (in kana) is still found one kana off: a typo; the match asks.
TYPO_FROM = 4
TYPO_SCORE = 0.8
WORD_WEIGHT = 2  # a keyword group's weight: its characters, and this for each of its words
TYPO_TEXT_MOST = 40  # longer texts are sentences: the similarity reads them
ASK_MAX = 3
GUESSES = 3  # best guesses kept with a text the bot could not place

Kind = Literal[
    "secret", "link", "phone", "empty", "command", "number", "menu_number", "label", "yes",
    "no", "date", "bad_date", "verdict", "greeting", "other_service", "name", "example",
    "keywords", "similar", "ask", "unknown",
]


@dataclass(frozen=True, order=True)
class Target:
    """Where typed words lead: a route, at its start or at one of its nodes (a branch)."""

    route: str
    node: str | None = None

    @property
    def text(self) -> str:
        return self.route if self.node is None else f"{self.route}.{self.node}"


@dataclass(frozen=True)
class Candidate:
    target: Target
    score: float


@dataclass(frozen=True)
class Reading:
    """What a typed text was read as. `detail` is what the kind needs: the secret's kind, the
    Link, the PhoneNumber, the key of the button meant, the date given, a greeting's reply."""

    kind: Kind
    target: Target | None = None
    score: float = 0.0
    candidates: tuple[Candidate, ...] = ()
    detail: Any = None
    # the interpreter's best guesses (at most GUESSES), for the operators' inbox: the places
    # asked about, or for `unknown` the nearest examples' places below the thresholds
    guesses: tuple[Candidate, ...] = ()


@dataclass(frozen=True)
class Screen:
    """What the person is looking at, as far as reading their words goes."""

    route: Route | None = None
    node: str | None = None
    replies: Sequence[QuickReply] = ()

    @property
    def at_menu(self) -> bool:
        return self.route is None


# --- the scenarios' words, read once --------------------------------------------------------


@dataclass
class _Word:
    forms: tuple[str, ...]  # folded as written, and as it reads
    weight: int  # how much of the text it accounts for (characters)
    written: str = ""  # as the scenario wrote it

    @functools.cached_property
    def bare(self) -> tuple[str, ...]:
        """Its readings without marks or small kana (_bare): how a slip of the keyboard leaves
        them."""
        return tuple({_bare(f) for f in self.forms if _KATAKANA.fullmatch(f)})


@dataclass
class _Group:
    target: Target
    words: list[_Word]

    @property
    def weight(self) -> int:
        """How much of the text the group accounts for: its characters, and each word besides
        (three words that all match say more than one long one)."""
        return sum(w.weight for w in self.words) + WORD_WEIGHT * len(self.words)


@dataclass
class Lexicon:
    exact: dict[str, tuple[Target, Kind]] = field(default_factory=dict)
    groups: list[_Group] = field(default_factory=list)
    commands: dict[str, str] = field(default_factory=dict)
    yes: set[str] = field(default_factory=set)
    no: set[str] = field(default_factory=set)
    ambiguous: list[tuple[set[str], tuple[str, ...]]] = field(default_factory=list)
    route_words: list[tuple[str, str]] = field(default_factory=list)  # (form, route)
    # keywords of TYPO_FROM kana or more: each as written, and each with one kana dropped
    typo_forms: dict[str, set[Target]] = field(default_factory=dict)
    typo_bare: dict[str, set[Target]] = field(default_factory=dict)  # as _bare() leaves them
    typo_wild: dict[str, set[Target]] = field(default_factory=dict)  # see _wildcards()
    typos: dict[str, set[Target]] = field(default_factory=dict)
    greetings: dict[str, str] = field(default_factory=dict)
    greeting: re.Pattern[str] | None = None
    others: re.Pattern[str] | None = None
    amazon: re.Pattern[str] | None = None
    confident_only: set[str] = field(default_factory=set)
    amazon_forms: set[str] = field(default_factory=set)


_KANJI = re.compile(r"[\u3400-\u9fff\u3005]")
# A keyword is often a verb's stem (「届かな」, 「忘れ」, 「戻」): read alone, an analyser
# guesses it wrong (「届かな」: トドケカナ), so it is also read with each of these endings, which
# are then taken off again (「届かない」: トドカナイ -> トドカナ).
_ENDINGS = ("い", "る", "た", "く", "う", "す")


def _forms(word: str, read: Reader) -> tuple[str, ...]:
    """The word folded as written, and as it reads (each reading a stem could have)."""
    surface = fold(word)
    found = [surface]
    sounds = [read(normalize(word))]
    if _KANJI.search(word) and (_HIRAGANA.fullmatch(word[-1]) or len(word) == 1):
        for ending in _ENDINGS:
            whole = read(normalize(word + ending))
            tail = fold(ending)
            if fold(whole).endswith(tail):
                sounds.append(fold(whole)[: -len(tail)])
    for sound in sounds:
        folded = fold(sound)
        if len(folded) >= 2 and folded not in found:
            found.append(folded)
    return tuple(found)


def _deletions(word: str) -> set[str]:
    """The word with one of its inner letters dropped (not the first or the last: 「ワカラ」 is
    a piece of many words, not a typo of 「ワカラナ」)."""
    return {word[:i] + word[i + 1:] for i in range(1, len(word) - 1)}


_HIRAGANA = re.compile(r"[\u3041-\u309f]+")
_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


def _bare(word: str) -> str:
    """Without dakuten, handakuten or small kana: 「ヘンヒン」 and 「ヘンピン」 are one word."""
    decomposed = unicodedata.normalize("NFD", word.translate(_SMALL))
    return unicodedata.normalize("NFC", decomposed.replace("\u3099", "").replace("\u309a", ""))


_KATAKANA = re.compile(r"[\u30a1-\u30fa]+")


def _add_typo(lex: Lexicon, form: str, target: Target) -> None:
    if len(form) >= TYPO_FROM and _KATAKANA.fullmatch(form):  # a reading, all kana
        lex.typo_forms.setdefault(form, set()).add(target)
        lex.typo_bare.setdefault(_bare(form), set()).add(target)
        for gone in _deletions(form):
            lex.typos.setdefault(gone, set()).add(target)
        for wild in _wildcards(form):
            lex.typo_wild.setdefault(wild, set()).add(target)


def _wildcards(word: str) -> list[str]:
    """The word with each letter in turn unknown: two words one wildcard apart differ in one
    letter."""
    return [word[:i] + "\0" + word[i + 1:] for i in range(len(word))]


def build_lexicon(scenarios: Scenarios, read: Reader) -> Lexicon:
    lex = Lexicon()
    u = scenarios.system.understanding
    lex.amazon_forms = {f for w in u.amazon_terms for f in _forms(w, read)}
    for route_id, route in scenarios.routes.items():
        here = Target(route_id)
        if route.confident_only:
            lex.confident_only.add(route_id)
        for name in (route.title, route.menu_label or route.title, *route.names):
            for form in _forms(name, read):
                lex.exact.setdefault(form, (here, "name"))
        for example in route.examples:
            for form in _forms(example, read):
                lex.exact.setdefault(form, (here, "example"))
        _add_groups(lex, here, route.keywords, read)
        for node_id, node in route.nodes.items():
            at = Target(route_id, node_id)
            for example in node.examples:
                for form in _forms(example, read):
                    lex.exact.setdefault(form, (at, "example"))
            _add_groups(lex, at, node.keywords, read)
    for action, said in scenarios.system.commands.items():
        for word in said:
            for form in _forms(word, read):
                lex.commands.setdefault(form, action)
    lex.yes = {f for w in u.yes_words for f in _forms(w, read)}
    lex.no = {f for w in u.no_words for f in _forms(w, read)}
    lex.ambiguous = [({f for w in a.words for f in _forms(w, read)}, tuple(a.routes))
                     for a in u.ambiguous]

    # The words that alone say a text is about one of our routes: names, and keyword groups
    # of one word (a group's other words, 「お金」, 「買った」, say nothing alone).
    words: dict[tuple[str, str], None] = {}
    for group in lex.groups:
        if len(group.words) == 1:
            for form in group.words[0].forms:
                words[(form, group.target.route)] = None
                _add_typo(lex, form, group.target)
    for route_id, route in scenarios.routes.items():
        for name in route.names:
            for form in _forms(name, read):
                words[(form, route_id)] = None
                _add_typo(lex, form, Target(route_id))
    lex.route_words = list(words)
    lex.route_words.sort(key=lambda p: len(p[0]), reverse=True)
    lex.greetings = {f: g.reply for g in u.greetings for w in g.words for f in _forms(w, read)
                     if f}
    lex.greeting = _pattern(lex.greetings)
    lex.others = _pattern({f for w in u.other_services for f in _forms(w, read)}, whole=True)
    lex.amazon = _pattern({f for w in u.amazon_terms for f in _forms(w, read)}, whole=True)
    return lex


def _add_groups(lex: Lexicon, target: Target, groups: Iterable[list[str]], read: Reader) -> None:
    for group in groups:
        # Amazon's own names (「アマゾン」) are in half of what people type: they count as a
        # word matched, not as characters that say which route
        words = [_Word(forms, 0 if set(forms) & lex.amazon_forms else len(fold(w)), w)
                 for w in group if fold(w) for forms in [_forms(w, read)]]
        if words:
            lex.groups.append(_Group(target, words))


def _pattern(words: Iterable[str], *, whole: bool = False) -> re.Pattern[str] | None:
    """Any of the words, longest first; with `whole`, a Latin word only as a word of its own
    (「au」 is not in 「pause」)."""
    parts = []
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if whole and word.isascii()
                     else escaped)
    return re.compile("|".join(parts)) if parts else None


_LEXICONS: OrderedDict[tuple[int, int], tuple[Scenarios, Reader, Lexicon]] = OrderedDict()


def lexicon(scenarios: Scenarios, read: Reader) -> Lexicon:
    """The scenarios' words as `read` reads them: built once per scenarios (they are frozen and
    live as long as the process), not per message."""
    key = (id(scenarios), id(read))
    found = _LEXICONS.get(key)
    if found is not None and found[0] is scenarios and found[1] is read:
        # a reload builds the next edition's in a thread, and may drop this one meanwhile
        with contextlib.suppress(KeyError):
            _LEXICONS.move_to_end(key)
        return found[2]
    made = build_lexicon(scenarios, read)
    _LEXICONS[key] = (scenarios, read, made)
    while len(_LEXICONS) > 8:
        _LEXICONS.popitem(last=False)
    return made


def plain(text: str) -> str:
    """The reader of a bot without an analyser: text reads as it is written."""
    return text


# --- reading one message --------------------------------------------------------------------


@dataclass
class Typed:
    raw: str
    surface: str  # folded as typed
    sound: str  # folded as it reads

    @functools.cached_property
    def bare(self) -> str:
        return _bare(self.sound)

    def has(self, forms: Iterable[str]) -> bool:
        return any(f in self.surface or f in self.sound for f in forms)

    def equals(self, forms: Iterable[str]) -> bool:
        return any(f in (self.surface, self.sound) for f in forms)


def typed(raw: str, read: Reader) -> Typed:
    surface = fold(raw)
    return Typed(raw, surface, fold(read(normalize(raw))) if surface else "")


def on_screen(lex: Lexicon, text: Typed, screen: Screen, read: Reader) -> Reading | None:
    """A command, a button meant by its number or its label, or a yes / no."""
    for form in (text.surface, text.sound):
        if form in lex.commands:
            return Reading("command", detail=lex.commands[form])
    if screen.at_menu:
        return None
    taps = [(i, reply, decode(reply.data)) for i, reply in enumerate(screen.replies, start=1)
            if reply.kind == "postback"]
    number = small_number(text.surface, most_digits=2)
    if number is not None:
        for i, _, tap in taps:
            if i == number and tap is not None:
                return Reading("number", detail=tap.key)
    labels = [(_forms(reply.label, read), tap) for _, reply, tap in taps if tap is not None]
    for forms, tap in labels:
        if text.surface in forms or text.sound in forms:
            return Reading("label", detail=tap.key)
    if len(text.surface) >= 2:
        starting = [tap for forms, tap in labels
                    if any(f.startswith(text.surface) or f.startswith(text.sound) for f in forms)]
        if len(starting) == 1:
            return Reading("label", detail=starting[0].key)
    for answer, words in (("yes", lex.yes), ("no", lex.no)):
        if text.surface in words or text.sound in words:
            key = _answer_key(taps, answer == "yes")
            if key is not None:
                return Reading(answer, detail=key)  # type: ignore[arg-type]
    return None


def _answer_key(taps: Sequence[tuple[int, QuickReply, Any]], yes: bool) -> keys.Key | None:
    """The button a はい or いいえ means here: the answer to 「解決しましたか？」 or to "keep
    what was skipped?", or a button that itself starts with はい / いいえ."""
    for _, _reply, tap in taps:
        if tap is None:
            continue
        if tap.key in (keys.Resolved(yes), keys.Revive(yes)):
            return tap.key  # type: ignore[no-any-return]
    start = "ハイ" if yes else "イイエ"
    for _, reply, tap in taps:
        if tap is not None and fold(reply.label).startswith(start):
            return tap.key  # type: ignore[no-any-return]
    return None


def route_for(lex: Lexicon, text: Typed, scenarios: Scenarios,
              rank: Callable[[str], list[tuple[str, float]]] | None) -> Reading:
    """Where the words lead, how sure, and who else could be meant."""
    if not text.surface:
        return Reading("empty")
    if lex.greeting is not None:
        for form in (text.surface, text.sound):
            words = lex.greeting.findall(form)
            if words and "".join(words) == form:
                return Reading("greeting", score=1.0, detail=lex.greetings[words[-1]])
    if lex.others is not None and (lex.others.search(text.surface) or lex.others.search(
            text.sound)) and not (lex.amazon and (lex.amazon.search(text.surface)
                                                  or lex.amazon.search(text.sound))):
        return Reading("other_service", score=1.0)
    # a bare word that could mean several routes asks which, before any name or keyword
    for vague, routes in lex.ambiguous:
        if text.surface in vague or text.sound in vague or _only(vague, text):
            return _ask([Candidate(Target(r), 1.0) for r in routes if r in scenarios.routes],
                        why="which", most=len(routes))
    for form in (text.surface, text.sound):
        found = lex.exact.get(form)
        if found is not None:
            return Reading(found[1], found[0], 1.0)
    by_keywords = _by_keywords(lex, text)
    if by_keywords is not None:
        return by_keywords
    slips = [r for r in (_by_slips(lex, text), _by_typo(lex, text)) if r is not None]
    if slips:
        return _ask([c for r in slips for c in r.candidates], why="typo")
    scope = _in_scope(lex, text)
    guesses: tuple[Candidate, ...] = ()
    if rank is not None:
        similar = _by_similarity(lex, rank(normalize(text.raw)), scenarios)
        if similar.kind == "similar":
            return similar
        if similar.kind == "ask":
            # the routes the text has words of first, then the nearest examples'
            near = [c for c in similar.candidates if c.target.route in scope]
            named = [Candidate(Target(r), 0.5) for r in scope
                     if all(c.target.route != r for c in near)]
            rest = [c for c in similar.candidates if c.target.route not in scope]
            return _ask([*near, *named, *rest], why="similar")
        guesses = similar.guesses
    if scope:
        return _ask([Candidate(Target(r), 0.5) for r in scope], why="scope")
    return Reading("unknown", score=0.0, guesses=guesses)


def _only(words: set[str], text: Typed) -> bool:
    """The text is one of the words and some of the filler around a request (したい, です)."""
    for form in (text.surface, text.sound):
        for word in words:
            if form.startswith(word) and _FILLER.fullmatch(form[len(word):]):
                return True
    return False


_FILLER = re.compile(r"(ヲ|ガ|ハ|ノ)?(シタイ|シタイデス|シタインデスガ|シタインデス|スル|シテ|"
                     r"シマス|タイ|タイデス|デス|マス|ホウホウ|オネガイ|オネガイシマス|シテホシイ|ホシイ|"
                     r"シタイノデスガ|ドウスル|ドウスレバ|ドウシタラ|シタイケド|デキル|デキマスカ|"
                     r"シカタ|ヤリカタ|ドウヤル|ドウヤッテ|オシエテ|シテクダサイ)?")


def _by_keywords(lex: Lexicon, text: Typed) -> Reading | None:
    """The keyword groups whole in the text: the route of the group that accounts for the most
    of it (a tie between routes asks), and in that route the branch its own groups name."""
    matched = [g for g in lex.groups if all(text.has(w.forms) for w in g.words)]
    if not matched:
        return None
    matched.sort(key=lambda g: (g.weight, g.target.node is not None), reverse=True)
    best = matched[0]
    rivals = [g for g in matched if g.weight == best.weight and g.target.route != best.target.route]
    if rivals:
        return _ask([Candidate(g.target, 1.0) for g in [best, *rivals]])
    # 「はいたつずみ なのに にもつが ない」: the route by its words, the branch by its own
    branch = next((g for g in matched if g.target.route == best.target.route
                   and g.target.node is not None), best)
    return Reading("keywords", branch.target, 1.0)


def _by_slips(lex: Lexicon, text: Typed) -> Reading | None:
    """Keyword groups whole in the text once marks and small kana are set aside (「ちゆうもん」
    for 「ちゅうもん」, 「さくしょ」 for 「さくじょ」): never acted on, it asks."""
    if not text.bare or len(text.sound) > TYPO_TEXT_MOST:
        return None
    matched = [g for g in lex.groups
               if all(w.bare and any(b in text.bare for b in w.bare) for w in g.words)]
    if not matched:
        return None
    matched.sort(key=lambda g: (g.weight, g.target.node is not None), reverse=True)
    return _ask([Candidate(g.target, TYPO_SCORE) for g in matched], why="typo")


def _by_typo(lex: Lexicon, text: Typed) -> Reading | None:
    """A telling word of TYPO_FROM kana or more, a little off in a short text: a mark missing
    (「へんひん」 for 「へんぴん」, found first), an inner kana dropped or added, or a kana
    changed (「いちじていい」).
    Never acted on: it asks. A word written right is no typo."""
    found: dict[Target, tuple[int, int]] = {}
    for form in {text.surface, text.sound}:
        if not form or len(form) > TYPO_TEXT_MOST:
            continue
        for size in range(TYPO_FROM - 1, min(len(form), 12) + 1):
            for start in range(len(form) - size + 1):
                piece = form[start:start + size]
                if piece in lex.typo_forms:
                    continue
                for target in lex.typo_bare.get(_bare(piece), ()):
                    found[target] = max(found.get(target, (0, 0)), (2, size))
                hits = set(lex.typos.get(piece, ()))  # an inner kana dropped
                for gone in _deletions(piece):
                    hits |= lex.typo_forms.get(gone, set())  # an inner kana added
                for wild in _wildcards(piece):
                    hits |= lex.typo_wild.get(wild, set())  # a kana changed
                for target in hits:
                    found[target] = max(found.get(target, (0, 0)), (1, size))
    if not found:
        return None
    ranked = sorted(found, key=lambda t: (-found[t][0], -found[t][1], t.route, t.node or ""))
    return _ask([Candidate(t, TYPO_SCORE) for t in ranked], why="typo")


def _by_similarity(lex: Lexicon, ranked: list[tuple[str, float]],
                   scenarios: Scenarios) -> Reading:
    """The nearest examples' targets: confident and clear of the next, it opens; else it asks
    (or, nearest to a sentence that is none of ours, unknown)."""
    best: list[Candidate] = []
    for label, score in ranked:
        route, _, node = label.partition(".")
        if route not in scenarios.routes and label != "unknown":
            continue
        target = Target(route, node or None)
        if any(c.target == target for c in best):
            continue
        best.append(Candidate(target, round(score, 4)))
    if not best or best[0].target.route == "unknown" or best[0].score < ASK_FROM:
        top = best[0].score if best else 0.0
        ours = tuple(c for c in best if c.target.route != "unknown")[:GUESSES]
        return Reading("unknown", score=top, guesses=ours)
    first = best[0]
    others = [c for c in best[1:] if c.target.route not in ("unknown", first.target.route)]
    clear = not others or first.score - others[0].score >= MARGIN
    if (first.score >= CONFIDENT and clear
            and first.target.route not in lex.confident_only):
        return Reading("similar", first.target, first.score)
    return _ask([c for c in best if c.target.route != "unknown"])


def _in_scope(lex: Lexicon, text: Typed) -> list[str]:
    """The routes the text holds a telling word of: such a text is asked about, never answered
    "none of ours"."""
    routes: list[str] = []
    for form, route in lex.route_words:
        if len(form) >= 2 and route not in routes and (form in text.surface or form in text.sound):
            routes.append(route)
    return routes


def _ask(candidates: list[Candidate], why: str = "", most: int = ASK_MAX) -> Reading:
    """Ask which was meant: at most `most` candidates (ASK_MAX, or all the routes a bare
    ambiguous word could mean), each target once, in order."""
    seen: list[Candidate] = []
    for c in candidates:
        if all(c.target != s.target for s in seen):
            seen.append(c)
    seen = seen[:most]
    first = seen[0] if seen else None
    return Reading("ask", first.target if first else None, first.score if first else 0.0,
                   tuple(seen), detail=why, guesses=tuple(seen[:GUESSES]))
