"""Normalising typed Japanese text.

`normalize` is what a sentence encoder should read: one width for letters and kana (NFKC
turns 「ｱﾏｿﾞﾝ」 into 「アマゾン」 and 「Ｐｒｉｍｅ」 into 「Prime」), one kind of dash and wave,
single spaces.
`fold` is what exact and keyword matching compares: on top of that, no case, katakana for
hiragana (「めにゅー」 = 「メニュー」) and no punctuation or spaces.
"""

from __future__ import annotations

import re
import unicodedata

import jaconv

# Dashes, long-vowel look-alikes and waves that NFKC leaves apart.
_DASHES = str.maketrans({c: "-" for c in "‐‑‒–—―−﹣"} | {"〜": "~", "～": "~", "〰": "~"})
_SPACES = re.compile(r"\s+")
_PUNCT = re.compile(r"[\s、。,.!！?？・「」『』（）()〜~ー\-…:;'\"]+")


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_DASHES)
    return _SPACES.sub(" ", text).strip()


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
