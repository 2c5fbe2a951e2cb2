"""Secrets in a message: card numbers (a mistyped one too), passwords, PINs, security codes,
one-time codes and My Numbers are recognised, inside sentences; order numbers, phone numbers,
dates, parcel numbers and talk about passwords are not."""

from __future__ import annotations

import sys
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from supportnavi.engine import phones
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.sensitive import card_brand_ok, luhn_ok, my_number_ok
from supportnavi.engine.text import clean as normalise
from supportnavi.settings import REPO_ROOT

# the guard as the bot builds it, with scenarios/system.yaml's words
GUARD = load_scenarios(REPO_ROOT / "scenarios").secrets
assert GUARD is not None
find = GUARD.find


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
        ("セキュリティコードは 123", "security_code"),
        ("暗証番号は 1234 です", "pin"),
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


# --- issue 14, point 5: every joint a keyboard or a paste can put between the digits ---------

# The nine forms reported missed, each as it was sent.
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("4111  1111  1111  1111", "card"),  # two spaces
        ("4111\t1111\t1111\t1111", "card"),  # tabs
        ("4111\n1111\n1111\n1111", "card"),  # one group a line
        ("4111.1111.1111.1111", "card"),
        ("4111,1111,1111,1111", "card"),
        ("4111/1111/1111/1111", "card"),
        ("4111\u200b1111\u200b1111\u200b1111", "card"),  # ZERO WIDTH SPACE between groups
        ("41\u200d11 1111 11\u206011 1111", "card"),  # ZWJ and WORD JOINER inside groups
        ("パス\u200bワードは Zq8hunter77", "password"),  # ZWSP inside the word
    ],
    ids=["two-spaces", "tabs", "newlines", "dots", "commas", "slashes", "zwsp-between",
         "zwj-wj-inside", "zwsp-in-password-word"],
)
def test_the_forms_reported_missed_are_found(text: str, kind: str) -> None:
    assert find(text) == kind


# What a phone keyboard or a paste puts between digit groups, written out here (not taken from
# the module) so that a separator dropped there fails here.
SEPARATORS = [
    " ", "  ", "\t", "\n", "\r\n", "\u3000", "\u00a0", "\u2002", "\u2009", "\u202f",
    "-", "‐", "‑", "‒", "–", "—", "―", "−", "－", "﹣", "ー", "ｰ", " - ", " ー ",
    ".", "．", "・", "･", "。", "｡", ",", "，", "、", "､", ", ", "/", "／", "\\",
    "\t-\t", " / ", "・・",
]
# Characters that show nothing: zero-width ones, joiners, the BOM, a soft hyphen, bidi marks,
# a variation selector, the combining grapheme joiner, Hangul fillers, the braille blank.
INVISIBLES = [
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u200f", "\u202a",
    "\u202c", "\u2061", "\u2066", "\u2069", "\u180e", "\ufe0f", "\u034f", "\u3164", "\uffa0",
    "\u2800", "\U000e0020",
]


@pytest.mark.parametrize("joint", SEPARATORS, ids=repr)
def test_a_card_number_is_read_through_every_separator(joint: str) -> None:
    assert find(joint.join(["4111", "1111", "1111", "1111"])) == "card"
    assert find(f"カード番号は{joint.join(['3782', '822463', '10005'])}です") == "card"


