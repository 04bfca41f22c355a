"""Reply length limits per platform, measured as each platform measures: X's weighted length
against twitter-text's published conformance cases (conformance/validate.yml, "weighted tweets with
discounted emoji"), Instagram in UTF-8 bytes, the rest in code points."""

from __future__ import annotations

import pytest

from chalicelib.rules.text_limits import length, limit, unit, weighted_length

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # four people joined by ZWJ
POEM = (
    "故人西辞黄鹤楼，烟花三月下扬州。孤帆远影碧空尽，唯见长江天际流。朱雀桥边野草花，乌衣巷口夕阳斜。"
    "旧时王谢堂前燕，飞入寻常百姓家。朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
    "泪湿罗巾梦不成，夜深前殿按歌声。红颜未老恩先断，斜倚薰笼坐到明。独在异乡为异客，每逢佳节倍思亲。"
    "遥知兄弟登高处，遍插茱萸少一人。"
)
KANA = "あいうえおかきくけこ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("This is a test.", 15),
        ("Hi http://test.co", 26),
        ("http://test.co", 23),
        ("test.com", 23),
        ("Test https://test.com test https://test.com test.com test", 86),
        ("https://www.twitter.com/aloha " * 10, 240),
        ("285 chars-" + "xxxxxxxxxx-" * 25, 285),
        ("285 chars- http://www.twitter.com/jack " + "xxxxxxxxxx-" * 24, 299),
        ("xxxxxxxxxx-" * 24 + " http://www.twitter.com/jack ", 289),
        (POEM, 320),  # CJK, and its full-width punctuation, weigh 2
        ("\U0001f637" * 160, 320),
        ("H\U0001f431\u263a" + FAMILY, 7),  # a ZWJ family is one emoji
        ("\U0001f637\U0001f47e\U0001f621\U0001f525\U0001f4a9", 10),
        ("\U0001f64b\U0001f3fd\U0001f468\u200d\U0001f3a4", 4),  # skin tone; man + ZWJ + microphone
        ("A\u0301B", 2),  # NFC: A + combining acute is one character
        ("A\ufb2c", 4),  # NFC decomposes U+FB2C into three Hebrew code points, each weighing 1
        ("randomurlrandomurlrandomurlrandomurlrandomurlrandomurlrandomurls.com", 68),  # a 64-character label
        (KANA * 12 + " http://" + KANA * 5 + "あいう.com", 358),  # punycode label over 63: not a URL
        (KANA * 12 + " http://" + KANA * 5 + "あい.com", 264),
    ],
)
def test_x_weighted_length_matches_twitter_text(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\u00a9", 1),  # © alone is text, in the light range
        ("\u00a9\ufe0f", 2),  # with the emoji selector, an emoji
        ("\u263a\ufe0f", 2),
        ("1\ufe0f\u20e3", 2),  # keycap
        ("\U0001f1f5\U0001f1f9", 2),  # a flag: two regional indicators
        ("\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f", 2),  # Scotland
        ("\U0001f469\u200d\u2764\ufe0f\u200d\U0001f468", 2),  # couple with heart
        ("\U0001f3f3\ufe0f\u200d\U0001f308", 2),  # rainbow flag
        ("\U0001f44d\U0001f3ff\U0001f44d", 4),
        ("a\u200db", 3),  # a ZWJ outside an emoji weighs 1
        ("\u2018quoted\u2019 \u2013 \u2032", 12),  # the light punctuation ranges
        ("\u2026", 2),  # an ellipsis is not in them
    ],
)
def test_x_emoji_and_code_point_weights(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://example.com/a.", 4 + 23 + 1),  # a sentence's full stop is not the URL's
        ("(https://en.wikipedia.org/wiki/Primer_(film))", 1 + 23 + 1),
        ("HTTPS://www.ExaMPLE.COM/index.html", 23),
        ("http://192.168.0.1/index.html?src=asdf", 23),
        ("http://user:PASSW0RD@example.com:8080/login.php", 23),
        ("http://\u2603.net/", 23),
        ("https://" + "a" * 64 + ".com", 8 + 64 + 4),  # a label over 63: not a URL
        ("http://www.-domain4352.com/", 27),
        ("http://domain-dash_2314352345_dfasd.foo-cow_4352.com", 52),  # underscore in the domain
        ("http://test_underscore.twitter.com", 23),  # allowed in a subdomain
        ("ana@example.com", 15),  # an e-mail address is no URL
        ("name.jp", 7),  # one label and a country code: only with a path
        ("name.jp/page", 23),
        ("www.name.jp", 23),
        ("foo.co.jp", 23),
        ("t.co", 23),
        ("file.unknowntld", 15),
        ("ftp://www.example.com/", 22),  # not linked, nor the domain after its '/'
        ("ftp: www.example.com/", 5 + 23),
    ],
)
def test_x_urls_count_23(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_x_post_limit_is_280_weighted_and_a_dm_is_not_weighted() -> None:
    assert (limit("x", "mention", "public"), unit("x", "mention", "public")) == (280, "weighted characters")
    assert limit("x", "reply", "public") == 280
    assert length("x", "a" * 280) == 280
    assert length("x", "好" * 141) == 282  # over: X refuses 141 CJK characters
    assert length("x", "好" * 141, "mention", "public") == 282
    assert (limit("x", "message", "private"), unit("x", "message", "private")) == (10_000, "characters")
    assert length("x", "好" * 141, "message", "private") == 141


def test_instagram_dms_are_measured_in_utf8_bytes_and_comments_in_characters() -> None:
    text = "é" * 600  # 600 characters, 1,200 bytes
    assert (limit("instagram", "message", "private"), unit("instagram", "message", "private")) == (1_000, "bytes")
    assert length("instagram", text) == 1_200
    assert length("instagram", text, "message", "private") == 1_200
    assert length("instagram", text, "comment", "private") == 1_200  # a private reply is a DM
    assert limit("instagram", "comment", "private") == 1_000
    assert (limit("instagram", "comment", "public"), length("instagram", text, "comment", "public")) == (2_200, 600)


@pytest.mark.parametrize(
    ("platform", "kind", "visibility", "expected"),
    [
        ("messenger", "message", "private", 2_000),
        ("messenger", "comment", "private", 2_000),
        ("facebook", "comment", "private", 2_000),  # a private reply is a Messenger message
        ("facebook", "comment", "public", 8_000),
        ("facebook", "mention", "public", 8_000),
        ("instagram", "comment", "public", 2_200),
        ("whatsapp", "message", "private", 4_096),
        ("telegram", "message", "private", 4_096),
        ("trustpilot", "review", "public", 2_000),
        ("shopforum", "message", "private", None),  # a generic source
    ],
)
def test_limits(platform: str, kind: str, visibility: str, expected: int | None) -> None:
    assert limit(platform, kind, visibility) == expected


def test_other_platforms_count_code_points() -> None:
    text = "\U0001f600" * 10 + "é"  # astral emoji are one character each
    for platform in ("messenger", "facebook", "whatsapp", "telegram", "trustpilot", "shopforum"):
        assert length(platform, text) == 11
        assert unit(platform, "message", "private") == "characters"
