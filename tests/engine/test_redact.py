"""The operators' inbox keeps what the bot could not place (issue 18), redacted by the engine:
no secret at all, phone numbers, e-mail addresses, links and long numbers masked; and advance()
says which texts those are, where they were typed and the interpreter's three best guesses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from supportnavi.engine import State, Text, advance
from supportnavi.engine.loader import load_scenarios
from supportnavi.engine.outcome import Guess
from supportnavi.engine.ports import Context
from supportnavi.engine.redact import MAIL, NUMBER, PHONE, URL, redact
from supportnavi.settings import REPO_ROOT

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sc():
    return load_scenarios(REPO_ROOT / "scenarios")


@pytest.mark.parametrize(("typed", "kept"), [
    ("電話は０９０－１２３４－５６７８です", f"電話は{PHONE}です"),
    ("090 1234 5678 から着信", f"{PHONE} から着信"),
    ("(03)5555-0178にかけた", f"{PHONE}にかけた"),
    ("foo.bar+x@example.co.jp に送った", f"{MAIL} に送った"),
    ("ａｂｃ＠ｅｘａｍｐｌｅ．ｃｏｍ", MAIL),
    ("https://amzn.to/abc を見た", f"{URL} を見た"),
    ("amazon。co。jp から来た", f"{URL} から来た"),
    ("注文番号250-1234567-1234567が", f"注文番号{NUMBER}が"),
    ("郵便番号 123-4567 の家", f"郵便番号 {NUMBER} の家"),
    ("3.5日かかる 12月5日に", "3.5日かかる 12月5日に"),  # short numbers stay
    ("  宇宙の　天気\u200bを教えて ", "宇宙の 天気を教えて"),  # read as the bot reads it
])
def test_masks(sc, typed, kept):
    assert redact(typed, sc.secrets, sc.links) == kept


@pytest.mark.parametrize("typed", [
    "カード 4111111111111111", "パスワードは Zq8hunter77", "確認コードは 482913",
    "4111 1111 1111 1111 を入れた", "", "   ",
])
def test_a_secret_or_nothing_is_not_kept_at_all(sc, typed):
    assert redact(typed, sc.secrets, sc.links) is None


# --- generated: nothing secret, no phone number, no e-mail ever comes out --------------------

FILLER = st.lists(st.sampled_from([
    "宇宙の", "天気", "について", "教えて", "ください", "きのう", "なぜか", "よく", "わからない",
    "ねこ", "が", "を", "に", "。", "、", " ", "!", "?", "ほしい", "あれ", "これ", "どう",
]), max_size=6).map("".join)
DIGITS = "0123456789"
FULL = str.maketrans(DIGITS, "０１２３４５６７８９")
JOINTS = st.sampled_from(["-", " ", "ー", "－", "", "‐", "  ", "."])


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """Japanese numbers as people type them: mobile, Tokyo, free dial, navi dial, +81."""
    head, sizes = draw(st.sampled_from([
        ("090", (4, 4)), ("080", (4, 4)), ("070", (4, 4)), ("03", (4, 4)), ("06", (4, 4)),
        ("0120", (3, 3)), ("0570", (3, 3)), ("0800", (3, 3)), ("045", (3, 4)),
    ]))
    parts = [head, *("".join(draw(st.sampled_from(DIGITS)) for _ in range(n)) for n in sizes)]
    joint = draw(JOINTS)
    number = joint.join(parts)
    if draw(st.booleans()):
        number = "+81" + joint + number[1:]
    return number.translate(FULL) if draw(st.booleans()) else number


@st.composite
def card_numbers(draw: st.DrawFn) -> str:
    """Luhn-valid card numbers (a brand's prefix), grouped or not."""
    prefix = draw(st.sampled_from(["4", "51", "55", "37", "3530"]))
    size = 15 if prefix == "37" else 16
    body = prefix + "".join(draw(st.sampled_from(DIGITS)) for _ in range(size - 1 - len(prefix)))
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    number = body + str((10 - total % 10) % 10)
    joint = draw(st.sampled_from(["", " ", "-"]))
    return joint.join(number[i:i + 4] for i in range(0, len(number), 4))


SECRETS = st.one_of(
    card_numbers().map(lambda n: f"カード {n}"),
    st.from_regex(r"[A-Za-z]{3,6}[0-9]{2,4}", fullmatch=True).map(lambda p: f"パスワードは {p}"),
    st.from_regex(r"[0-9]{6}", fullmatch=True).map(lambda c: f"確認コードは {c}"),
)
EMAILS = st.emails()


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


@settings(max_examples=300, deadline=None)
@given(before=FILLER, after=FILLER, secret=SECRETS)
def test_no_generated_secret_is_ever_kept(sc, before, after, secret):
    assert redact(before + secret + after, sc.secrets, sc.links) is None


@settings(max_examples=300, deadline=None)
@given(before=FILLER, after=FILLER, number=phone_numbers())
def test_no_generated_phone_number_is_ever_kept(sc, before, after, number):
    kept = redact(before + number + after, sc.secrets, sc.links) or ""
    assert len(_digits(kept)) < 4, kept  # the filler has no digits: all of the number is gone


@settings(max_examples=300, deadline=None)
@given(before=FILLER, after=FILLER, address=EMAILS)
def test_no_generated_email_address_is_ever_kept(sc, before, after, address):
    kept = redact(f"{before}{address} {after}", sc.secrets, sc.links) or ""
    domain = address.rpartition("@")[2]
    assert "@" not in kept and domain.casefold() not in kept.casefold(), kept


# --- which texts advance() hands over, with what -------------------------------------------


class Near:
    """A classifier whose nearest examples are all below the thresholds: `unknown`."""

    def rank(self, text: str, most: int = 8) -> list[tuple[str, float]]:
        return [("delivery.late", 0.41), ("unknown", 0.4), ("returns", 0.33),
                ("contact", 0.3), ("login", 0.2)][:most]

    def classify(self, text: str) -> tuple[str, float]:
        return "unknown", 0.41


def test_unknown_at_the_menu_is_handed_over_with_its_three_best_guesses(sc):
    outcome = advance(sc, State(), Text("ぴよぴよ 12345 ぽよぽよ"), NOW,
                      Context(classifier=Near()))
    assert outcome.understood is not None and outcome.understood.kind == "unknown"
    assert outcome.understood.candidates == ()  # classify's contract: none offered
    found = outcome.unmatched
    assert found is not None
    assert found.text == f"ぴよぴよ {NUMBER} ぽよぽよ"
    assert (found.route, found.node) == (None, None)
    assert found.guesses == (Guess("delivery", "late", 0.41), Guess("returns", None, 0.33),
                             Guess("contact", None, 0.3))


def test_asked_which_is_handed_over_with_the_places_offered(sc):
    outcome = advance(sc, State(), Text("解約"), NOW, Context())
    assert outcome.resolved.startswith("ask:")
    found = outcome.unmatched
    assert found is not None and found.text == "解約"
    assert [g.route for g in found.guesses] == ["prime_cancel", "trial_cancel", "order_cancel"]


def test_not_read_on_a_screen_is_handed_over_with_where(sc):
    state = advance(sc, State(), Text("返品したい"), NOW, Context()).state
    assert state.route == "returns"
    outcome = advance(sc, state, Text("ぴよぴよ"), NOW, Context())
    assert outcome.resolved == "text:unmatched"
    found = outcome.unmatched
    assert found is not None and (found.text, found.route, found.node) == (
        "ぴよぴよ", "returns", state.node)


@pytest.mark.parametrize("typed", [
    "返品したい",  # opened a route
    "メニュー",  # a command
    "こんにちは",  # a greeting
    "カード 4111111111111111",  # a secret: warned about, and never handed over
    "090-1234-5678",  # a phone number: its verdict
    "https://amaz0n-verify.example/login",  # a link: its verdict
    "",
])
def test_what_the_bot_did_read_is_not_handed_over(sc, typed):
    assert advance(sc, State(), Text(typed), NOW, Context()).unmatched is None


@pytest.mark.parametrize(("days", "said"), [(30, True), (7, True), (0, False)])
def test_the_help_says_for_how_long_when_keeping_is_on(sc, days, said):
    outcome = advance(sc, State(), Text("ヘルプ"), NOW, Context(unmatched_days=days))
    text = "\n".join(m.text for m in outcome.messages)
    assert ("だれが送ったかを残さずに" in text) is said
    assert (f"{days}日間保存" in text) is said
