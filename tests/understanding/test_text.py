"""Normalising and folding typed text."""

from __future__ import annotations

import pytest

from supportnavi.engine.text import fold, normalize


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("ｱﾏｿﾞﾝから変なSMS", "アマゾンから変なSMS"),  # half-width katakana, voiced marks joined
        ("Ｐｒｉｍｅ　やめたい", "Prime やめたい"),  # full-width letters and space
        ("０１２０ー９９９", "0120-999"),  # full-width digits; 「ー」 between digits is a dash
        ("メニュー", "メニュー"),  # and in a word, the long-vowel mark it is
        ("プライム―やめたい", "プライム-やめたい"),  # a dash look-alike
        ("  荷物が\n\n届かない  ", "荷物が 届かない"),
    ],
)
def test_normalize(typed, normalized):
    assert normalize(typed) == normalized


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ｱﾏｿﾞﾝ", "アマゾン"),
        ("あまぞん", "アマゾン"),  # hiragana folds to katakana
        ("Ｐｒｉｍｅ", "prime"),  # width and case
        ("PRIME", "prime"),
        ("めにゅー。", "メニュー"),
        ("にもつ、こない！", "ニモツコナイ"),
        ("「返品」したい？", "返品したい"),
        ("ﾌﾟﾗｲﾑ やめたい…", "プライムヤメタイ"),
    ],
)
def test_fold_makes_these_equal(a, b):
    assert fold(a) == fold(b)


@pytest.mark.parametrize(("a", "b"), [("返品", "交換"), ("プライム", "プライド"), ("au", "ua")])
def test_fold_keeps_these_apart(a, b):
    assert fold(a) != fold(b)


def test_fold_of_punctuation_alone_is_empty():
    assert fold("。、！？ 　…") == ""