@pytest.mark.parametrize("invisible", INVISIBLES, ids=lambda c: f"U+{ord(c[0]):04X}")
def test_a_card_number_and_the_password_word_are_read_through_invisible_characters(
    invisible: str,
) -> None:
    assert find(invisible.join("4111111111111111")) == "card"  # after every digit
    assert find(f"4111{invisible} 1111 {invisible}1111 1111") == "card"
    assert find(f"パス{invisible}ワードは Zq8hunter77") == "password"
    assert find(f"マイ{invisible}ナンバーは 1234 5678 9018") == "my_number"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("1. 4111 1111 1111 1111", "card"),  # a list's number: its joint is not the card's
        ("090-1234-5678 4111-1111-1111-1111", "card"),
        ("4111 - 1111 - 1111 - 1111", "card"),
        ("4111 ー 1111 ー 1111 ー 1111", "card"),
        ("4111・1111・1111・1111", "card"),
        ("4111-1111 1111.1111", "card"),  # a mix
        ("4111 1111 1111 1111 12/28 123", "card"),  # with the expiry date and the code
        ("4111 1111 1111 1111 1/2028", "card"),
        ("5100-1-1 0000000005", "card"),  # no year 5100, no phone number 000...
        ("マイナンバーは1234.5678.9018", "my_number"),
        ("1234\u200b5678\u200b9018", "my_number"),
        ("確認コードは 48\u200b2913", "code"),
    ],
)
def test_more_joints_are_read_through(text: str, kind: str) -> None:
    assert find(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "2026.12.05",
        "12/5",
        "2026/12/05、0120-999-373",
        "0120・999・373",
        "価格は12,800円",
        "1,234,567円",
        "2026/12/05 2026/12/06 2026/12/07",
        "電話 03-1234-5678, 090-1234-5678",
        "250-1234567-1234567、503-4911132-6150265",
        "250 1234567 1234567",  # an order number, spaced
        "12.5.2026",
        "1234 5678 9018 1234",  # 16 digits: no head of it is a My Number
        "352-8000000-0000007",  # a 17-digit JCB written as an order number is taken for one
        "2024/01/01、249-3000001-0003469",  # no part of an order number is a number of its own
        "1234 4111 1111 1111 1111 12/28",  # 20 digits and a date
    ],
)
def test_ordinary_numbers_joined_otherwise_are_still_no_secret(text: str) -> None:
    assert find(text) is None


# Found by the property below: lists whose digits, read as one run or as a part of one, pass a
# card brand and Luhn (each one checked here, so that the case is about the rule, not luck).
@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("4/10、2024/01/01、2024/01/07", "4102024010120240107"),  # dates
        ("¥224,409、03-0000-0000", "2244090300000000"),  # a price, a phone number
        ("03(0000)3660、0120-000-000", "36600120000000"),  # 3660 ends 03(0000)3660
        ("¥224,410、0570-000-079", "4100570000079"),  # 410 ends a price
        ("249-0000000-4314458、1/25、2/19", "4314458125219"),  # 4314458 ends an order number
        ("6/22、090-0000-4196 21,171円", "6220900000419621171"),  # joined two ways
        ("6/22、090-0000-4196、21171円", "6220900000419621171"),  # an amount at the end
    ],
)
def test_lists_of_dates_prices_and_phone_numbers_are_no_card(text: str, digits: str) -> None:
    assert card_brand_ok(digits) and luhn_ok(digits)
    assert find(text) is None


def test_every_format_character_is_read_through() -> None:
    # the module writes Unicode's Cf out; a Python with a newer Unicode may bring more
    format_characters = [chr(c) for c in range(sys.maxunicode + 1)
                         if unicodedata.category(chr(c)) == "Cf"]
    missed = [f"U+{ord(c):04X}" for c in format_characters
              if find(c.join("4111111111111111")) != "card"]
    assert missed == []


# --- the same, as properties ---------------------------------------------------------------

# Card brands by first digits and issued lengths, written out again here (not read from the
# module): (lowest prefix, highest prefix, lengths).
BRANDS = [
    (4, 4, (13, 16, 19)), (51, 55, (16,)), (2221, 2720, (16,)), (34, 34, (15,)),
    (37, 37, (15,)), (3528, 3589, (16, 17, 18, 19)), (300, 305, (14, 16, 19)),
    (36, 36, (14, 16)), (6011, 6011, (16, 19)), (644, 659, (16,)), (62, 62, (16, 19)),
]


