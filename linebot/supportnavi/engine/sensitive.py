"""Does a message hold something the bot must never receive: a card number, a password, a
one-time code or a My Number?

Only the kind is returned, never the matched text, so that nothing downstream can keep it.
"""

from __future__ import annotations

import re
import unicodedata

from supportnavi.engine.model import SecretKind

_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−－"})
# 「ー」 is a long vowel in コード; only between digits is it a hyphen.
_LONG_VOWEL_DASH = re.compile(r"(?<=\d)ー(?=\d)")

# Digit runs with single spaces or hyphens between groups: 4111 1111 1111 1111.
# A run is taken whole: never its tail after a space (「1234 4111 1111 1111 1111」).
_DIGIT_RUN = re.compile(r"(?<![\d-])(?<!\d )\d(?:[ -]?\d){11,18}(?![\d-])(?! \d)")
# Amazon's order numbers (250-1234567-1234567) are never a card, whatever Luhn says.
_ORDER_NUMBER = re.compile(r"^\d{3}-\d{7}-\d{7}$")

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

# 「パスワードは abc123」, 「pw: hunter22」: a word for a password, then は / : / = / って, then a
# token of at least four characters with no Japanese in it.
_PASSWORD = re.compile(
    r"(?:パスワード|ぱすわーど|(?<![a-z])(?:password|passwd|pass|pw)|暗証番号)\s*"
    r"(?:は|:|=|って|is)\s*([!-~]{4,})",
    re.IGNORECASE,
)
# 「確認コード 123456」, 「認証コードは 4821」, 「コード：482913」.
_CODE_WORDS = (
    r"(?:確認コード|認証コード|ワンタイムパスワード|ワンタイムコード|セキュリティコード|認証番号|"
    r"確認番号|ワンタイム|otp|コード|code)"
)
_CODE_AFTER = re.compile(
    rf"{_CODE_WORDS}\s*(?:は|:|=|って|is)?\s*(\d{{3,8}})(?!\d)", re.IGNORECASE
)
# The SMS pasted as it came: 「123456 はあなたのAmazonワンタイムパスワードです」.
_CODE_BEFORE = re.compile(
    rf"(?<!\d)\d{{4,8}}\s*(?:は|が|is)\s*.{{0,20}}?{_CODE_WORDS}", re.IGNORECASE
)
# セキュリティコード (the three or four digits on a card's back) is a card detail.
_CARD_CODE = re.compile(r"セキュリティコード|security\s*code|cvv|cvc", re.IGNORECASE)
_CARD_PIN = re.compile(r"暗証番号")

_MY_NUMBER_RUN = re.compile(r"(?<![\d-])(?<!\d )\d{4}[ -]?\d{4}[ -]?\d{4}(?![\d-])(?! \d)")
_MY_NUMBER_WORDS = re.compile(r"マイナンバー|まいなんばー|個人番号|my\s*number", re.IGNORECASE)
# A 12-digit parcel number passes the My Number check once in eleven: said with its words,
# it is a parcel.
_PARCEL_WORDS = re.compile(
    r"追跡|伝票|お問い?合わせ番号|荷物|配達|配送|ヤマト|佐川|郵便|ゆうパック"
)


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _LONG_VOWEL_DASH.sub("-", text)


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


def _has_card(text: str) -> bool:
    for match in _DIGIT_RUN.finditer(text):
        run = match.group(0)
        if _ORDER_NUMBER.match(run):
            continue
        digits = re.sub(r"[ -]", "", run)
        if 13 <= len(digits) <= 19 and card_brand_ok(digits) and luhn_ok(digits):
            return True
    return False


def _has_my_number(text: str) -> bool:
    said = _MY_NUMBER_WORDS.search(text) is not None
    if not said and _PARCEL_WORDS.search(text):
        return False
    for match in _MY_NUMBER_RUN.finditer(text):
        if my_number_ok(re.sub(r"[ -]", "", match.group(0))):
            return True
    return False


def _has_password(text: str) -> bool:
    for match in _PASSWORD.finditer(text):
        token = match.group(1)
        if any(c.isalnum() for c in token):
            return True
    return False


def find(text: str) -> SecretKind | None:
    """The kind of secret the text seems to hold, or None."""
    text = normalise(text)
    if _has_card(text):
        return "card"
    if _CARD_CODE.search(text) and (_CODE_AFTER.search(text) or _CODE_BEFORE.search(text)):
        return "card"
    if _CARD_PIN.search(text) and _has_password(text):
        return "card"
    if _has_my_number(text):
        return "my_number"
    if _CODE_AFTER.search(text) or _CODE_BEFORE.search(text):
        return "code"  # before passwords: ワンタイムパスワード is a code
    if _has_password(text):
        return "password"
    return None
