"""How long a reply may be on each platform, measured as the platform measures it: the route refuses
a reply that is too long (`409 too_long`) before anything is queued, rather than letting the platform
fail it later. Pure.

Each figure, the unit it counts and where it comes from:
- Messenger DM, and a Facebook comment's private reply (a Messenger message): 2,000 characters.
  Meta's Send API reference (`message.text`: "UTF-8 and has a 2000 character limit"); REPLIES.md
  has it second-hand; not rechecked here.
- Instagram DM, and an Instagram comment's private reply: 1,000 UTF-8 bytes, so bytes are measured.
  Meta's Instagram messaging docs ("UTF-8 and less than 1000 bytes"), as REPLIES.md reports them
  (second-hand; not rechecked here).
- Facebook comment reply: 8,000 characters. Facebook's comment limit as commonly cited (second-hand).
- Instagram comment reply: 2,200 characters. Instagram's caption and comment limit as commonly
  cited (second-hand).
- WhatsApp text: 4,096 characters. Cloud API messages reference (`text.body`).
- Telegram: 4,096 characters. Bot API `sendMessage` ("1-4096 characters after entities parsing");
  counted in code points, not UTF-16 units, as a third party measured (FerroxLabs/wayland#934).
- X reply post: 280 weighted characters, counted as twitter-text v3 counts (below).
- X DM: 10,000 characters. X Help Center (second-hand); a DM is not a post and is not weighted.
- Trustpilot review reply: 2,000 characters. AN ASSUMPTION: no documented figure was found; a reply
  over Trustpilot's real limit fails with its own 400 (permanent, in Trustpilot's words).
- A generic source: no limit here (our own contract; the source decides).

X counts as twitter-text v3 does: the text NFC-normalised; every URL 23 whatever its length; every
emoji 2, a sequence (ZWJ family, skin tone, flag, keycap, subdivision flag) as one emoji; every other
code point 1 in the ranges 0-4351, 8192-8205, 8208-8223 and 8242-8247 (Latin, Greek, Cyrillic,
Hebrew, Arabic... and common punctuation), 2 elsewhere (CJK, most symbols). URLs are found as
twitter-text finds them, approximately: `http(s)://` with a valid host (labels of at most 63
characters, punycode counted), or a bare domain with a country-code TLD or a common generic one
(`example.com`, `foo.co.jp`; a single label before a country code, `name.jp`, only with a path, as
twitter-text requires; `.co` and `.tv` always). A bare domain under a rarer generic TLD is counted
as its characters: a reply near the limit may then be refused by X (a permanent failure that says
so) rather than here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

CHARACTERS = "characters"
BYTES = "bytes"
WEIGHTED = "weighted characters"


@dataclass(frozen=True)
class Rule:
    maximum: int | None
    unit: str


_COMMENT_KINDS = frozenset({"comment", "reply", "mention"})
MESSENGER_TEXT = Rule(2_000, CHARACTERS)
INSTAGRAM_DM = Rule(1_000, BYTES)
FACEBOOK_COMMENT = Rule(8_000, CHARACTERS)
INSTAGRAM_COMMENT = Rule(2_200, CHARACTERS)
WHATSAPP_TEXT = Rule(4_096, CHARACTERS)
TELEGRAM_TEXT = Rule(4_096, CHARACTERS)
X_POST = Rule(280, WEIGHTED)
X_DM = Rule(10_000, CHARACTERS)
TRUSTPILOT_REPLY = Rule(2_000, CHARACTERS)  # assumption: see the table above
UNLIMITED = Rule(None, CHARACTERS)

# What a platform's text is when the caller does not say what is answered: its usual reply.
_DEFAULT_KIND = {"facebook": "comment", "x": "mention", "trustpilot": "review"}


def rule(platform: str, target_kind: str, visibility: str) -> Rule:
    """The limit and unit for a reply to `target_kind` (message, comment, reply, mention, review)
    shown `visibility` (public, private). A private reply to a comment is a message: it has the
    message's limit."""
    public_comment = target_kind in _COMMENT_KINDS and visibility == "public"
    match platform:
        case "messenger" | "facebook":
            return FACEBOOK_COMMENT if public_comment else MESSENGER_TEXT
        case "instagram":
            return INSTAGRAM_COMMENT if public_comment else INSTAGRAM_DM
        case "whatsapp":
            return WHATSAPP_TEXT
        case "telegram":
            return TELEGRAM_TEXT
        case "x":
            return X_DM if target_kind == "message" else X_POST
        case "trustpilot":
            return TRUSTPILOT_REPLY
        case _:
            return UNLIMITED


