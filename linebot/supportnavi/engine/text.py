"""Folding typed Japanese text so that 「メニュー」, 「ﾒﾆｭｰ」 and 「めにゅー。」 compare equal."""

from __future__ import annotations

import re
import unicodedata

_PUNCT = re.compile(r"[\s、。,.!！?？・「」『』（）()〜~ー-]+")


def _hira_to_kata(text: str) -> str:
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)


def fold(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCT.sub("", _hira_to_kata(text))
