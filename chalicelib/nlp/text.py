"""Text helpers for API limits that count UTF-8 bytes."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from chalicelib.models.text import well_formed

_FOLD = str.maketrans({"ł": "l", "Ł": "l", "đ": "d", "ø": "o", "ß": "ss", "’": "'", "‘": "'", "`": "'"})


def truncate_utf8(text: str, max_bytes: int) -> str:
    """The longest prefix of well-formed `text` (see `for_api` for any other) that is at most
    `max_bytes` in UTF-8, cut between characters."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def for_api(text: str, max_bytes: int) -> str:
    """What an AWS text API can take: well-formed UTF-8 within its byte limit. The stored text
    keeps every character."""
    return truncate_utf8(well_formed(text), max_bytes)


def normalise_language(code: str | None) -> str | None:
    """`pt-BR` -> `pt`, `EN` -> `en`; Comprehend's `zh-TW` is kept, being a language of its own there."""
    if not code:
        return None
    code = code.strip().replace("_", "-")
    if code.lower() == "zh-tw":
        return "zh-TW"
    primary = code.split("-", 1)[0].lower()
    return primary if primary.isalpha() and 2 <= len(primary) <= 3 else None


def fold(text: str) -> str:
    """Lower case without diacritics: `Não` and `nao`, `Dziękuję` and `dziekuje` match alike."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD).lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


@cache
def whole_words(names: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    """One pattern per (folded) name that finds it as a whole word in folded text, as routing
    keywords match: a short name such as "O2" is not found in "o2o". Compiled once per set."""
    return tuple(re.compile(rf"(?<!\w){re.escape(name)}(?!\w)") for name in names)


def names_any(text: str, names: Iterable[str]) -> bool:
    """Whether the text names one of `names` (folded, as routing keeps its competitors)."""
    folded = fold(text)
    return any(pattern.search(folded) for pattern in whole_words(tuple(name for name in names if name)))
