"""Secrets in a message: card numbers, passwords, one-time codes and My Numbers are recognised;
order numbers, phone numbers, dates and parcel numbers are not."""

from __future__ import annotations

import pytest

from supportnavi.engine import phones
from supportnavi.engine.sensitive import card_brand_ok, find, luhn_ok, my_number_ok


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("4111 1111 1111 1111", "card"),  # Visa's test number, in groups
        ("カード番号は４１１１－１１１１－１１１１－１１１１です", "card"),  # full-width
        ("5555555555554444", "card"),  # Mastercard
        ("2223-0031-2200-3222", "card"),  # Mastercard 2-series
        ("3530 1113 3330 0000", "card"),  # JCB
        ("3782 822463 10005", "card"),  # American Express, 15 digits
        ("4111ー1111ー1111ー1111", "card"),  # a long-vowel mark typed as the hyphen
        ("セキュリティコードは 123", "card"),
        ("暗証番号は 1234 です", "card"),
        ("パスワードは abc123", "password"),
        ("ぱすわーどは　Hanako1985", "password"),
        ("pw: hunter22", "password"),
        ("password=Secr3t!", "password"),
        ("Amazonのパスワードって neko2024 で合ってる？", "password"),
        ("確認コード 123456", "code"),
        ("認証コードは 4821", "code"),
        ("コード：482913", "code"),
        ("ワンタイムパスワードは ９８７６５４", "code"),
        ("123456 はあなたのAmazonワンタイムパスワードです。誰にも教えないでください", "code"),
        ("マイナンバーは 1234 5678 9018", "my_number"),
        ("123456789018", "my_number"),  # a valid check digit is enough
        ("個人番号：１２３４－５６７８－９０１８", "my_number"),
    ],
)
def test_secrets_are_found(text: str, kind: str) -> None:
    assert find(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "250-1234567-1234567",  # an order number (Luhn-valid as digits, still not a card)
        "注文番号 503-4911132-6150265 の荷物が来ない",
        "0120-999-373から電話が来た、アマゾン？",
        "090-1234-5678",
        "12月5日",
        "2026-12-05",
        "2026/12/05",
        "9",
        "ヤマトの追跡番号 1234-5678-9018",  # 12 digits, even with a My Number check digit
        "伝票番号は 4321-8765-2109-5 です",  # a 13-digit parcel number
        "4111 1111 1111 1112",  # Luhn fails
        "1234567890123456",  # no card brand starts with 1
        "123456789012",  # My Number check digit wrong
        "パスワードを忘れた",
        "パスワードが違うと言われる",
        "パスワードは何文字？",
        "パスワードを変えたい",
        "確認コードが届かない",
        "確認コードを聞かれた",
        "コードは6桁？",
        "passport is ABC",
        "プライムの料金は600円です",
        "1234 4111 1111 1111 1111",  # 20 digits: no tail of it is read as a card
    ],
)
def test_ordinary_numbers_and_words_are_no_secret(text: str) -> None:
    assert find(text) is None


def test_the_order_number_above_would_pass_luhn_as_a_bare_run() -> None:
    # so the negative case above is about the order-number shape, not luck
    assert luhn_ok("25012345671234567") or luhn_ok("5034911132615026"[:16])
    assert not card_brand_ok("25012345671234567")  # 17 digits: no brand issues that length


@pytest.mark.parametrize(
    ("number", "ok"),
    [
        ("123456789018", True),
        ("123456789011", False),
        ("000000000000", True),  # r = 0: check digit 0
        ("100000000003", False),
    ],
)
def test_the_my_number_check_digit(number: str, ok: bool) -> None:
    assert my_number_ok(number) is ok


def _reference_check_digit(body: str) -> int:
    # the ordinance's formula written the other way round, weights from the left
    weights = [6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2]
    r = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    return 0 if r <= 1 else 11 - r


@pytest.mark.parametrize("body", ["12345678901", "98765432109", "31415926535", "27182818284"])
def test_my_number_agrees_with_the_formula_from_the_left(body: str) -> None:
    digit = _reference_check_digit(body)
    assert my_number_ok(body + str(digit))
    assert not my_number_ok(body + str((digit + 1) % 10))


@pytest.mark.parametrize("text", ["12月5日", "2026-12-05", "9", "250-1234567-1234567",
                                  "4111 1111 1111 1111", "123456789018", "1234-5678-9012"])
def test_free_text_phone_search_leaves_dates_menu_order_and_card_numbers_alone(text: str) -> None:
    assert phones.find(text) is None


def test_free_text_phone_search_finds_a_number_in_a_sentence() -> None:
    number = phones.find("０１２０－９９９－３７３から電話が来た、アマゾン？")
    assert number is not None and phones.e164(number) == "+81120999373"
