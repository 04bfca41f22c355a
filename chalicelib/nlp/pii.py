"""Personal data found by pattern and checksum, in any language.

Comprehend detects personal data in English and Spanish only, and knows nothing of Brazilian CPF
or Polish PESEL numbers; these patterns run on every text, whichever engine analyses it. Numbers
count only when their check digits hold, so order numbers and prices are not mistaken for them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date

from chalicelib.nlp.analysis import PiiSpan

_DIGITS = re.compile(r"\D")


def _digits(text: str) -> str:
    return _DIGITS.sub("", text)


def luhn_valid(number: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(number)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _card(match: str) -> bool:
    digits = _digits(match)
    return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits)


def _iban(match: str) -> bool:
    compact = re.sub(r"\s", "", match).upper()
    if not compact[:2].isalpha():
        return False
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return int(numeric) % 97 == 1


def _cpf(match: str) -> bool:
    digits = [int(d) for d in _digits(match)]
    if len(digits) != 11 or len(set(digits)) == 1:
        return False
    for length in (9, 10):
        total = sum(d * w for d, w in zip(digits[:length], range(length + 1, 1, -1), strict=True))
        check = (total * 10) % 11 % 10
        if check != digits[length]:
            return False
    return True


def _pesel(match: str) -> bool:
    digits = [int(d) for d in match]
    weights = (1, 3, 7, 9, 1, 3, 7, 9, 1, 3)
    if (10 - sum(d * w for d, w in zip(digits, weights, strict=False)) % 10) % 10 != digits[10]:
        return False
    year, month, day = digits[0] * 10 + digits[1], digits[2] * 10 + digits[3], digits[4] * 10 + digits[5]
    century = {0: 1900, 20: 2000, 40: 2100, 60: 2200, 80: 1800}.get(month - month % 20)
    return century is not None and _is_date(century + year, month % 20, day)


def _rodne_cislo(match: str) -> bool:
    digits = _digits(match)
    if len(digits) == 10:
        number = int(digits)
        if number % 11 != 0 and not (int(digits[:9]) % 11 == 10 and digits[9] == "0"):
            return False
    elif len(digits) != 9:
        return False
    year, month, day = int(digits[0:2]), int(digits[2:4]), int(digits[4:6])
    for offset in (0, 20, 50, 70):
        if 1 <= month - offset <= 12:
            century = 1900 if len(digits) == 9 or year >= 54 else 2000
            return _is_date(century + year, month - offset, day)
    return False


def _dni(match: str) -> bool:
    compact = match.replace("-", "").replace(" ", "").upper()
    body = compact[:-1].replace("X", "0").replace("Y", "1").replace("Z", "2")
    return body.isdigit() and "TRWAGMYFPDXBNJZSQVHLCKE"[int(body) % 23] == compact[-1]


_CF_ODD = dict(
    zip(
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16,
         10, 22, 25, 24, 23],
        strict=True,
    )
)  # fmt: skip


def _codice_fiscale(match: str) -> bool:
    code = match.upper()
    total = 0
    for index, char in enumerate(code[:15]):
        if index % 2 == 0:
            total += _CF_ODD[char]
        else:
            total += int(char) if char.isdigit() else ord(char) - ord("A")
    return chr(ord("A") + total % 26) == code[15]


def _nrb(match: str) -> bool:
    """A Polish account number (NRB) is an IBAN without its `PL`: the same check digits."""
    return _iban("PL" + _digits(match))


def _nif(match: str) -> bool:
    digits = [int(d) for d in _digits(match)]
    remainder = sum(d * (9 - i) for i, d in enumerate(digits[:8])) % 11
    return digits[0] in (1, 2, 3, 5, 6, 8, 9) and (0 if remainder < 2 else 11 - remainder) == digits[8]


def _nip(match: str) -> bool:
    digits = [int(d) for d in _digits(match)]
    check = sum(d * w for d, w in zip(digits, (6, 5, 7, 2, 3, 4, 5, 6, 7), strict=False)) % 11
    return check != 10 and check == digits[9]


def _polish_id_card(match: str) -> bool:
    code = "".join(match.split()).upper()  # the pattern allows "ABC 123456"
    values = [ord(char) - 55 for char in code[:3]] + [int(char) for char in code[3:]]
    return sum(v * w for v, w in zip(values, (7, 3, 1, 9, 7, 3, 1, 7, 3), strict=True)) % 10 == 0


def _cnpj(match: str) -> bool:
    digits = [int(d) for d in _digits(match)]
    if len(set(digits)) == 1:
        return False
    weights = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
    for position, factors in ((12, weights), (13, [6, *weights])):
        check = 11 - sum(d * w for d, w in zip(digits, factors, strict=False)) % 11
        if (0 if check >= 10 else check) != digits[position]:
            return False
    return True


def _ssn(match: str) -> bool:
    digits = _digits(match)[-9:]
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if digits in ("123456789", "078051120"):  # printed in adverts and wallets: not anyone's
        return False
    return area not in ("000", "666") and not area.startswith("9") and group != "00" and serial != "0000"


def _is_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _always(match: str) -> bool:
    return True


# Words that say "the number that follows is ...": bare digits count only after one of them.
_PHONE_WORDS = (
    r"tel|telefone|telefon|telefono|teléfono|phone|fone|celular|cel|móvil|movil|cellulare|cell|mobile|"
    r"whats ?app|zadzwoń|zadzwon|komórka|komorka|mobil"
)
_DIGITS_AFTER = r"[^\w+]{0,3}(?:\w+[^\w+]{1,3}){0,2}"  # "tel:", "my phone is", "número do celular:"

# (type, pattern, validator): earlier entries win when matches overlap. A rule's `pii` group,
# where it has one, is the span; the rest of the match is the context that made it count.
_RULES: list[tuple[str, re.Pattern[str], Callable[[str], bool]]] = [
    # The local part is bounded (64, as RFC 5321 allows): unbounded, every position of a long run of
    # word characters would be scanned to its end (seconds for a 50,000-letter text).
    ("EMAIL", re.compile(r"[\w.%+-]{1,64}@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}"), _always),
    ("IBAN", re.compile(r"\b[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]{4}){2,7}(?:[ ]?[A-Za-z0-9]{1,4})?\b"), _iban),
    ("IBAN", re.compile(r"(?<![\d-])\d{2}(?:[ ]?\d{4}){6}(?![\d-])"), _nrb),
    (
        "CREDIT_CARD",
        re.compile(r"(?<![\d-])(?:\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}|3[47]\d{2}[ -]?\d{6}[ -]?\d{5})(?![\d-])"),
        _card,
    ),
    ("CNPJ", re.compile(r"(?<![\d./-])\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}(?![\d./-])"), _cnpj),
    (
        "CODICE_FISCALE",
        re.compile(r"\b[A-Za-z]{6}\d{2}[A-EHLMPR-Ta-ehlmpr-t]\d{2}[A-Za-z]\d{3}[A-Za-z]\b"),
        _codice_fiscale,
    ),
    ("CPF", re.compile(r"(?<![\d.-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d.-])"), _cpf),
    ("PESEL", re.compile(r"(?<!\d)\d{11}(?!\d)"), _pesel),
    # Nine-digit (pre-1954) numbers have no check digit: only in their slashed form.
    ("RODNE_CISLO", re.compile(r"(?<![\d/])(?:\d{6}/\d{3,4}|\d{10})(?![\d/])"), _rodne_cislo),
    ("DNI", re.compile(r"(?<![\w-])(?:\d{8}|[XYZxyz]\d{7})-?[A-Za-z](?!\w)"), _dni),
    ("ID_CARD", re.compile(r"\b[A-Za-z]{3}\s?\d{6}\b"), _polish_id_card),
    ("NIP", re.compile(r"(?<![\d-])\d{3}-\d{3}-\d{2}-\d{2}(?![\d-])"), _nip),
    ("NIP", re.compile(r"(?i:\bnip)\D{0,12}(?P<pii>\d{10})(?!\d)"), _nip),
    ("NIF", re.compile(r"(?i:\bnif|contribuinte)\D{0,24}(?P<pii>\d{9})(?!\d)"), _nif),
    ("SSN", re.compile(r"(?<![\d-])\d{3}([- ])\d{2}\1\d{4}(?![\d-])"), _ssn),
    # Nine bare digits are an SSN only when the text says so just before.
    ("SSN", re.compile(r"(?i:ssn|social security(?: number)?|soc\.? sec\.?)\D{0,24}(?P<pii>\d{9})(?!\d)"), _ssn),
    (
        "PHONE",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,5}(?:[ .-]?\d{2,5}){1,3}"
            r"|\(\d{2,4}\)[ .-]?\d{3,5}[ .-]?\d{4}"
            r"|\d{2,3}[ .-]\d{4,5}[ .-]\d{4}"
            r"|\d{3}([ .-])\d{3}\1\d{4}"
            r"|\d{3} \d{3} \d{3}"
            r"|[4-9]\d{2}-\d{3}-\d{3}"  # dashed nine digits: mobiles start 4-9, order numbers anywhere
            r"|\d{3} \d{2} \d{2} \d{2}"
            r"|\d{3} \d{6,7})(?![\w])"
        ),
        lambda match: 8 <= len(_digits(match)) <= 15,
    ),
    (
        "PHONE",
        re.compile(rf"(?i:\b(?:{_PHONE_WORDS})){_DIGITS_AFTER}(?P<pii>\+?\d{{9,13}})(?!\d)"),
        _always,
    ),
]


def _candidates(text: str) -> Iterator[tuple[int, int, int, str]]:
    """A rule's `pii` group, where it has one, is the span; the rest of its match is context."""
    for priority, (kind, pattern, valid) in enumerate(_RULES):
        group = "pii" if "pii" in pattern.groupindex else 0
        for match in pattern.finditer(text):
            if valid(match.group(group)):
                yield match.start(group), match.end(group), priority, kind


