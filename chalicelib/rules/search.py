"""Finding a customer by what agents know of them, without keeping any of it in clear.

Every searchable value is normalised (below), then kept only as an HMAC-SHA256 of
`<kind>\\0<normalised value>` under the stage's `search_key` (docs/storage.md says why): the table
holds no name, handle, e-mail address or phone number that was not already in clear in the profile,
and without the key a hash cannot be tested against guesses. A query is normalised the same way and
hashed; equal hashes are the match.

Kinds and their normalisation:
- `name`: case and accents folded (`João` is `joao`), anything but letters and digits a space,
  apostrophes dropped (`O'Brien` is `obrien`). Indexed as prefixes (2 to WORD_PREFIX_MAX characters)
  of each word and prefixes (up to NAME_PREFIX_MAX) of the whole name, so `jo`, `silva` and
  `joao si` all find `João Silva`. A longer query is cut to those lengths.
- `handle`: without a leading `@`, case-folded; exact.
- `user`: the platform's user id, exact (whatever the platform).
- `email`: lower-cased; exact.
- `phone`: digits only (`+55 11 91234-5678` is `5511912345678`); a leading `00`, the international
  call prefix, reads as `+`. Exact: a number written without its country code matches only a query
  without it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable

from chalicelib.nlp import pii

NAME, HANDLE, USER, EMAIL, PHONE = "name", "handle", "user", "email", "phone"
KINDS = (NAME, HANDLE, USER, EMAIL, PHONE)
CONTACT_KINDS = (EMAIL, PHONE)  # found in messages' text; the ones that suggest links

MIN_QUERY = 2
WORD_PREFIX_MAX = 12
NAME_PREFIX_MAX = 24
MAX_VALUE = 256  # a longer handle or user id is no one's; a longer e-mail is not an address
PHONE_DIGITS = (7, 15)  # E.164 allows 15; fewer than 7 is no number worth matching
MAX_CONTACTS_PER_TEXT = 10

# Letters NFKD does not take apart into a base letter and a mark.
_LETTERS = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ð": "d", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th"})
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}")
_NOT_DIGIT = re.compile(r"\D")
_PHONE_PUNCTUATION = re.compile(r"[\s().+/-]")

Term = tuple[str, str]  # (kind, normalised value)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: `João` and `JOAO` are `joao`."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return bare.casefold().translate(_LETTERS)


def normalise_name(text: str) -> str:
    folded = _APOSTROPHES.sub("", fold(text))
    return " ".join("".join(char if char.isalnum() else " " for char in folded).split())


def normalise_handle(text: str) -> str:
    return fold(text.strip().removeprefix("@").strip())


def normalise_email(text: str) -> str:
    return unicodedata.normalize("NFKC", text.strip()).lower()


def normalise_phone(text: str) -> str:
    """Digits only; `00` in front (the international call prefix) is the same as `+`."""
    stripped = text.strip()
    digits = _NOT_DIGIT.sub("", stripped)
    if not stripped.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    return digits


def name_terms(name: str | None) -> set[str]:
    """The prefixes a name is found by: of each word, and of the whole name."""
    normalised = normalise_name(name or "")
    terms: set[str] = set()
    for word in normalised.split():
        terms.update(word[:length] for length in range(MIN_QUERY, min(len(word), WORD_PREFIX_MAX) + 1))
    whole = normalised[:NAME_PREFIX_MAX]
    terms.update(whole[:length] for length in range(MIN_QUERY, len(whole) + 1) if not whole[:length].endswith(" "))
    return terms


def profile_terms(user_id: str | None, handle: str | None, display_name: str | None) -> set[Term]:
    """What finds a customer by who they are on a platform."""
    terms: set[Term] = {(NAME, prefix) for prefix in name_terms(display_name)}
    if handle and (value := normalise_handle(handle)) and len(value) <= MAX_VALUE:
        terms.add((HANDLE, value))
    if user_id and (value := user_id.strip()) and len(value) <= MAX_VALUE:
        terms.add((USER, value))
    return terms


def contact_terms(texts: Iterable[str | None]) -> set[Term]:
    """The e-mail addresses and phone numbers the personal-data patterns find in a message (the same
    spans that are redacted before it is stored), at most MAX_CONTACTS_PER_TEXT."""
    found: set[Term] = set()
    for text in texts:
        if not text or not _may_hold_contact(text):
            continue
        for span in pii.find(text):
            value = text[span.begin : span.end]
            if span.type == "EMAIL":
                found.add((EMAIL, normalise_email(value)))
            elif span.type == "PHONE":
                digits = normalise_phone(value)
                if PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
                    found.add((PHONE, digits))
    return set(sorted(found)[:MAX_CONTACTS_PER_TEXT])


def _may_hold_contact(text: str) -> bool:
    """Most messages hold neither an `@` nor seven digits: spare them the patterns."""
    return "@" in text or sum(char.isdigit() for char in text) >= PHONE_DIGITS[0]


def query_terms(query: str) -> list[Term]:
    """Every kind a query could be: an address-shaped one an e-mail; one of mostly digits a phone
    number and a user id; anything else a name prefix, a handle and a user id (`@` in front: a
    handle only). Empty when nothing in it can match (fewer than MIN_QUERY characters)."""
    text = query.strip()
    if len(text) < MIN_QUERY or len(text) > MAX_VALUE:
        return []
    if _EMAIL.fullmatch(text):
        return [(EMAIL, normalise_email(text))]
    compact = _PHONE_PUNCTUATION.sub("", text)
    if compact and sum(char.isdigit() for char in compact) >= 0.8 * len(compact):
        terms: list[Term] = []
        digits = normalise_phone(text)
        if PHONE_DIGITS[0] <= len(digits) <= PHONE_DIGITS[1]:
            terms.append((PHONE, digits))
        return [*terms, (USER, text)]
    if text.startswith("@"):
        handle = normalise_handle(text)
        return [(HANDLE, handle)] if handle else []
    terms = []
    name = name_query(text)
    if name:
        terms.append((NAME, name))
    handle = normalise_handle(text)
    if handle:
        terms.append((HANDLE, handle))
    return [*terms, (USER, text)]


def name_query(text: str) -> str | None:
    """The indexed prefix a name query is looked up as: one word is a word's prefix (cut to
    WORD_PREFIX_MAX), several the whole name's (cut to NAME_PREFIX_MAX)."""
    normalised = normalise_name(text)
    if len(normalised) < MIN_QUERY:
        return None
    cap = WORD_PREFIX_MAX if " " not in normalised else NAME_PREFIX_MAX
    return normalised[:cap].rstrip()


def digest(key: bytes, kind: str, value: str) -> str:
    """The keyed hash a term is stored and looked up under (hex)."""
    return hmac.new(key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()