def limit(platform: str, target_kind: str, visibility: str) -> int | None:
    """The most a reply may measure (see `length`); None: no limit (generic sources)."""
    return rule(platform, target_kind, visibility).maximum


def unit(platform: str, target_kind: str, visibility: str) -> str:
    """What `limit` counts, for the refusal's words: characters, bytes or weighted characters."""
    return rule(platform, target_kind, visibility).unit


def length(platform: str, text: str, target_kind: str | None = None, visibility: str | None = None) -> int:
    """The text measured as the platform measures it: UTF-8 bytes for an Instagram DM, X's weighted
    length for an X post, code points elsewhere. Without `target_kind`, the platform's usual reply
    (an Instagram DM, an X post, a Facebook comment)."""
    kind = target_kind or _DEFAULT_KIND.get(platform, "message")
    shown = visibility or ("public" if kind in _COMMENT_KINDS or kind == "review" else "private")
    measure = rule(platform, kind, shown).unit
    if measure == BYTES:
        return len(text.encode("utf-8"))
    if measure == WEIGHTED:
        return weighted_length(text)
    return len(text)


# --- X: twitter-text v3 -------------------------------------------------------------------------

URL_WEIGHT = 23
EMOJI_WEIGHT = 2
_LIGHT_RANGES = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))

# Emoji, as code points Unicode gives an emoji presentation (or may, with U+FE0F): the
# supplementary pictographic blocks, and the BMP symbols that are emoji. A single code point counts
# by its own weight (so "©" alone is 1, "☺" 2); a sequence (with U+FE0F, a skin tone, ZWJ, a flag's
# two regional indicators, a keycap, a subdivision flag's tags) counts as one emoji.
_PICTOGRAPH = (
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328\u2388\u23cf"
    "\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe\u2600-\u27bf\u2934\u2935"
    "\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff]"
)
_ELEMENT = f"{_PICTOGRAPH}\ufe0f?[\U0001f3fb-\U0001f3ff]?"
_EMOJI = re.compile(
    "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"  # subdivision flags (England, Scotland, Wales)
    "|[\U0001f1e6-\U0001f1ff]{2}"  # country flags
    "|[0-9#*]\ufe0f?\u20e3"  # keycaps
    f"|{_ELEMENT}(?:\u200d{_ELEMENT})*"
)

# Top-level domains for URLs written without a scheme. Country codes: every two-letter ccTLD
# (IANA root zone). Generic: the common ones only (the full list has over a thousand).
_CCTLD_NAMES = """ac ad ae af ag ai al am an ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq
    br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec
    ee eg eh er es et eu fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk
    hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc
    li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc
    ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb
    sc sd se sg sh si sj sk sl sm sn so sr ss st su sv sx sy sz tc td tf tg th tj tk tl tm tn to tp tr
    tt tv tw tz ua ug uk um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"""
_CCTLDS = frozenset(_CCTLD_NAMES.split())
_GTLD_NAMES = """com net org info biz edu gov mil int name pro mobi asia tel travel jobs museum aero coop cat
    xxx xyz app dev page online site website store shop tech blog news cloud live life world today
    email link click top club space art design digital agency media network solutions services
    support center company group global social studio team help host games game bank finance
    money health care fit academy school education events photo photos video music film love work
    works zone one new"""
_GTLDS = frozenset(_GTLD_NAMES.split())
_ALWAYS_LINKED_CC = frozenset({"co", "tv"})  # twitter-text links `t.co`, `name.tv` even without a path

