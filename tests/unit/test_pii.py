"""Pattern-based personal data detection: valid numbers found in their usual formats, look-alikes
with wrong check digits left alone, redaction that keeps the text readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chalicelib.nlp import pii
from chalicelib.nlp.analysis import PiiSpan

LABELLED = Path(__file__).resolve().parent.parent / "data" / "nlp" / "labelled_posts.jsonl"


def found(text: str) -> list[tuple[str, str]]:
    return [(span.type, text[span.begin : span.end]) for span in pii.find(text)]


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("escreve para ana.souza+loja@example.com.br por favor", "EMAIL", "ana.souza+loja@example.com.br"),
        ("meu CPF é 529.982.247-25", "CPF", "529.982.247-25"),
        ("cpf 52998224725 ok", "CPF", "52998224725"),
        ("PESEL: 44051401359", "PESEL", "44051401359"),
        ("rodné číslo 780123/0008", "RODNE_CISLO", "780123/0008"),
        ("rč 7801230008", "RODNE_CISLO", "7801230008"),
        ("mi DNI es 12345678Z", "DNI", "12345678Z"),
        ("NIE X1234567L", "DNI", "X1234567L"),
        ("codice fiscale RSSMRA85T10A562S", "CODICE_FISCALE", "RSSMRA85T10A562S"),
        ("IBAN GB82 WEST 1234 5698 7654 32 please", "IBAN", "GB82 WEST 1234 5698 7654 32"),
        ("iban DE89370400440532013000", "IBAN", "DE89370400440532013000"),
        ("card 4111 1111 1111 1111 expired", "CREDIT_CARD", "4111 1111 1111 1111"),
        ("amex 3782 822463 10005", "CREDIT_CARD", "3782 822463 10005"),
        ("SSN 536-22-1144", "SSN", "536-22-1144"),
        ("my social security number is 536221144", "SSN", "536221144"),
        ("liga +55 11 91234-5678 depois", "PHONE", "+55 11 91234-5678"),
        ("call (202) 555-0147", "PHONE", "(202) 555-0147"),
        ("llámame al 655 12 34 56", "PHONE", "655 12 34 56"),
        ("zadzwoń 601 234 567", "PHONE", "601 234 567"),
        ("zadzwoń 600-123-456", "PHONE", "600-123-456"),
        ("o meu telemóvel: tel 912345678", "PHONE", "912345678"),
        ("Meu celular é 11987654321", "PHONE", "11987654321"),
        ("józef.wiśniewski@poczta.pl napisz", "EMAIL", "józef.wiśniewski@poczta.pl"),
        ("przelew 61 1090 1014 0000 0712 1981 2874", "IBAN", "61 1090 1014 0000 0712 1981 2874"),
        ("iban gb82 west 1234 5698 7654 32", "IBAN", "gb82 west 1234 5698 7654 32"),
        ("NIF 123456789 para a fatura", "NIF", "123456789"),
        ("NIP: 123-456-32-18", "NIP", "123-456-32-18"),
        ("nip 1234563218", "NIP", "1234563218"),
        ("dowód ABC523456", "ID_CARD", "ABC523456"),
        ("CNPJ 11.222.333/0001-81", "CNPJ", "11.222.333/0001-81"),
    ],
)
def test_valid_personal_data_is_found(text: str, kind: str, value: str) -> None:
    assert found(text) == [(kind, value)]


@pytest.mark.parametrize(
    ("text", "addresses"),
    [
        ("do jan@firma.pl,anna@firma.pl", ["jan@firma.pl", "anna@firma.pl"]),
        ("me@x.io+you@y.io", ["me@x.io", "+you@y.io"]),
        ("jan@firma.pl-anna@firma.pl", ["jan@firma.pl", "-anna@firma.pl"]),
        ("x" * 70 + "@example.com", ["x" * 64 + "@example.com"]),  # a local part has at most 64 characters
    ],
)
def test_addresses_next_to_each_other_are_each_found(text: str, addresses: list[str]) -> None:
    assert found(text) == [("EMAIL", address) for address in addresses]


@pytest.mark.parametrize(
    "text",
    [
        "pedido #4821337 chegou",
        "tracking BR123456789XX",
        "R$ 1.299,90 no cartão",
        "entrega 12/03/2025 às 14:30",
        "CPF 529.982.247-26",  # wrong check digit
        "card 4111 1111 1111 1112",  # fails Luhn
        "PESEL 44051401358",  # wrong check digit
        "DNI 12345678A",  # wrong letter
        "order 412678890",  # nine digits with no SSN context
        "SSN 123-45-6789",  # the advertising number
        "protocolo 123.456.789",
        "v2.3.11 release",
        "pedido 123-456-789",  # dashed nine digits not starting like a mobile
        "zamówienie 600123456",  # bare digits with no phone word before them
        "numer zamówienia: 600123456",
        "fatura 123456789",  # a valid NIF shape, but nothing says it is one
        "dowód ABC123456",  # wrong check digit
        "CNPJ 11.222.333/0001-82",
    ],
)
def test_look_alikes_are_not_personal_data(text: str) -> None:
    assert found(text) == []


def test_an_iban_is_not_also_read_as_a_card() -> None:
    text = "przelew na PL61 1090 1014 0000 0712 1981 2874"
    assert found(text) == [("IBAN", "PL61 1090 1014 0000 0712 1981 2874")]


def test_redaction_replaces_each_span_with_its_type() -> None:
    text = "Oi, sou a Ana, CPF 529.982.247-25, email ana@example.com"
    assert pii.redact(text, pii.find(text)) == "Oi, sou a Ana, CPF [CPF], email [EMAIL]"


def test_merge_prefers_the_first_detector_on_overlaps() -> None:
    engine = [PiiSpan("NAME", 0, 9)]
    patterns = [PiiSpan("EMAIL", 5, 20), PiiSpan("PHONE", 30, 40)]
    assert pii.merge(engine, patterns) == [PiiSpan("NAME", 0, 9), PiiSpan("PHONE", 30, 40)]


def test_labelled_posts_personal_data_is_found_exactly() -> None:
    """The independent labelled set: every planted item found, nothing else (59 items)."""
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    missed, extra = [], []
    for row in rows:
        want = {(item["type"], item["text"]) for item in row["pii"]}
        got = set(found(row["text"]))
        missed += [(row["id"], *item) for item in want - got]
        extra += [(row["id"], *item) for item in got - want]
    assert (missed, extra) == ([], [])
    assert sum(len(row["pii"]) for row in rows) >= 50


def test_three_letters_a_space_and_six_digits_are_checked_not_crashed_on() -> None:
    """The Polish ID card pattern allows a space after the letters; its check digit used to read
    that space as a digit and raise, failing the whole analysis of a text such as this."""
    assert pii.find("how many dollars can i exchange for 100000 yen") == []
    assert [span.type for span in pii.find("dowód ABA 300000")] == ["ID_CARD"]