def _luhn_check_digit(body: str) -> str:
    """The digit that makes body + digit pass Luhn: double every second digit from the right
    of the full number, that is every first, third, ... digit from the right of the body."""
    total = 0
    for i, char in enumerate(reversed(body)):
        n = int(char) * (2 if i % 2 == 0 else 1)
        total += n - 9 if n > 9 else n
    return str((10 - total % 10) % 10)


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    low, high, lengths = draw(st.sampled_from(BRANDS))
    prefix = str(draw(st.integers(low, high)))
    length = draw(st.sampled_from(lengths))
    rest = draw(st.text(alphabet="0123456789", min_size=length - len(prefix) - 1,
                        max_size=length - len(prefix) - 1))
    return prefix + rest + _luhn_check_digit(prefix + rest)


DASHES = {"-", "‐", "‑", "‒", "–", "—", "―", "−", "－", "﹣", "ー", "ｰ"}


def _visible(joint: str) -> str:
    return "".join(c for c in joint if c not in INVISIBLES)


@st.composite
def joints(draw: st.DrawFn) -> str:
    """One to three separators, with up to two invisible characters anywhere among them."""
    parts = draw(st.lists(st.sampled_from([s for s in SEPARATORS if len(s) == 1]),
                          min_size=1, max_size=3))
    for invisible in draw(st.lists(st.sampled_from(INVISIBLES), max_size=2)):
        parts.insert(draw(st.integers(0, len(parts))), invisible)
    return "".join(parts)


def _may_read_as_a_list(groups: list[str], joints: list[str]) -> bool:
    """Readable as two or more items one after another, each shaped like a date, a price, a
    phone or an order number (joined inside by one of / - . or a comma; or starting with 0; or
    cut 3-7-7): the guard may take that for a list, not a card (the lists above). Wider than
    the guard's own rule, so that only such writings are left out."""

    def item(start: int, stop: int) -> bool:
        inside = set(joints[start:stop - 1])
        return len(inside) <= 1 and (
            (bool(inside) and inside <= {"/", "-", ".", ","})
            or groups[start].startswith("0")
            or [len(g) for g in groups[start:stop]] == [3, 7, 7])

    ends = {0}  # where a reading as items can stop
    for stop in range(1, len(groups) + 1):
        if any(start in ends and item(start, stop) for start in range(stop)):
            ends.add(stop)
    return any(start in ends and item(start, len(groups)) for start in range(1, len(groups)))


@st.composite
def written_cards(draw: st.DrawFn) -> str:
    """A card number cut into groups, each joint a random mix, maybe inside a sentence."""
    digits = draw(card_numbers())
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=len(digits) - 1)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    cut_by = [draw(joints()) for _ in groups[1:]]
    # A 17-digit JCB cut 3-7-7 by hyphens is an Amazon order number to the guard, as before.
    assume(not ([len(g) for g in groups] == [3, 7, 7]
                and all(_visible(joint) in DASHES for joint in cut_by)))
    assume(not _may_read_as_a_list(groups, [normalise(joint) for joint in cut_by]))
    written = groups[0] + "".join(joint + group for joint, group in zip(cut_by, groups[1:],
                                                                       strict=True))
    before = draw(st.sampled_from(["", "カード番号は", "これで合ってる？ ", "番号：", "【確認】\n"]))
    after = draw(st.sampled_from(["", "です", " で払いました。", "（VISA）", "\nよろしく"]))
    return before + written + after


def test_the_generated_cards_are_cards() -> None:
    # the generator's own check: Visa's test number comes out of the same rules
    assert _luhn_check_digit("411111111111111") == "1"
    assert luhn_ok("4111111111111111") and card_brand_ok("4111111111111111")


@settings(max_examples=250, deadline=None, derandomize=True)
@given(text=written_cards())
def test_a_card_number_written_any_way_is_found(text: str) -> None:
    assert find(text) == "card"


def _digits(draw: st.DrawFn, count: int) -> str:
    return draw(st.text(alphabet="0123456789", min_size=count, max_size=count))


