"""Reading a phone number out of what a person typed, and what the fact sheet says about it.

`phonenumbers` (Google's libphonenumber) does the parsing, so 「０１２０－９９９－３７３」,
「0120 999 373」, 「+81 120-999-373」 and 「0120999373」 are all the same number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberMatcher

__all__ = ["MAX_TRIES", "REGION", "Checked", "PhoneNumberMatcher", "check", "find", "judge",
           "normalise", "parse"]

from supportnavi.engine.content import Fact
from supportnavi.engine.text import clean
from supportnavi.engine.vocab import Verdict

REGION = "JP"
# Long digit runs that are not phone numbers (order numbers, card numbers) are not read as one.
_MAX_DIGITS = 15
# Candidates that are no valid number, after which the matcher gives up (its default, 65,535,
# let 5,000 characters of 「1 - 」 cost 0.1 s at some 20 µs each). A message holds a few numbers
# and dates before the one asked about, not fifty.
MAX_TRIES = 50
# Amazon's order numbers (250-1234567-1234567): never read as a phone number in free text.
_ORDER_NUMBER = re.compile(r"\d{3}-\d{7}-\d{7}")


@dataclass(frozen=True)
class Checked:
    verdict: Verdict
    number: str = ""  # as a person in Japan writes it, e.g. 0120-999-373
    fact: str | None = None  # the fact-sheet key it matched


def normalise(text: str) -> str:
    """The one reading (`text.clean`: full-width digits, dashes and spaces plain), and 「ー」 as
    a hyphen anywhere, as people type it in a number: so the parser sees one form."""
    return clean(text).replace("ー", "-")


def parse(text: str) -> phonenumbers.PhoneNumber | None:
    """The first phone number in the text, or None if there is none that could exist."""
    text = normalise(text)
    for match in PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.VALID,
                                    max_tries=MAX_TRIES):
        return match.number
    digits = "".join(c for c in text if c in "0123456789+")
    if not 9 <= len(digits.lstrip("+")) <= _MAX_DIGITS:
        return None
    try:
        number = phonenumbers.parse(digits, REGION)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_possible_number(number) else None


def find(text: str) -> phonenumbers.PhoneNumber | None:
    """A number that can exist, written somewhere in free text (「0120-999-373から電話が来た」).

    Stricter than `parse`: only what libphonenumber itself finds as a valid number, so that a
    date (「12月5日」), a menu number (「9」), an order number or a card number is never taken
    for a phone number.
    """
    text = _ORDER_NUMBER.sub(" ", normalise(text))
    for match in PhoneNumberMatcher(text, REGION, leniency=phonenumbers.Leniency.VALID,
                                    max_tries=MAX_TRIES):
        return match.number
    return None


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display(number: phonenumbers.PhoneNumber) -> str:
    if number.country_code == phonenumbers.country_code_for_region(REGION):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def fact_number(value: str) -> str | None:
    """The E.164 form of a phone fact's value, or None if it is not a number at all."""
    number = parse(value)
    return e164(number) if number is not None else None


def check(text: str, facts: Mapping[str, Fact], index: Mapping[str, str]) -> Checked:
    """The verdict on the number in `text`. `index` maps E.164 numbers to fact keys."""
    number = parse(text)
    if number is None:
        return Checked("invalid")
    return judge(number, facts, index)


def judge(
    number: phonenumbers.PhoneNumber, facts: Mapping[str, Fact], index: Mapping[str, str]
) -> Checked:
    """The fact sheet's verdict on one parsed number."""
    shown = display(number)
    key = index.get(e164(number))
    if key is None:
        return Checked("unknown", shown)
    fact = facts[key]
    shown = fact.value  # as the guides write it: 0120-01-9625, not the parser's 0120-019-625
    if fact.status == "discontinued":
        return Checked("discontinued", shown, key)
    if fact.kind == "carrier_phone":
        return Checked("carrier", shown, key)
    if fact.kind == "unconfirmed_phone":
        return Checked("unconfirmed", shown, key)
    return Checked("amazon", shown, key)
