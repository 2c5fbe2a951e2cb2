"""Typed text made fit to keep for the operators' inbox (issue 18): what the bot could not
place, without anything that could say who typed it.

- A text in which the secret guard (sensitive.py) finds anything is not kept at all: `redact`
  answers None.
- Otherwise it is read once (`text.normalize`: full-width digits and letters plain, invisible
  characters gone, single spaces), and masked, in this order: e-mail addresses `<メール>`;
  links (any with a scheme, and what links.py's LinkJudge takes for one) `<URL>`; Amazon's
  order numbers `<数字>`; phone numbers (phones.py's reading, any number libphonenumber
  thinks possible) `<電話番号>`; and any other run of `LONG_DIGITS` or more digits, joined
  or not by spaces, dashes, dots, slashes or brackets (a card number the guard did not take
  for one, a postcode) `<数字>`.
- At most `MOST` characters are kept.

Pure: tests/engine/test_redact.py holds it to that with generated secrets, numbers and
addresses.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberMatcher

from supportnavi.engine import phones
from supportnavi.engine.links import LinkJudge
from supportnavi.engine.sensitive import SecretGuard
from supportnavi.engine.text import normalize

PHONE = "<電話番号>"
MAIL = "<メール>"
URL = "<URL>"
NUMBER = "<数字>"
LONG_DIGITS = 4  # a run of this many digits or more is masked
MOST = 300  # characters kept of a text

# RFC 5322's characters of a local part, then a domain of ASCII labels (after NFKC: 「＠」 is @)
_MAIL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
# digits (any script's), joined by at most three spaces, dashes, dots, slashes, commas or
# brackets: 「090 1234 5678」, 「(03)1234-5678」, 「250-1234567-1234567」
_DIGITS = re.compile(r"\d(?:[\s\-.,/()+]{0,3}\d)*")


# Amazon's order numbers, which libphonenumber would take for a phone number
_ORDER_NUMBER = re.compile(r"\d{3}-\d{7}-\d{7}")
# a link with a scheme, for a caller without a LinkJudge
_SCHEME = re.compile(r"(?:https?|hxxps?)://\S*", re.IGNORECASE)


def redact(text: str, secrets: SecretGuard | None, links: LinkJudge | None) -> str | None:
    """`text` masked for keeping, or None when it holds a secret (or nothing)."""
    if secrets is not None and secrets.find(text) is not None:
        return None
    masked = normalize(text)
    masked = _MAIL.sub(MAIL, masked)
    spans = [m.span() for m in _SCHEME.finditer(masked)]
    if links is not None:
        spans += links.spans(masked)
    masked = _mask(masked, spans, URL)
    masked = _ORDER_NUMBER.sub(NUMBER, masked)
    masked = _phones(masked)
    masked = _DIGITS.sub(_number, masked)
    masked = normalize(masked)[:MOST]
    return masked or None


def _phones(text: str) -> str:
    # phones.normalise keeps every character in its place (「ー」 becomes 「-」)
    readable = phones.normalise(text)
    if len(readable) != len(text):
        return text  # never: normalize() already did what clean() does
    spans = [(m.start, m.end) for m in PhoneNumberMatcher(
        readable, phones.REGION, leniency=phonenumbers.Leniency.POSSIBLE,
        max_tries=phones.MAX_TRIES)]
    return _mask(text, spans, PHONE)


def _mask(text: str, spans: list[tuple[int, int]], mark: str) -> str:
    """`text` with each span (overlapping ones merged) replaced by `mark`."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    for start, end in reversed(merged):
        text = text[:start] + mark + text[end:]
    return text


def _number(match: re.Match[str]) -> str:
    found = match.group(0)
    return NUMBER if sum(c.isdigit() for c in found) >= LONG_DIGITS else found