@st.composite
def ordinary_numbers(draw: st.DrawFn) -> str:
    """A date, a phone number, an Amazon order number or a price, as people write them."""
    kind = draw(st.sampled_from(["date", "phone", "order", "price"]))
    if kind == "date":
        y, m, d = draw(st.integers(2024, 2030)), draw(st.integers(1, 12)), draw(st.integers(1, 31))
        form = draw(st.sampled_from(["{y}/{m:02}/{d:02}", "{y}-{m:02}-{d:02}", "{y}.{m}.{d}",
                                     "{y}/{m}/{d}", "{m}/{d}", "{m}月{d}日", "{y}年{m}月{d}日"]))
        return form.format(y=y, m=m, d=d)
    if kind == "phone":
        head, *rest = draw(st.sampled_from([("0120", 3, 3), ("0570", 3, 3), ("03", 4, 4),
                                            ("06", 4, 4), ("090", 4, 4), ("080", 4, 4),
                                            ("050", 4, 4), ("0800", 3, 4)]))
        joint = draw(st.sampled_from(["-", " ", "", "－", "ー", "(", ")"]))
        groups = [head, *(_digits(draw, n) for n in rest)]
        return joint.join(groups) if joint not in "()" else f"{groups[0]}({groups[1]}){groups[2]}"
    if kind == "order":
        head = draw(st.sampled_from(["249", "250", "503"]))
        joint = draw(st.sampled_from(["-", "－", "ー", " "]))
        return joint.join([head, _digits(draw, 7), _digits(draw, 7)])
    price = draw(st.integers(1, 9_999_999))
    form = draw(st.sampled_from(["{:,}円", "¥{:,}", "{}円", "￥{:,}", "{:,}円（税込）"]))
    return form.format(price)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(items=st.lists(ordinary_numbers(), min_size=1, max_size=3),
       joints=st.lists(st.sampled_from(["、", " ", "と", "\n", "。", "、それから", " / "]),
                       min_size=2, max_size=2),
       before=st.sampled_from(["", "注文番号 ", "この前", "お届け予定は"]),
       after=st.sampled_from(["", "です", "から電話が来た", "の荷物が来ない"]))
def test_dates_phone_numbers_order_numbers_and_prices_are_no_secret(
    items: list[str], joints: list[str], before: str, after: str
) -> None:
    text = items[0]
    for joint, item in zip(joints, items[1:], strict=False):
        text += joint + item
    assert find(before + text + after) is None


# --- issue 17, point 6: secrets inside sentences ---------------------------------------------

