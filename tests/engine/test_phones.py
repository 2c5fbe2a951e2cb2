"""number_check's reading of phone numbers, and its verdicts from the real fact sheet."""

from __future__ import annotations

import pytest

from supportnavi.engine import phones
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT


@pytest.fixture(scope="module")
def sc():
    return load_scenarios(REPO_ROOT / "scenarios")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("０１２０－９９９－３７３", "0120-999-373"),  # full-width digits and hyphens
        ("0120 999 373", "0120-999-373"),
        ("0120999373", "0120-999-373"),
        ("+81 120-999-373", "0120-999-373"),
        ("+81-3-6367-5000", "03-6367-5000"),
        ("０３ー１２３４ー５６７８", "03-1234-5678"),  # a long-vowel mark typed as a dash
        ("この番号から電話 090-1234-5678 でした", "090-1234-5678"),
        ("+1 206-266-1000", "+1 206-266-1000"),
    ],
)
def test_any_written_form_is_one_number(typed, shown):
    number = phones.parse(typed)
    assert number is not None
    assert phones.display(number) == shown


@pytest.mark.parametrize(
    "typed",
    ["こんにちは", "123", "0120-123", "注文番号 503-1234567-1234567", "4111111111111111",
     "2026/12/5", "1 → 3 → 3", ""],
)
def test_what_is_not_a_phone_number(typed):
    assert phones.parse(typed) is None


@pytest.mark.parametrize(
    ("typed", "verdict", "fact"),
    [
        ("０１２０－９９９－３７３", "discontinued", "phone_old_main"),
        ("011-330-3000", "discontinued", "phone_old_011_3000"),
        ("0223456789", "unknown", None),
        ("022-745-6366", "discontinued", "phone_old_022_6366"),
        ("0120-899-543", "amazon", "phone_prime"),
        ("+81 3 6367 5000", "unconfirmed", "phone_overseas_004"),
        ("022-745-6363", "unconfirmed", "phone_022_6363"),
        ("0120019625", "carrier", "phone_yamato"),
        ("0120-18-9595", "carrier", "phone_sagawa"),
        ("050-8888-1234", "unknown", None),
        ("電話です", "invalid", None),
    ],
)
def test_verdicts_come_from_the_fact_sheet(sc, typed, verdict, fact):
    checked = phones.check(typed, sc.facts, sc.phone_facts)
    assert (checked.verdict, checked.fact) == (verdict, fact)
    if fact is not None:
        assert checked.number == sc.facts[fact].value  # shown as the guides write it


def test_every_phone_fact_is_indexed_once(sc):
    kinds = ("phone", "unconfirmed_phone", "carrier_phone")
    phone_facts = {k for k, f in sc.facts.items() if f.kind in kinds}
    assert set(sc.phone_facts.values()) == phone_facts
    assert all(sc.facts[k].use for k in phone_facts)


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every candidate the matcher parses, in order (the matcher's own `parse`, wrapped)."""
    import phonenumbers.phonenumbermatcher as matcher

    seen: list[str] = []
    real = matcher.parse

    def counted(number: str, *args: object, **kwargs: object) -> object:
        seen.append(number)
        return real(number, *args, **kwargs)

    monkeypatch.setattr(matcher, "parse", counted)
    return seen


@pytest.mark.parametrize("read", [phones.find, phones.parse], ids=["find", "parse"])
@pytest.mark.parametrize("unit", ["1 - ", "1/", "4111 -", "12/34 "])
def test_a_long_text_of_number_like_pieces_is_given_up_on_after_a_few_tries(read, unit, parses):
    # Each candidate costs about 20 µs to parse and validate; the matcher's default gives up
    # after 65,535 of them, so 5,000 characters of candidates took 0.1 s.
    read(unit * (5000 // len(unit)))
    assert 0 < len(parses) <= phones.MAX_TRIES + 1


def test_a_number_after_a_few_other_numbers_is_still_found():
    text = "12/5 に 3,000円、注文 503-1234567-1234567、その後 0120-999-373 から電話が来た"
    number = phones.find(text)
    assert number is not None and phones.e164(number) == "+81120999373"
