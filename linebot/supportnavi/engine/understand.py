"""Which route a typed message asks for, or none: the same answer for the bot and `classify`.

In order, the first that decides wins:
1. a greeting or thanks alone (「こんにちは」, 「どうもありがとう」) is no route;
2. another company's service with nothing of Amazon's (「楽天の解約」) is out of scope;
3. a route's name, one of its examples word for word, or its most specific keyword group;
4. the classifier (sentence similarity to the examples), which answers UNKNOWN below its
   threshold. Without one, the answer is UNKNOWN.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from supportnavi.engine.content import Understanding
from supportnavi.engine.ports import Classifier, Guess
from supportnavi.engine.scenarios import Scenarios
from supportnavi.engine.text import fold, normalize
from supportnavi.engine.vocab import UNKNOWN


def understand(scenarios: Scenarios, raw: str, classifier: Classifier | None) -> Guess:
    typed = fold(raw)
    if not typed:
        return Guess(UNKNOWN, 0.0, "unknown")
    lexicon = _lexicon(scenarios)
    reply = lexicon.greeting_reply(typed)
    if reply is not None:
        return Guess(UNKNOWN, 1.0, "greeting", reply)
    if lexicon.other_service(typed):
        return Guess(UNKNOWN, 1.0, "other_service")
    named = lexicon.names.get(typed)
    if named is not None:
        return Guess(named, 1.0, "name")
    example = lexicon.examples.get(typed)
    if example is not None:
        return Guess(example, 1.0, "example")
    keyword = lexicon.by_keywords(typed)
    if keyword is not None:
        return Guess(keyword, 1.0, "keywords")
    if classifier is None:
        return Guess(UNKNOWN, 0.0, "unknown")
    route, score = classifier.classify(normalize(raw))
    if route != UNKNOWN and route not in scenarios.routes:
        route = UNKNOWN  # a classifier built from other scenarios: never open a missing route
    return Guess(route, score, "similar" if route != UNKNOWN else "unknown")


class _Lexicon:
    """The scenarios' words, folded once."""

    def __init__(self, scenarios: Scenarios) -> None:
        self.names: dict[str, str] = {}
        self.examples: dict[str, str] = {}
        self.keywords: list[tuple[str, list[str]]] = []
        for route_id, route in scenarios.routes.items():
            for name in (route.title, route.menu_label or route.title, *route.names):
                self.names.setdefault(fold(name), route_id)
            for example in route.examples:
                self.examples.setdefault(fold(example), route_id)
            self.keywords.extend((route_id, [fold(w) for w in group]) for group in route.keywords)
        u: Understanding = scenarios.system.understanding
        self._replies = {fold(w): g.reply for g in u.greetings for w in g.words if fold(w)}
        # Longest first, so that 「ありがとうございます」 is taken whole before 「ありがとう」.
        greetings = sorted(self._replies, key=len, reverse=True)
        self._greeting = re.compile("|".join(map(re.escape, greetings)))
        self._others = _words(u.other_services)
        self._amazon = _words(u.amazon_terms)

    def greeting_reply(self, typed: str) -> str | None:
        """The reply when the message is greetings only (「どうもありがとう」), else None."""
        words = [m.group() for m in self._greeting.finditer(typed)]
        if not words or "".join(words) != typed:
            return None
        return self._replies[words[-1]]

    def other_service(self, typed: str) -> bool:
        return (self._others is not None and self._others.search(typed) is not None
                and (self._amazon is None or self._amazon.search(typed) is None))

    def by_keywords(self, typed: str) -> str | None:
        """The route whose matching keyword group is most specific (most characters matched).

        「出品者から荷物が届かない」 matches delivery's [荷物, ない] and marketplace's
        [出品者, 届かな]; the longer match, marketplace, wins. On a tie, the route that comes
        first in file order does.
        """
        best: tuple[int, str] | None = None
        for route_id, words in self.keywords:
            if words and all(word in typed for word in words):
                score = sum(len(word) for word in words)
                if best is None or score > best[0]:
                    best = (score, route_id)
        return best[1] if best is not None else None


def _words(words: list[str]) -> re.Pattern[str] | None:
    """A pattern for any of the words in folded text; a Latin word (「au」) only whole, so that
    it is not found inside 「pause」."""
    parts = []
    for word in sorted({fold(w) for w in words if fold(w)}, key=len, reverse=True):
        escaped = re.escape(word)
        parts.append(rf"(?<![a-z0-9]){escaped}(?![a-z0-9])" if word.isascii() else escaped)
    return re.compile("|".join(parts)) if parts else None


# Scenarios are frozen and live as long as the process: fold their words once, not for every
# message. Keyed by identity, holding the scenarios so that an id is not reused while cached.
_LEXICONS: OrderedDict[int, tuple[Scenarios, _Lexicon]] = OrderedDict()
_KEEP = 8


def _lexicon(scenarios: Scenarios) -> _Lexicon:
    cached = _LEXICONS.get(id(scenarios))
    if cached is not None and cached[0] is scenarios:
        _LEXICONS.move_to_end(id(scenarios))
        return cached[1]
    lexicon = _Lexicon(scenarios)
    _LEXICONS[id(scenarios)] = (scenarios, lexicon)
    while len(_LEXICONS) > _KEEP:
        _LEXICONS.popitem(last=False)
    return lexicon
