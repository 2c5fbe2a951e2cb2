"""Does a message hold something the bot must never receive: a card number (even one typed
with a wrong digit), a password, a card's PIN or security code, a one-time code or a My
Number? A secret is found inside a sentence, with whatever words stand around it.

Only the kind is returned, never the matched text, so that nothing downstream can keep it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import NamedTuple

from supportnavi.engine.content import SecretWords
from supportnavi.engine.text import clean
from supportnavi.engine.vocab import SecretKind

# What may stand between the digit groups of one number, after NFKC (which has already made
# full-width forms, U+3000 and NBSP plain): white space of any kind, dashes (「ー」 too: typed
# as one between digits), dots, commas, slashes. Up to four of them in a row (「 - 」, 「\r\n」).
_JOINT_CHARS = frozenset(" \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\u2028\u2029-ー.。・·‧,、/\\∕⁄")
_MAX_JOINT = 4
_DIGIT_GROUP = re.compile(r"\d+")
# An Amazon order number's groups (250-1234567-1234567): with hyphens, never a card, whatever
# Luhn says (a 17-digit JCB written 3-7-7 with hyphens too, as before).
_ORDER_NUMBER_GROUPS = (3, 7, 7)

# Card brands by their first digits (IIN) and the lengths they issue. A Luhn-valid run
# outside these (a 17-digit number, one starting with 1, 7, 8, 9 or 0) is not taken for a card.
_CARD_RANGES: tuple[tuple[range, int, frozenset[int]], ...] = (
    (range(4, 5), 1, frozenset({13, 16, 19})),  # Visa
    (range(51, 56), 2, frozenset({16})),  # Mastercard
    (range(2221, 2721), 4, frozenset({16})),  # Mastercard 2-series
    (range(34, 35), 2, frozenset({15})),  # American Express
    (range(37, 38), 2, frozenset({15})),
    (range(3528, 3590), 4, frozenset(range(16, 20))),  # JCB
    (range(300, 306), 3, frozenset(range(14, 20))),  # Diners Club
    (range(36, 37), 2, frozenset(range(14, 20))),
    (range(38, 40), 2, frozenset(range(16, 20))),
    (range(6011, 6012), 4, frozenset(range(16, 20))),  # Discover
    (range(644, 660), 3, frozenset(range(16, 20))),
    (range(62, 63), 2, frozenset(range(16, 20))),  # UnionPay
)

# What may stand between a password, PIN or security-code word and what follows it: spaces,
# は / が / を / も / って / とは / is, : and = (NFKC made ＝ and ： plain), a comma, then maybe
# an opening quote or bracket. Any of them, a few in a row, or none (「パスワードhanako55」).
_SEPARATOR = r"(?:\s|[:=,、]|は|が|を|も|って|とは|(?<![a-z])is(?![a-z]))"
_SEPARATORS = rf"(?P<sep>{_SEPARATOR}{{0,6}})[\"'「『(\[【<]?"
# Those that say "is": after them a word of letters alone is read as the password too
# (「パスワードは hanako」), after spaces alone it is not (「password reset」).
_SAYS_IS = ("は", ":", "=", "って", "とは", "is")
# The token itself: printable ASCII, not starting with what is a separator or a quote.
_TOKEN = r"(?P<token>[0-9A-Za-z!#$%&*+\-./;?@^_`|~][!-~]*)"
# A secret token has at least this many characters (「pw: abc」 is too short to tell).
_TOKEN_MIN = 4
# A count, a date or an amount, not a secret, when one of these follows its digits at once:
# 「パスワードを 2024年に変えた」, 「暗証番号 1234円」.
_UNITS = frozenset("年月日回文字桁時分秒円個件度人枚通週歳番目")
# Punctuation trimmed from a token's ends before it is judged (「hanako55.」, 「(abc123)」).
_TRIM = "\"'()[]<>.,;!?"
_NUMBER_TOKEN = re.compile(r"[\d\-/.,]+")
# A security code: 3 or 4 digits after its word (「セキュリティコードは123」, 「CVV: 1234」).
_CARD_CODE_DIGITS = r"(?P<token>\d{3,4})(?!\d)"
_CARD_CODE_MIN = 3


# The katakana words 「パス」 may stand after and still be a password's (「ログインパス」).
_KANA_BEFORE_PASS = ("ログイン", "アマゾン", "アカウント", "アプリ")


def _alternatives(words: Iterable[str], *, latin_alone: bool = False,
                  kana_alone: int = 0) -> str:
    """A pattern for any of the words, longest first; a space in a word stands for any spaces,
    and with `latin_alone` a Latin word is found only as a word of its own (not the 「pw」 of
    「chpw」, nor 「pass」 in 「passport」 or 「forgot_password」). With `kana_alone`, a katakana
    word that short is not found at the end of a longer one (「パス」 in 「コンパス」), but for
    the few of _KANA_BEFORE_PASS (「ログインパス」)."""
    parts = []
    for word in sorted(set(words), key=len, reverse=True):
        pattern = r"\s*".join(re.escape(part) for part in word.split(" "))
        if latin_alone and word.isascii():
            pattern = rf"(?<![a-z0-9_]){pattern}(?![a-z0-9_])"
        elif len(word) <= kana_alone and not word.isascii():
            after = "|".join(rf"(?<={re.escape(w)})" for w in _KANA_BEFORE_PASS)
            pattern = rf"(?:(?<![\u30a1-\u30fa\u30fc])|{after}){pattern}"
        parts.append(pattern)
    return "(?:" + "|".join(parts) + ")"


class SecretGuard:
    """Finds what a message must never hold, with the words of scenarios/system.yaml
    (`safety.words`), compiled once."""

    def __init__(self, words: SecretWords) -> None:
        code = _alternatives(words.code)
        # 「パスワード hanako55」, 「わたしのパスは hanako55 です」, 「PW：hunter22」: a password
        # word, separators or none, and a token that looks like a password (_looks_secret).
        self._password = re.compile(
            _alternatives(words.password, latin_alone=True, kana_alone=2)
            + _SEPARATORS + _TOKEN, re.IGNORECASE)
        self._not_password = frozenset(word.casefold() for word in words.not_password)
        # 「確認コード 123456」, 「認証コードは 4821」, 「コード：482913」. The spaces after は / :
        # are inside its optional group: two \s* around an optional word would share every run
        # of spaces between them, trying each split (「コード」 and 5,000 spaces: 0.15 s).
        self._code_after = re.compile(
            rf"{code}\s*(?:(?:は|:|=|って|is)\s*)?(\d{{3,8}})(?!\d)", re.IGNORECASE)
        # The SMS pasted as it came: 「123456 はあなたのAmazonワンタイムパスワードです」.
        self._code_before = re.compile(
            rf"(?<!\d)\d{{4,8}}\s*(?:は|が|is)\s*.{{0,20}}?{code}", re.IGNORECASE)
        card_code = _alternatives(words.card_code, latin_alone=True)
        self._card_code = re.compile(card_code, re.IGNORECASE)
        # 「セキュリティコードは123」, 「CVV 1234」
        self._card_code_after = re.compile(
            card_code + _SEPARATORS + _CARD_CODE_DIGITS, re.IGNORECASE)
        # 「暗証番号は1234です」, 「あんしょうばんごう 0000」, 「PIN: 4321」
        self._pin = re.compile(_alternatives(words.pin, latin_alone=True) + _SEPARATORS + _TOKEN,
                               re.IGNORECASE)
        self._my_number = re.compile(_alternatives(words.my_number), re.IGNORECASE)
        self._parcel = re.compile(_alternatives(words.parcel), re.IGNORECASE)

    def find(self, text: str) -> SecretKind | None:
        """The kind of secret the text seems to hold, or None."""
        text = clean(text)
        if _has_card(text, parcel_said=self._parcel.search(text) is not None):
            return "card"
        codes = self._code_after.search(text) or self._code_before.search(text)
        # 「セキュリティコードは123」, or a code said to be one (「1234 はセキュリティコード」); a
        # one-time code beside the word elsewhere is a one-time code.
        if self._has_token(self._card_code_after, text, fewest=_CARD_CODE_MIN) or (
                codes and self._card_code.search(codes.group())):
            return "security_code"
        if self._has_token(self._pin, text):
            return "pin"
        if self._has_my_number(text):
            return "my_number"
        if codes:
            return "code"  # before passwords: ワンタイムパスワード is a code
        if self._has_token(self._password, text):
            return "password"
        return None

    def _has_my_number(self, text: str) -> bool:
        said = self._my_number.search(text) is not None
        if not said and self._parcel.search(text):
            return False
        return any(
            _my_number_groups(number.sizes()) and my_number_ok(number.digits)
            for number in _numbers(text, 12, 12)
        )

    def _has_token(self, pattern: re.Pattern[str], text: str, fewest: int = _TOKEN_MIN) -> bool:
        """Is a word of `pattern` followed by a token that looks like a secret? Each place a
        word stands is tried (finditer would skip a place inside a match that failed)."""
        start = 0
        while (match := pattern.search(text, start)) is not None:
            if self._looks_secret(match, text, fewest):
                return True
            start = match.start() + 1
        return False

    def _looks_secret(self, match: re.Match[str], text: str, fewest: int) -> bool:
        """Does the token after a secret's word look like one, not like talk about it?

        - Japanese after the word is talk: 「パスワードを忘れた」 has no token at all.
        - Digits alone (and the joints of a number) are a secret, unless a unit follows
          (「2024年」, 「1000円」) or they are a date, a price, a phone or an order number.
        - Letters alone only after a word that says "is" (は, :, =, って), and not one of
          `not_password` (「パスワードは Amazon と同じ」); after spaces alone they are talk
          (「password reset」, 「PW manager」).
        - Anything else with a letter or digit is a secret (「hanako55」, 「Secr3t!」), but a
          link is not (the link judge reads it).
        """
        token = match.group("token")
        core = token.strip(_TRIM)
        if len(core) < fewest or not any(c.isalnum() for c in core):
            return False
        if _NUMBER_TOKEN.fullmatch(core):
            # what follows the digits: a unit right after them (「2024年」), not after 「1234!」
            after = token[len(token.rstrip(_TRIM)):] or text[match.end():match.end() + 1]
            if after[:1] in _UNITS:
                return False
            return sum(c.isdigit() for c in core) >= fewest and not any(
                _is_item(run.groups, run.joints) for run in _runs(core))
        lowered = core.casefold()
        if lowered.startswith(("http:", "https:", "www.")) or "://" in lowered:
            return False
        if core.isalpha():
            says_is = any(word in match.group("sep") for word in _SAYS_IS)
            return says_is and lowered not in self._not_password
        return lowered not in self._not_password


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2 == 1:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def card_brand_ok(digits: str) -> bool:
    return any(
        len(digits) in lengths and int(digits[:width]) in prefixes
        for prefixes, width, lengths in _CARD_RANGES
    )


def my_number_ok(digits: str) -> bool:
    """The check digit of a 12-digit individual number (個人番号), by the rule of the Ordinance
    on the My Number Act, art. 5: P_n is the n-th digit from the right, check digit excluded;
    Q_n = n + 1 for n <= 6 and n - 5 for 7 <= n <= 11; r = sum(P_n * Q_n) mod 11; the check
    digit is 0 when r <= 1, else 11 - r."""
    if len(digits) != 12 or not (digits.isascii() and digits.isdecimal()):
        return False
    body = digits[:11]
    total = 0
    for n in range(1, 12):
        p = int(body[-n])
        q = n + 1 if n <= 6 else n - 5
        total += p * q
    r = total % 11
    return int(digits[11]) == (0 if r <= 1 else 11 - r)


class _Number(NamedTuple):
    digits: str
    groups: list[str]
    joints: list[str]  # between the groups: one fewer

    def sizes(self) -> tuple[int, ...]:
        return tuple(len(g) for g in self.groups)


class _Run(NamedTuple):
    groups: list[str]
    joints: list[str]  # between the groups: one fewer
    # The first group ends something written before the run: 5678 in 03(1234)5678; or the
    # run is an amount: ¥1,980.
    tied_before: bool
    tied_after: bool  # the last group is an amount: 1,980円


def _tied_before(text: str, start: int) -> bool:
    before = text[start - 1] if start > 0 else ""
    return before == "¥" or (before == ")" and start > 1 and text[start - 2].isdigit())


def _tied_after(text: str, end: int) -> bool:
    return text[end:end + 1] == "円" or text[end:end + 2] == " 円"


def _runs(text: str) -> Iterator[_Run]:
    """Each run of digit groups with the joints between them. One pass over the text; a
    joint is looked at only when it is at most _MAX_JOINT long."""
    groups: list[str] = []
    joints: list[str] = []
    tied = False
    end = -1
    for match in _DIGIT_GROUP.finditer(text):
        start = match.start()
        joint = text[end:start] if groups and start - end <= _MAX_JOINT else ""
        if joint and _JOINT_CHARS.issuperset(joint):
            joints.append(joint)
            groups.append(match.group())
        else:
            if groups:
                yield _Run(groups, joints, tied, _tied_after(text, end))
            groups, joints, tied = [match.group()], [], _tied_before(text, start)
        end = match.end()
    if groups:
        yield _Run(groups, joints, tied, _tied_after(text, end))


def _numbers(text: str, fewest: int, most: int) -> Iterator[_Number]:
    """Every number of `fewest` to `most` digits written in the text.

    A whole run is one number, however its groups are joined (a paste mixes them): 「1234 4111
    1111 1111 1111」 is a 20-digit number, and no tail of it is a card. A part of a run is a
    number of its own only when it is joined one way throughout and neither the part nor its
    neighbour runs on across an edge: the joint at each edge differs from the part's way and
    from the next joint beyond it. So in 「1. 4111 1111 1111 1111」 or 「090-1234-5678
    4111-1111-1111-1111」 the card stands alone, while 「250-1234567-4111111111111111」 is one
    number. The one neighbour that may follow in the part's own way is a card's expiry date
    (「4111 1111 1111 1111 12/28」). A group tied to what stands before or after the run
    (03(1234)5678, ¥1,980, 1,980円) is no number's first or last. Each start looks at most
    `most` digits ahead: linear in the text.
    """
    for groups, joints, tied_before, tied_after in _runs(text):
        last = len(joints)  # the last group's index
        if not (tied_before or tied_after) and fewest <= sum(map(len, groups)) <= most:
            yield _Number("".join(groups), groups, joints)
        for start in range(1 if tied_before else 0, len(groups)):
            left = joints[start - 1] if start > 0 else None
            if left is not None and start > 1 and joints[start - 2] == left:
                continue  # the number on the left runs on into this group
            way: str | None = None  # the one joint inside the part
            digits = ""
            for stop in range(start, last if tied_after else last + 1):
                if stop > start:
                    way = way or joints[stop - 1]
                    if joints[stop - 1] != way or way == left:
                        break  # joined another way, or the left edge is no edge
                digits += groups[stop]
                if len(digits) > most:
                    break
                if len(digits) < fewest or (start == 0 and stop == last):
                    continue  # too short, or the whole run (above)
                if stop == last or _ends_here(groups, joints, stop, way):
                    yield _Number(digits, groups[start:stop + 1], joints[start:stop])


def _ends_here(groups: list[str], joints: list[str], stop: int, way: str | None) -> bool:
    """Does a part joined by `way` end at group `stop` (not the run's last)?"""
    right, beyond = joints[stop], joints[stop + 1] if stop + 1 < len(joints) else None
    if right != way:
        return beyond != right
    # the expiry date after a card number, MM/YY or MM/YYYY, and nothing more in its way
    month, year = groups[stop + 1], groups[stop + 2] if stop + 2 < len(groups) else ""
    return (beyond == "/" and len(month) <= 2 and 1 <= int(month) <= 12
            and len(year) in (2, 4) and joints[stop + 2:stop + 3] != ["/"])


def _is_date(groups: list[str], joints: list[str]) -> bool:
    """4/10, 2026/12/05, 2026-12-5, 2026.12.05."""
    if not joints or joints[0] not in ("/", "-", "."):
        return False
    if len(groups) == 3 and len(groups[0]) == 4 and groups[0][:2] in ("19", "20"):
        groups = groups[1:]
    return (len(groups) == 2 and all(len(g) <= 2 for g in groups)
            and 1 <= int(groups[0]) <= 12 and 1 <= int(groups[1]) <= 31)


def _is_price(groups: list[str], joints: list[str]) -> bool:
    """4,980 or 12,800 or 1,234,567: thousands, each after a comma."""
    return (bool(joints) and joints[0] == "," and 1 <= len(groups[0]) <= 3
            and all(len(g) == 3 for g in groups[1:]))


def _is_phone_or_order(groups: list[str]) -> bool:
    """0120-999-373, 09012345678, 250-1234567-1234567."""
    head = groups[0]
    return ((head[:1] == "0" and head[1:2] not in ("", "0")
             and 10 <= sum(len(g) for g in groups) <= 11)
            or tuple(len(g) for g in groups) == _ORDER_NUMBER_GROUPS)


def _is_item(groups: list[str], joints: list[str]) -> bool:
    """A date, a price, a phone or an order number, joined one way inside (or not at all)."""
    return len(set(joints)) <= 1 and (
        _is_date(groups, joints) or _is_price(groups, joints) or _is_phone_or_order(groups))


def _is_order_number(number: _Number) -> bool:
    return number.sizes() == _ORDER_NUMBER_GROUPS and set(number.joints) <= {"-", "ー"}


# An item holds at most this many groups (a price of 19 digits: 1,234,567,890,...).
_ITEM_GROUPS = 7


def _is_list(number: _Number) -> bool:
    """Two or more dates, prices, phone or order numbers one after another, each joined
    inside one way and to its neighbours another: 「4/10、4/12、2024/01/07」, 「6/22、090-1234-5678
    21,171円」. Not a card, whatever Luhn says. `ways[i]`: the inside joint ("" for one group)
    of the last item of each reading of the first i groups as such items."""
    groups, joints = number.groups, number.joints
    ways: list[set[str]] = [set() for _ in range(len(groups) + 1)]
    for stop in range(1, len(groups) + 1):
        for start in range(max(0, stop - _ITEM_GROUPS), stop):
            if start > 0 and not ways[start]:
                continue
            inside = joints[start:stop - 1]
            if not _is_item(groups[start:stop], inside):
                continue
            way = inside[0] if inside else ""
            if start == 0:
                if stop < len(groups):  # a list has two items at least
                    ways[stop].add(way)
                continue
            edge = joints[start - 1]
            if edge != way and ways[start] - {edge}:
                ways[stop].add(way)
    return bool(ways[len(groups)])


# A number that fails Luhn is still taken for a mistyped card when it is card-shaped; a parcel
# number said as one (「伝票番号は 4321-8765-2109-5」) is left alone up to this many digits.
_PARCEL_DIGITS = 15


def _has_card(text: str, *, parcel_said: bool = False) -> bool:
    """A card's number: 13 to 19 digits that fit a card brand's first digits and lengths, and
    are no Amazon order number and no list of dates, prices and phone numbers. One that fails
    Luhn is taken for a card typed with a wrong digit, unless it is itself a date, a price, a
    phone or an order number in any joint, or a parcel number said as one."""
    for number in _numbers(text, 13, 19):
        if (not card_brand_ok(number.digits) or _is_order_number(number)
                or _is_list(number)):
            continue
        if luhn_ok(number.digits):
            return True
        if _is_item(number.groups, number.joints):
            continue
        if parcel_said and len(number.digits) <= _PARCEL_DIGITS:
            continue
        return True
    return False


def _my_number_groups(sizes: tuple[int, ...]) -> bool:
    """12 digits written as one group, or cut only after the 4th and 8th (1234 5678 9018)."""
    return set(accumulate(sizes[:-1])) <= {4, 8}
