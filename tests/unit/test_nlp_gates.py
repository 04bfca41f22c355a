"""The cheap checks that decide which documents a paid Comprehend call is worth (nlp/gates.py)."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigError, Settings
from chalicelib.nlp.gates import may_hold_personal_data, may_name
from chalicelib.nlp.text import names_any


@pytest.mark.parametrize(
    "text",
    [
        "Falei com o Rafael ontem",
        "Rafael was rude to me",  # a name starting the sentence
        "my order from IKEA never came",
        "I'm moving to Nimbus Mobile",
        "hablé con maría y nada",  # lower case, after an introduction
        "Objednávka z Alza nepřišla",
    ],
)
def test_texts_that_could_name_someone_or_something_open_the_entity_check(text: str) -> None:
    assert may_name(text)


@pytest.mark.parametrize(
    "text",
    [
        "Olá, o meu pedido chegou atrasado (#12)",
        "Hello, my order is late again and I'm angry",
        "Dzień dobry, moje zamówienie przyszło późno",
        "write to Ana.Souza@example.com or [PHONE]",  # the patterns' finds and placeholders
        "thanks @LuminaTelecom #fail",  # handles and hashtags are the rules'
        "",
    ],
)
def test_texts_that_name_nothing_keep_it_shut(text: str) -> None:
    assert not may_name(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my address is 12 baker street", True),
        ("mi contraseña es gato123", True),
        ("I was born in 1984", True),
        ("my router at 192.168.0.1 is down", True),
        ("send it to 12 main rd. please", True),  # an abbreviation with its dot
        ("5 Elm st., flat 2", True),
        ("the first step, then the 1st place", False),
        ("call me on +1 415 555 0100 or mail ana@example.com", False),  # the patterns find these
        ("my parcel is late", False),
    ],
)
def test_personal_data_detection_only_for_what_the_patterns_cannot_find(text: str, expected: bool) -> None:
    assert may_hold_personal_data(text) is expected


def test_competitors_are_recognised_as_decide_recognises_them() -> None:
    competitors = ("nimbus mobile", "kappa bank")
    assert names_any("Switching to NIMBUS Mobile!", competitors)
    assert names_any("a Kappa Bank é melhor", competitors)
    assert not names_any("nimbus mobiles are not a bank", competitors)
    assert not names_any("anything", ())


def test_hybrid_is_an_engine_the_settings_accept() -> None:
    base = {"SOCIALCRM_INGEST_QUEUE_URL": "https://queue", "SOCIALCRM_SECRETS_ID": "s"}
    assert Settings.from_env({**base, "SOCIALCRM_NLP": "hybrid"}).nlp == "hybrid"
    with pytest.raises(ConfigError, match="comprehend, hybrid, local"):
        Settings.from_env({**base, "SOCIALCRM_NLP": "other"})
