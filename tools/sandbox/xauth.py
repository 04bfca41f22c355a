"""X's user context: the OAuth 1.0a `Authorization` header, checked as X checks it, and X's
weighted text length.

The sandbox verifies the HMAC-SHA1 signature (RFC 5849 section 3.4) with the credentials of the
account the header names, because a sender that signs the wrong base string would otherwise pass
locally and fail against X with a bare 401. It does not check the timestamp's freshness nor
remember nonces (X answers 401 for both; a sandbox that did would make replays in tests flaky).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import unicodedata
import urllib.parse
from collections.abc import Iterable

_PARAM = re.compile(r'\s*([A-Za-z0-9_]+)="([^"]*)"\s*')


def header_params(header: str) -> dict[str, str] | None:
    """The parameters of an `OAuth k="v", ...` header, decoded; None when it is not one."""
    if not header.startswith("OAuth "):
        return None
    params: dict[str, str] = {}
    for part in header[len("OAuth ") :].split(","):
        match = _PARAM.fullmatch(part)
        if match is None:
            return None
        params[urllib.parse.unquote(match.group(1))] = urllib.parse.unquote(match.group(2))
    return params


def percent(value: str) -> str:
    """RFC 3986 percent-encoding, as OAuth 1.0a requires (only unreserved characters stay)."""
    return urllib.parse.quote(value, safe="-._~")


def signature(
    method: str,
    url: str,
    params: Iterable[tuple[str, str]],
    consumer_secret: str,
    token_secret: str,
) -> str:
    """The base64 HMAC-SHA1 of the signature base string: the method, the URL without its query,
    and every oauth_* and query (and form body) parameter, encoded, sorted and joined."""
    encoded = sorted((percent(key), percent(value)) for key, value in params)
    normalised = "&".join(f"{key}={value}" for key, value in encoded)
    base = "&".join((method.upper(), percent(url), percent(normalised)))
    key = f"{percent(consumer_secret)}&{percent(token_secret)}"
    digest = hmac.new(key.encode("utf-8"), base.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def base_url(host: str, path: str, scheme: str = "http") -> str:
    """The base string URI: scheme and host lower case, the default port left out."""
    host = host.lower()
    default = ":80" if scheme == "http" else ":443"
    if host.endswith(default):
        host = host[: -len(default)]
    return f"{scheme}://{host}{path}"


# twitter-text v3: code points in these ranges weigh 1, every other 2; a URL weighs 23 whatever its
# length; an emoji (with its modifiers and joined parts) weighs 2; the limit is 280.
_LIGHT = ((0, 4351), (8192, 8205), (8208, 8223), (8242, 8247))
_URL = re.compile(r"https?://[^\s]+", re.IGNORECASE)
URL_WEIGHT = 23
TWEET_LIMIT = 280


def _weight(code: int) -> int:
    return 1 if any(low <= code <= high for low, high in _LIGHT) else 2


def _emoji(code: int) -> bool:
    return 0x1F000 <= code <= 0x1FAFF or 0x2600 <= code <= 0x27BF or 0x2B00 <= code <= 0x2BFF


def _modifier(code: int) -> bool:
    """What belongs to the emoji before it: variation selector 16, skin tones, tags, a keycap."""
    return code in (0xFE0F, 0x20E3) or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def weighted_length(text: str) -> int:
    """How X counts a tweet's length (an approximation of twitter-text's: emoji sequences are
    found by their code point ranges, not Unicode's full emoji data)."""
    text = unicodedata.normalize("NFC", text)
    total = 0
    for part_index, part in enumerate(_URL.split(text)):
        if part_index:
            total += URL_WEIGHT
        codes = [ord(char) for char in part]
        index = 0
        while index < len(codes):
            code = codes[index]
            if 0x1F1E6 <= code <= 0x1F1FF:  # a regional indicator: a pair is one flag
                total += 2
                index += 2 if index + 1 < len(codes) and 0x1F1E6 <= codes[index + 1] <= 0x1F1FF else 1
                continue
            if not _emoji(code):
                total += _weight(code)
                index += 1
                continue
            total += 2
            index += 1
            while index < len(codes):
                if _modifier(codes[index]):
                    index += 1
                elif codes[index] == 0x200D and index + 1 < len(codes):
                    index += 2  # joined to the next emoji: one picture
                else:
                    break
    return total
