"""The link check: each address's registrable domain, and whether it is Amazon's, a lookalike
or unknown. Nothing is fetched: the judge only reads the address."""

from __future__ import annotations

import socket

import pytest

from supportnavi.engine.links import LinkJudge, _decode
from supportnavi.engine.loader import load_scenarios
from supportnavi.settings import REPO_ROOT


@pytest.fixture(scope="module")
def judge() -> LinkJudge:
    links = load_scenarios(REPO_ROOT / "scenarios").links
    assert links is not None
    return links


@pytest.mark.parametrize(
    ("text", "verdict", "domain"),
    [
        # Amazon's own, with subdomains, paths, queries, either scheme, full-width
        ("https://www.amazon.co.jp/gp/css/order-history?ref_=nav_orders_first", "amazon",
         "amazon.co.jp"),
        ("http://amazon.co.jp/", "amazon", "amazon.co.jp"),
        ("https://pay.amazon.co.jp/signin", "amazon", "amazon.co.jp"),
        ("https://www.amazon.com/dp/B08N5WRWNW", "amazon", "amazon.com"),
        ("amazon.jp を開いた", "amazon", "amazon.jp"),
        ("https://amzn.to/3xYzAbC", "amazon", "amzn.to"),
        ("このリンク https://amzn.asia/d/5Hq0Ztp は本物？", "amazon", "amzn.asia"),
        ("https://a.co/d/abcDEF1", "amazon", "a.co"),
        ("ｈｔｔｐｓ：／／ｗｗｗ．ａｍａｚｏｎ．ｃｏ．ｊｐ／", "amazon", "amazon.co.jp"),
        ("サイトはamazon。co。jpです", "amazon", "amazon.co.jp"),
        ("https://www.amazon.co.jp:443/ap/signin?openid.return_to=x", "amazon", "amazon.co.jp"),
        # amazon as a subdomain of someone else's domain
        ("https://amazon.co.jp.evil.example/login", "lookalike", "evil.example"),
        ("amazon.co.jp.account-verify.top/signin", "lookalike", "account-verify.top"),
        ("https://www.amazon.co.jp.secure-login.cn/", "lookalike", "secure-login.cn"),
        ("http://amazon.jp-support.xyz", "lookalike", "jp-support.xyz"),
        # hyphenated and run-together imitations
        ("amazon-co-jp.info/login", "lookalike", "amazon-co-jp.info"),
        ("https://amazon-security.com/verify", "lookalike", "amazon-security.com"),
        ("https://secure-amazon.jp/account", "lookalike", "secure-amazon.jp"),
        ("https://amazonsupport-jp.net/", "lookalike", "amazonsupport-jp.net"),
        ("http://amzn-prime-update.com/", "lookalike", "amzn-prime-update.com"),
        # digits and letter pairs for letters, one letter off
        ("https://amaz0n.co.jp/", "lookalike", "amaz0n.co.jp"),
        ("http://4mazon.com/login", "lookalike", "4mazon.com"),
        ("https://arnazon.co.jp/", "lookalike", "arnazon.co.jp"),
        ("https://amazom.jp/", "lookalike", "amazom.jp"),
        ("https://amaozn.com/", "lookalike", "amaozn.com"),
        # punycode and mixed scripts (Cyrillic а, Greek ο)
        ("https://xn--mazon-3ve.co.jp/", "lookalike", "xn--mazon-3ve.co.jp"),
        ("http://аmazon.co.jp/signin", "lookalike", "аmazon.co.jp"),
        ("https://amazοn.com/", "lookalike", "amazοn.com"),
        # a user name that imitates Amazon in front of another host
        ("https://amazon.co.jp@evil.example/", "lookalike", "evil.example"),
        # someone else's: not called fake, not called Amazon
        ("https://www.yahoo.co.jp/", "unknown", "yahoo.co.jp"),
        ("http://bit.ly/3abcDEF", "unknown", "bit.ly"),
        ("https://kuronekoyamato.co.jp/ytc/customer/", "unknown", "kuronekoyamato.co.jp"),
        ("https://example.com/amazon/login", "unknown", "example.com"),  # only the path says it
        ("http://192.0.2.10/login", "unknown", "192.0.2.10"),
        ("xn--wgv71a119e.jp を見て", "unknown", "xn--wgv71a119e.jp"),  # 日本語.jp: IDN, no imitation
        # the worst of several links is the answer
        ("https://www.amazon.co.jp/ と https://amazon-co-jp.info/", "lookalike",
         "amazon-co-jp.info"),
        # no link at all
        ("アマゾンから変なメールが来た", "invalid", ""),
        ("値段が1.5倍になった", "invalid", ""),
        ("2026.12.05に届く予定", "invalid", ""),
        ("foo@bar", "invalid", ""),
    ],
)
def test_link_verdicts(judge: LinkJudge, text: str, verdict: str, domain: str) -> None:
    link = judge.judge(text)
    assert (link.verdict, link.domain) == (verdict, domain)


def test_the_sender_address_of_a_mail_is_read_by_its_domain(judge: LinkJudge) -> None:
    assert judge.hosts("送り主は info.account@amazon.co.jp でした") == ["amazon.co.jp"]
    assert judge.judge("送り主は no-reply@amazon-mail.support でした").verdict == "lookalike"


def test_judging_opens_no_socket(judge: LinkJudge, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the link check tried to reach the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert judge.judge("https://amazon.co.jp.evil.example/").verdict == "lookalike"
    assert LinkJudge(["amazon.co.jp"], ["amazon"]).judge("https://unknown.example.org/").verdict \
        == "unknown"


def test_building_a_judge_writes_no_cache_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("TLDEXTRACT_CACHE", str(tmp_path / "tld"))
    LinkJudge(["amazon.co.jp"], ["amazon"]).judge("https://www.amazon.co.jp/")
    assert list(tmp_path.rglob("*")) == []


def test_only_a_label_dns_allows_is_decoded_from_punycode() -> None:
    # Python's punycode decoder is quadratic in the label; a label past 63 characters is no
    # host's, so it is read as typed.
    short = "xn--" + ("аmazon" * 5).encode("punycode").decode()  # Cyrillic а
    long = "xn--" + ("аmazon" * 11).encode("punycode").decode()
    assert len(short) <= 63 < len(long)
    assert _decode(short) == "аmazon" * 5
    assert _decode(long) == long
