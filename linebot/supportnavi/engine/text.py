"""Normalising typed Japanese text: one reading of what a person typed, for every check.

`clean` is the one normaliser: invisible characters dropped (a paste or a keyboard puts them
between digits and inside words: 「パス\u200bワード」), NFKC (「ｱﾏｿﾞﾝ」 → 「アマゾン」,
「Ｐｒｉｍｅ」 → 「Prime」, full-width digits and spaces plain), every dash look-alike a hyphen
(「2026‐12‐5」, typed with the hyphen a Japanese IME gives) and every wave a tilde; and 「ー」
between digits a hyphen too (「２０２６ー１２ー５」), where it can only be a dash. Commands,
typed labels, dates, phone numbers, secrets and links all read text through it, and add only
their own step.
`normalize` is what a sentence encoder should read: `clean`, with single spaces.
`fold` is what exact and keyword matching compares: on top of that, no case, katakana for
hiragana (「めにゅー」 = 「メニュー」) and no punctuation or spaces.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Characters that show nothing, which a paste or a keyboard can put between digits or inside a
# word: Unicode's format characters (Cf: zero-width space and joiners, the word joiner, the
# BOM, the soft hyphen, bidi marks, tags), and the few others that render as nothing (the
# combining grapheme joiner, variation selectors, Hangul fillers, the braille blank). Cf is
# written out as Unicode 14 (Python 3.11) has it; tests/engine/test_sensitive.py fails when a
# Python brings more.
_INVISIBLE_RANGES = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x115F, 0x1160), (0x180B, 0x180F),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F), (0x2800, 0x2800),
    (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF), (0xFFA0, 0xFFA0), (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD), (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A), (0xE0001, 0xE0001), (0xE0020, 0xE007F), (0xE0100, 0xE01EF),
)
INVISIBLE = dict.fromkeys(c for low, high in _INVISIBLE_RANGES for c in range(low, high + 1))
# Dash look-alikes and waves that NFKC leaves apart (it makes the full-width ones plain).
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣⁃"} | {"〜": "~", "～": "~", "〰": "~"})
_LONG_MARK_AS_DASH = re.compile(r"(?<=\d)ー(?=\d)")
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[\s、。,.!！?？・「」『』（）()〜~ー\-…:;'\"]+")


def clean(text: str) -> str:
    text = unicodedata.normalize("NFKC", text.translate(INVISIBLE)).translate(_DASHES)
    return _LONG_MARK_AS_DASH.sub("-", text) if "ー" in text else text


def normalize(text: str) -> str:
    return _SPACES.sub(" ", clean(text)).strip()


def small_number(text: str, most_digits: int = 3) -> int | None:
    """`text` as a small whole number (a menu number, a page), or None. ASCII digits only:
    `str.isdigit` is true of 「፩」 and 「²」 too, which `int` refuses, and a long run of digits is
    no menu choice (and past 4,300 digits `int` refuses it as well)."""
    if text.isascii() and text.isdecimal() and 0 < len(text) <= most_digits:
        return int(text)
    return None


def fold(text: str) -> str:
    text = jaconv.hira2kata(normalize(text).casefold())
    return _PUNCT.sub("", text)