# The forms reported missed or misnamed, each as it was sent, and more of their kind.
@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("わたしのパスワード hanako55 でログインできない", "password"),
        ("パスワード hanako55", "password"),
        ("パスは hanako55", "password"),
        ("ログインパス hanako55", "password"),  # 「パス」 after a word that names an account
        ("アマゾンのログインパスワード hanako55", "password"),
        ("4111 1111 1111 1112", "card"),  # one digit wrong: fails Luhn, still a card
        ("暗証番号は1234です", "pin"),
        ("セキュリティコードは123", "security_code"),
        # the words' variants, and what may stand between the word and the token
        ("ぱすわーど hanako55", "password"),
        ("ＰＷ　hanako55", "password"),  # full-width, U+3000
        ("pw hanako55", "password"),
        ("PASS:hanako55", "password"),
        ("password = hanako55", "password"),
        ("パスワードhanako55でログインできない", "password"),  # nothing between
        ("Amazonのパスワードが hanako55 なのに入れない", "password"),
        ("パスワードを hanako55 にしたのに", "password"),
        ("パスワードは「hanako55」です", "password"),
        ("パス：Hanako-1985!", "password"),
        ("パスワードは hanako", "password"),  # letters alone, after は
        ("パスワード 12345678 で入れない", "password"),  # digits alone
        ("あんしょうばんごうは 0000", "pin"),
        ("暗証番号 4821", "pin"),
        ("PIN: 4321", "pin"),
        ("暗証番号はabcd12です", "pin"),
        ("暗証番号は0000!文字どおりゼロ", "pin"),  # a unit after the punctuation, not the digits
        ("CVV 123", "security_code"),
        ("cvc：1234", "security_code"),
        ("セキュリティーコードは 987", "security_code"),
        ("カードの裏のセキュリティコード 456 を入れた", "security_code"),
        ("セキュリティコードは 12345", "security_code"),  # five digits: still said to be one
        ("4821 はセキュリティコードです", "security_code"),
        ("セキュリティコードを聞かれたけど、確認コード 482913 なら届いた", "code"),
        ("4111-1111-1111-1112 のカードで払った", "card"),
        ("カード番号 4111−1111−1111−1112", "card"),  # U+2212 MINUS SIGN, as a dash
        ("5555 5555 5555 4445", "card"),  # Mastercard, Luhn fails
        ("3782 822463 10006", "card"),  # American Express, Luhn fails
        ("荷物は届いたけど 4111 1111 1111 1112 で払った", "card"),  # 16 digits: no parcel number
    ],
)
def test_secrets_inside_sentences_are_found_and_named(text: str, kind: str) -> None:
    assert find(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "パスワードを忘れた",
        "パスワードが違うと出る",
        "パスワードの変え方",
        "パスワードを変えたのにログインできない",
        "ぱすわーど わすれた",
        "パスワード忘れた",
        "パス忘れた",
        "パスワードは何文字？",
        "パスワードは 8文字以上？",
        "パスワードを10回間違えた",
        "パスワードを 2024年に変えた",  # digits with a unit: a year
        "パスワードは 2024/01/01 に変えた",  # a date
        "パスワードは amazon と同じ",  # a name, not the password
        "password reset",
        "パスワード reset できない",  # letters alone after spaces: talk about it
        "PW manager を使っている",
        "forgot_password, reset_password_url を開いた",  # 「password」 inside a longer name
        "パスワードは https://www.amazon.co.jp/ で変える",  # a link: the link judge reads it
        "暗証番号を忘れた",
        "暗証番号 4桁",
        "暗証番号は 4 桁です",
        "セキュリティコードはどこ？",
        "セキュリティコードは3桁？",
        "パスポートの番号",
        "コンパス 1234",  # 「パス」 at the end of a longer word
        "パスモ 1234",
        "プライムの料金は600円です",
        "250-1234567-1234567",  # an order number
        "250 1234567 1234567",  # spaced
        "503-4911132-6150265 の荷物",
        "注文番号 503ー4911132ー6150266",  # Luhn fails: still an order number
        "0120-999-373",
        "2026/12/05 2026/12/06",
        "伝票番号は 4321-8765-2109-5 です",  # a 13-digit parcel number, said as one
        "1234567890123456",  # no card brand starts with 1
        "1234 4111 1111 1111 1112",  # 20 digits
    ],
)
def test_talk_about_secrets_and_ordinary_numbers_are_no_secret(text: str) -> None:
    assert find(text) is None


# --- the same, as properties over generated sentences -----------------------------------------

# The words for each kind, written out here (not read from system.yaml), as people type them.
PASSWORD_WORDS = ["パスワード", "ぱすわーど", "パス", "ぱす", "password", "Password", "PASSWORD",
                  "pass", "Pass", "pw", "PW", "ＰＷ", "ｐｗ", "ﾊﾟｽﾜｰﾄﾞ", "パス\u200bワード", "passwd"]
PIN_WORDS = ["暗証番号", "あんしょうばんごう", "PIN", "pin", "ＰＩＮ", "暗証"]
CARD_CODE_WORDS = ["セキュリティコード", "セキュリティーコード", "CVV", "cvv", "CVC", "ＣＶＶ",
                   "security code"]