_TLD = "|".join(sorted(_CCTLDS | _GTLDS, key=lambda tld: (-len(tld), tld)))
_BARE_URL = re.compile(
    rf"(?<![A-Za-z0-9@＠$#＃._/\-])((?:[A-Za-z0-9][A-Za-z0-9_-]*\.)+)({_TLD})(?![0-9A-Za-z@+\-])"
    r"(?::[0-9]+)?(/[^\s\"<>]*)?",
    re.IGNORECASE,
)
_SCHEME_URL = re.compile(r"(?<![A-Za-z0-9@＠$#＃])https?://[^\s\"<>]+", re.IGNORECASE)
_TRAILING = ".,;:!?'\"»”’…"
_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)
_PORT = re.compile(r"(.*?)(?::[0-9]+)?")


def weighted_length(text: str) -> int:
    """X's length of a post (twitter-text v3): at most 280 for a valid post."""
    text = unicodedata.normalize("NFC", text)
    total, position = 0, 0
    for start, end in _url_spans(text):
        total += _unlinked(text[position:start]) + URL_WEIGHT
        position = end
    return total + _unlinked(text[position:])


def _unlinked(segment: str) -> int:
    total, position = 0, 0
    for found in _EMOJI.finditer(segment):
        total += _by_code_point(segment[position : found.start()])
        emoji = found.group()
        total += EMOJI_WEIGHT if len(emoji) > 1 else _by_code_point(emoji)
        position = found.end()
    return total + _by_code_point(segment[position:])


def _by_code_point(segment: str) -> int:
    return sum(1 if any(low <= ord(char) <= high for low, high in _LIGHT_RANGES) else 2 for char in segment)


def _url_spans(text: str) -> list[tuple[int, int]]:
    spans = []
    for found in _SCHEME_URL.finditer(text):
        end = found.start() + len(_trim(found.group()))
        authority = text[found.start() : end].split("://", 1)[1]
        authority = re.split(r"[/?#]", authority, maxsplit=1)[0]
        if _valid_host(authority.rpartition("@")[2]):
            spans.append((found.start(), end))
    for found in _BARE_URL.finditer(text):
        start, end = found.start(), found.start() + len(_trim(found.group()))
        if any(start < taken_end and taken_start < end for taken_start, taken_end in spans):
            continue
        labels, tld, path = found.group(1).rstrip(".").split("."), found.group(2).lower(), found.group(3)
        if any(len(label) > 63 or label.endswith("-") for label in labels) or "_" in labels[-1]:
            continue  # a label of more than 63 characters, or ending in '-': not a host name
        if len(labels) == 1 and tld in _CCTLDS and tld not in _ALWAYS_LINKED_CC and not path:
            continue  # `name.jp` alone is not linked; `www.name.jp` and `name.jp/page` are
        spans.append((start, end))
    return sorted(spans)


def _trim(url: str) -> str:
    """Without the punctuation that ends a sentence after a URL; a closing parenthesis stays when
    it closes one the URL opened (`.../Primer_(film)`)."""
    while url and (url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")"))):
        url = url[:-1]
    return url


def _valid_host(host_and_port: str) -> bool:
    if host_and_port.startswith("["):  # an IPv6 literal
        return "]" in host_and_port
    found = _PORT.fullmatch(host_and_port)
    host = found.group(1) if found else host_and_port
    if _IPV4.fullmatch(host):
        return True
    labels = host.split(".")
    if len(labels) < 2 or any(not _valid_label(label) for label in labels):
        return False
    tld = labels[-1]
    if "_" in labels[-2] or "_" in tld:
        return False  # underscores only in subdomains
    return tld.lower().startswith("xn--") or (tld.isalpha() and len(tld) >= 2)


def _valid_label(label: str) -> bool:
    if not label or label.startswith("-") or label.endswith("-"):
        return False
    if not all(_host_char(char) for char in label):
        return False
    if label.isascii():
        return len(label) <= 63
    try:
        return len("xn--" + label.encode("punycode").decode("ascii")) <= 63
    except UnicodeError:
        return False


def _host_char(char: str) -> bool:
    """ASCII letters, digits, '-' and '_'; beyond ASCII anything but punctuation, spaces and
    controls (internationalised names: `http://☃.net`)."""
    if char.isascii():
        return char.isalnum() or char in "-_"
    return unicodedata.category(char)[0] not in "PZC"