def find(text: str) -> list[PiiSpan]:
    """Non-overlapping spans, in text order; a longer or higher-priority match wins an overlap."""
    chosen: list[tuple[int, int, int, str]] = []
    for candidate in sorted(_candidates(text), key=lambda c: (c[2], c[0] - c[1])):
        start, end = candidate[0], candidate[1]
        if all(end <= other[0] or start >= other[1] for other in chosen):
            chosen.append(candidate)
    return [PiiSpan(kind, start, end) for start, end, _, kind in sorted(chosen)]


def merge(*groups: list[PiiSpan]) -> list[PiiSpan]:
    """Spans from several detectors, overlaps resolved in favour of the earlier group."""
    chosen: list[PiiSpan] = []
    for group in groups:
        for span in group:
            if all(span.end <= other.begin or span.begin >= other.end for other in chosen):
                chosen.append(span)
    return sorted(chosen, key=lambda span: span.begin)


def redact(text: str, spans: list[PiiSpan]) -> str:
    """Each span replaced by `[TYPE]`, so the stored text still reads naturally."""
    parts, cursor = [], 0
    for span in sorted(spans, key=lambda s: s.begin):
        if span.begin < cursor:
            continue
        parts.append(text[cursor : span.begin])
        parts.append(f"[{span.type}]")
        cursor = span.end
    parts.append(text[cursor:])
    return "".join(parts)