# What people put between the word and the token; 「は」 and the like say "is".
SAYS_IS = ["は", "は ", "は　", ":", "：", " : ", "=", "＝", "って", " is ", "は、"]
OTHER_SEPARATORS = ["", " ", "　", "  ", "が", "が ", "を", "を ", "も ", "、", "\t"]
# Surrounding Japanese: no digits or Latin letters (they could make a number or a token of
# their own), no katakana right before the word (「コンパス」 is no password word).
JAPANESE = "あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん" \
    "私僕今日明日入力忘変更登録確認送信画面携帯電話届商品注文返品解約困助教方法。、！？　 "
BEFORE = st.text(alphabet=JAPANESE, max_size=20).map(lambda s: s + "の")
AFTER = st.just("") | st.tuples(
    st.sampled_from([" ", "で", "です", "、", "。", "って", "なのに", "!", "\n"]),
    st.text(alphabet=JAPANESE, max_size=20)).map("".join)
TOKEN_SYMBOLS = "!#$%&*+-_.@?"


@st.composite
def password_tokens(draw: st.DrawFn) -> str:
    """A password as people make them: letters, a digit somewhere, maybe a symbol; four
    characters at least (shorter, the guard cannot tell a token from talk: 「pw: ab1」)."""
    letters = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ",
                           min_size=3, max_size=12))
    digits = draw(st.text(alphabet="0123456789", min_size=1, max_size=6))
    symbol = draw(st.sampled_from(["", *TOKEN_SYMBOLS]))
    parts = draw(st.permutations([letters, digits, symbol]))
    token = "".join(parts)
    assume(token[0] not in "-.?!")  # what a sentence would read as punctuation
    return token


@st.composite
def password_sentences(draw: st.DrawFn) -> tuple[str, str]:
    """A password word, what may stand after it (「passhanako55」 is one word: a space then),
    a password, in random Japanese."""
    word = draw(st.sampled_from(PASSWORD_WORDS))
    token = draw(password_tokens())
    return draw(BEFORE) + word + _between(draw, word) + token + draw(AFTER), token


@settings(max_examples=300, deadline=None, derandomize=True)
@given(sentence=password_sentences())
def test_a_password_word_and_a_token_anywhere_in_a_sentence_is_a_password(
    sentence: tuple[str, str],
) -> None:
    assert find(sentence[0]) == "password"


# system.yaml's `not_password`: after は, these are talk (「パスワードは amazon と同じ」)
NOT_PASSWORD = {"amazon", "amzn", "prime", "kindle", "alexa", "google", "apple", "gmail",
                      "yahoo", "icloud", "line", "mail", "email", "reset", "change", "error",
                      "manager", "login", "signin", "again", "wrong", "forgot", "forget", "help",
                      "please", "same", "none", "nothing"}


@pytest.mark.parametrize("word", sorted(NOT_PASSWORD))
def test_names_and_words_after_a_password_word_are_talk(word: str) -> None:
    assert find(f"パスワードは {word} と同じ") is None
    assert find(f"パスワードは {word.capitalize()}") is None
    assert find(f"パスワードは {word}2024x") == "password"  # with a digit: a password


def test_the_words_that_are_talk_are_system_yamls() -> None:
    scenarios = load_scenarios(REPO_ROOT / "scenarios")
    assert set(scenarios.system.safety.words.not_password) == NOT_PASSWORD


@settings(max_examples=150, deadline=None, derandomize=True)
@given(before=BEFORE, word=st.sampled_from(PASSWORD_WORDS), between=st.sampled_from(SAYS_IS),
       token=st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=4, max_size=12),
       after=AFTER)
def test_letters_alone_after_a_word_that_says_is_are_a_password(
    before: str, word: str, between: str, token: str, after: str
) -> None:
    assume(token not in NOT_PASSWORD)
    assert find(before + word + between + token + after) == "password"



