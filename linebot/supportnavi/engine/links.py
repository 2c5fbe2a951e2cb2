"""Links in what a person typed, and whether each one's domain is Amazon's.

Nothing here fetches a URL: the verdict is read from the address alone. The registrable domain
(the part someone has to buy: `evil.example` in `amazon.co.jp.evil.example`) comes from
`tldextract` with the Public Suffix List snapshot bundled in its wheel (`suffix_list_urls=()`,
`cache_dir=None`: no network, no cache file). The list is read once, when the loader builds a
`LinkJudge`, so `judge()` itself does no I/O and advance() stays pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import tldextract

from supportnavi.engine.text import clean
from supportnavi.engine.vocab import LINK_VERDICTS, LinkVerdict

__all__ = ["LINK_VERDICTS", "Link", "LinkJudge", "LinkVerdict", "normalise"]
# The worst verdict among several links is the one answered.
_SEVERITY: dict[LinkVerdict, int] = {"invalid": 0, "amazon": 1, "unknown": 2, "lookalike": 3}

# Letters a host may be made of: ASCII, and the Latin, Greek and Cyrillic letters homoglyph
# domains borrow. Japanese text around a bare domain (「amazon.co.jpで」) is not part of it.
_HOST_CHAR = r"[a-z0-9\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff-]"
_LABEL = rf"{_HOST_CHAR}+"
_HOST = rf"{_LABEL}(?:\.{_LABEL})+"
_TAIL = r"(?::\d{1,5})?(?:[/?#][!-~]*)?"
# `https://amazon.co.jp@evil.example/` goes to evil.example: what stands before an @ is a
# user name, and a disguise.
_WITH_SCHEME = re.compile(
    rf"(?:https?|hxxps?)://(?:([^\s/@]*)@)?((?>{_HOST}|{_LABEL})){_TAIL}", re.IGNORECASE
)
# The host is atomic, so that `foo.bar@amazon.co.jp` does not yield `foo.ba`.
_BARE = re.compile(rf"(?<![a-z0-9.-])(?:www\.)?((?>{_HOST}))(?!@){_TAIL}", re.IGNORECASE)
_DOTS = str.maketrans({"。": ".", "．": ".", "｡": "."})

# Digits and letter pairs that stand in for letters in imitation domains (amaz0n, arnazon).
_LEET = str.maketrans({"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"})
# Greek and Cyrillic letters that look like Latin ones.
_CONFUSABLE = str.maketrans({
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "і": "i", "ј": "j",
    "ѕ": "s", "ԁ": "d", "һ": "h", "ո": "n", "м": "m", "к": "k", "т": "t", "в": "b", "н": "h",
    "α": "a", "ο": "o", "ν": "v", "ρ": "p", "τ": "t", "ι": "i", "κ": "k", "ε": "e", "ζ": "z",
    "ɑ": "a", "ɡ": "g", "ı": "i",
})


@dataclass(frozen=True)
class Link:
    verdict: LinkVerdict
    host: str = ""  # as the address names it, lower case
    domain: str = ""  # the registrable domain: who owns the address


def normalise(text: str) -> str:
    """The one reading (`text.clean`: invisible characters gone, full-width letters and dots
    plain), then the Japanese full stop as a dot and one case."""
    return clean(text).translate(_DOTS).casefold()


def _scripts(label: str) -> set[str]:
    found = set()
    for char in label:
        if char.isascii():
            if char.isalpha():
                found.add("latin")
        else:
            name = unicodedata.name(char, "")
            found.add(name.split(" ")[0].lower() if name else "other")
    return found


# The longest label DNS allows (RFC 1035). A longer `xn--` label is no host's, and Python's
# punycode decoder is quadratic in it (its digits build one ever larger integer): a label of
# 5,000 characters took 7 ms, three times as long as one of 2,500.
_MAX_LABEL = 63


def _decode(label: str) -> str:
    if label.startswith("xn--") and len(label) <= _MAX_LABEL:
        try:
            return label[4:].encode("ascii").decode("punycode")
        except (UnicodeError, ValueError):
            return label
    return label


# A name this long or longer is also imitated one letter off (amazom, arnazon); a shorter one
# (amzn) one letter off is too many ordinary words.
_CLOSE_FROM = 5


def _imitates(label: str, brands: tuple[str, ...]) -> bool:
    """Does this label try to read as Amazon: amazon-security, amaz0n, arnazon, amazom?"""
    plain = label.translate(_CONFUSABLE)
    for word in re.split(r"[-_]", plain):
        for form in {word, word.translate(_LEET), word.translate(_LEET).replace("rn", "m")}:
            if any(brand in form for brand in brands):
                return True
            if any(_close(form, brand) for brand in brands if len(brand) >= _CLOSE_FROM):
                return True
    return False


def _close(word: str, target: str) -> bool:
    """Within one edit (a letter changed, added, dropped, or two swapped) of `target`."""
    if word == target or abs(len(word) - len(target)) > 1:
        return word == target
    if len(word) == len(target):
        diff = [i for i, (a, b) in enumerate(zip(word, target, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        return (len(diff) == 2 and diff[1] == diff[0] + 1
                and word[diff[0]] == target[diff[1]] and word[diff[1]] == target[diff[0]])
    short, long = sorted((word, target), key=len)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


class LinkJudge:
    """Finds links in text and judges each one's domain against Amazon's own."""

    def __init__(self, amazon_domains: Iterable[str], brands: Iterable[str]) -> None:
        self._extract = tldextract.TLDExtract(
            cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True
        )
        self._extract("amazon.co.jp")  # read the bundled list now, not in the first answer
        self.amazon = frozenset(d.lower() for d in amazon_domains)
        self.brands = tuple(b.casefold() for b in brands)

    def registrable(self, host: str) -> str:
        """`pay.amazon.co.jp` -> `amazon.co.jp`; a host under no public suffix
        (`amazon.co.jp.evil.example`) -> its last two labels."""
        parts = self._extract(host)
        if parts.ipv4 or parts.ipv6:
            return host
        if parts.suffix:
            return parts.top_domain_under_public_suffix
        labels = host.split(".")
        return ".".join(labels[-2:])

    def hosts(self, text: str) -> list[str]:
        """The host of every link in the text, in order, each once. A bare domain counts
        when its ending is a real public suffix, or when it imitates Amazon. A host behind a
        user name that imitates Amazon comes back as `amazon.co.jp@evil.example`."""
        found = [host for _, host in self._links(normalise(text))]
        return list(dict.fromkeys(h for h in found if h))

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where the links `hosts` finds are in `text` as given (read as `text.clean` leaves
        it): for masking them (engine/redact.py). Full stops count as dots here too."""
        return [span for span, _ in self._links(text.translate(_DOTS))]

    def _links(self, text: str) -> list[tuple[tuple[int, int], str]]:
        found: list[tuple[tuple[int, int], str]] = []
        spans: list[tuple[int, int]] = []
        for match in _WITH_SCHEME.finditer(text):
            spans.append(match.span())
            user, host = match.group(1) or "", match.group(2).strip(".-").casefold()
            found.append((match.span(),
                          f"{user}@{host}" if _imitates(user, self.brands) else host))
        # Both come in order of position: walk the links with a scheme alongside, rather than
        # compare each bare match with all of them (quadratic in a text of many links).
        after = 0  # spans before this one end before the current bare match
        for match in _BARE.finditer(text):
            while after < len(spans) and spans[after][1] <= match.start():
                after += 1
            if after < len(spans) and spans[after][0] <= match.start():
                continue  # inside a link with a scheme, which is read already
            host = match.group(1).strip(".-").casefold()
            if "." not in host or host.replace(".", "").isdigit():
                continue  # 1.5 or 3.14: a number, not a domain
            ascii_host = ".".join(_decode(label) for label in host.split("."))
            if self._extract(host).suffix or any(
                _imitates(label, self.brands) for label in ascii_host.split(".")
            ):
                found.append((match.span(), host))
        return found

    def judge_host(self, host: str) -> Link:
        if "@" in host:
            host = host.rpartition("@")[2]
            return Link("lookalike", host, self.registrable(host))
        domain = self.registrable(host)
        if domain in self.amazon:
            return Link("amazon", host, domain)
        for label in host.split("."):
            shown = unicodedata.normalize("NFKC", _decode(label))
            if not shown.isascii() and (len(_scripts(shown)) > 1
                                        or _imitates(shown, self.brands)):
                return Link("lookalike", host, domain)  # homoglyphs, typed or as xn--
            if _imitates(shown, self.brands):
                return Link("lookalike", host, domain)
        return Link("unknown", host, domain)

    def judge(self, text: str) -> Link:
        """The verdict on the links in `text`: the worst of them, or `invalid` if none."""
        worst = Link("invalid")
        for host in self.hosts(text):
            link = self.judge_host(host)
            if _SEVERITY[link.verdict] > _SEVERITY[worst.verdict]:
                worst = link
        return worst