def _between(draw: st.DrawFn, word: str) -> str:
    between = draw(st.sampled_from(SAYS_IS + OTHER_SEPARATORS))
    return " " if between == "" and normalise(word).isascii() else between  # 「pin1234」


@st.composite
def pin_sentences(draw: st.DrawFn) -> tuple[str, str]:
    """A PIN's word, what may stand after it, four to eight digits, in random Japanese."""
    word = draw(st.sampled_from(PIN_WORDS))
    pin = draw(st.text(alphabet="0123456789", min_size=4, max_size=8))
    return draw(BEFORE) + word + _between(draw, word) + pin + draw(AFTER), pin


@st.composite
def card_code_sentences(draw: st.DrawFn) -> tuple[str, str]:
    """A security code's word, what may stand after it, three or four digits."""
    word = draw(st.sampled_from(CARD_CODE_WORDS))
    code = draw(st.text(alphabet="0123456789", min_size=3, max_size=4))
    return draw(BEFORE) + word + _between(draw, word) + code + draw(AFTER), code


@settings(max_examples=200, deadline=None, derandomize=True)
@given(sentence=pin_sentences())
def test_a_pin_word_and_digits_anywhere_in_a_sentence_is_a_pin(
    sentence: tuple[str, str],
) -> None:
    assert find(sentence[0]) == "pin"


@settings(max_examples=200, deadline=None, derandomize=True)
@given(sentence=card_code_sentences())
def test_a_security_code_anywhere_in_a_sentence_is_named_as_one(
    sentence: tuple[str, str],
) -> None:
    assert find(sentence[0]) == "security_code"


# What people write after a password word when they talk about it: Japanese, never a token.
TALK = ["を忘れた", "が違うと出る", "の変え方", "を変えたい", "がわからない", "を入れても入れない",
        "を何回も間違えた", "の再設定", "って何？", "は何文字？", "リセット", "わすれた", "を 変更したい",
        "が 合っているのに", "は 大文字も必要？"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(before=BEFORE, word=st.sampled_from(PASSWORD_WORDS + PIN_WORDS),
       talk=st.sampled_from(TALK), after=AFTER)
def test_talk_about_a_password_or_a_pin_is_no_secret(
    before: str, word: str, talk: str, after: str
) -> None:
    assert find(before + word + talk + after) is None


@st.composite
def mistyped_cards(draw: st.DrawFn) -> tuple[str, str]:
    """A card number with its check digit wrong, cut into groups by random joints (any dash
    the normaliser knows among them), maybe inside a sentence."""
    digits = draw(card_numbers())
    wrong = str((int(digits[-1]) + draw(st.integers(1, 9))) % 10)
    digits = digits[:-1] + wrong
    assert not luhn_ok(digits)
    cuts = sorted(draw(st.sets(st.integers(1, len(digits) - 1), max_size=5)))
    groups = [digits[a:b] for a, b in zip([0, *cuts], [*cuts, len(digits)], strict=True)]
    cut_by = [draw(st.sampled_from([" ", "-", "‐", "‑", "‒", "–", "—", "―", "−", "－", "﹣", "⁃",
                                    "ー", "ｰ", "\u3000", " - "])) for _ in groups[1:]]
    seen = [normalise(joint) for joint in cut_by]
    assume([len(g) for g in groups] != [3, 7, 7])  # an order number, in any joint
    assume(not _may_read_as_a_list(groups, seen))
    written = groups[0] + "".join(j + g for j, g in zip(cut_by, groups[1:], strict=True))
    before = draw(st.sampled_from(["", "カード番号は", "これで合ってる？ ", "番号：", "【確認】\n"]))
    after = draw(st.sampled_from(["", "です", " で払いました。", "（VISA）", "\nよろしく"]))
    return before + written + after, digits


@settings(max_examples=250, deadline=None, derandomize=True)
@given(card=mistyped_cards())
def test_a_card_number_with_a_wrong_digit_is_still_a_card(card: tuple[str, str]) -> None:
    assert find(card[0]) == "card"
