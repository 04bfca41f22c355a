"""The hybrid engine: the offline analyzer answers, Comprehend only where it adds. The offline
model is a stand-in here (its confidence is the test's to choose); Comprehend is botocore's Stubber,
which fails any call it has no response queued for. tests/integration/test_hybrid_engine.py runs
the real offline model."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.nlp.analysis import Analysis, Document, Sentiment
from chalicelib.nlp.comprehend import CallPlan, ComprehendEngine
from chalicelib.nlp.engine import LanguageGuess
from chalicelib.nlp.hybrid import CONFIDENCE_THRESHOLD, HybridEngine
from chalicelib.nlp.pipeline import Analyzer
from chalicelib.nlp.text import names_any
from tests.comprehend_helpers import sentiment_response, targeted_response


class Offline:
    """Sentiment by a marker in the text: `sure` scores 0.9, `unsure` 0.4 (three labels)."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def analyses(self, language: str) -> bool:
        return language in ("en", "pt", "cs")

    def sentiments(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        self.asked.append([*texts, f"in {language}"])
        top = [0.4 if "unsure" in text else 0.9 for text in texts]
        return [
            Sentiment("POSITIVE", {"POSITIVE": t, "NEGATIVE": round((1 - t) / 2, 4), "NEUTRAL": round((1 - t) / 2, 4)})
            for t in top
        ]

    def detect_languages(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]:
        return [LanguageGuess("pt", 0.95) for _ in texts]


@pytest.fixture
def comprehend() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("comprehend", region_name="us-east-1")
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def hybrid(client: Any, offline: Offline, threshold: float = CONFIDENCE_THRESHOLD) -> Analyzer:
    plan = CallPlan(targeted=lambda text: names_any(text, ("nimbus mobile",)))
    engine = ComprehendEngine(client, concurrency=1, plan=plan, detector=offline.detect_languages)
    return Analyzer(HybridEngine(offline, engine, threshold))


def test_comprehend_gives_sentiment_only_where_the_offline_model_is_unsure(comprehend) -> None:
    client, stub = comprehend
    texts = ["o pedido chegou, sure", "o pedido chegou? unsure", "adorei, sure"]
    stub.add_response("batch_detect_sentiment", sentiment_response(1), {"TextList": [texts[1]], "LanguageCode": "pt"})
    results = hybrid(client, Offline()).analyze([Document(text) for text in texts], redact=False)
    assert [r.sentiment.label for r in results if isinstance(r, Analysis) and r.sentiment] == [
        "POSITIVE",
        "NEGATIVE",  # Comprehend's answer
        "POSITIVE",
    ]
    assert {r.engine for r in results if isinstance(r, Analysis)} == {"hybrid"}


def test_the_threshold_is_the_constructors(comprehend) -> None:
    client, _ = comprehend
    (result,) = hybrid(client, Offline(), threshold=0.3).analyze([Document("unsure", "pt")], redact=False)
    assert isinstance(result, Analysis)
    assert result.sentiment is not None
    assert result.sentiment.label == "POSITIVE"  # 0.4 clears 0.3: no call


def test_an_unsure_document_comprehend_cannot_analyse_keeps_the_offline_answer(comprehend) -> None:
    """Czech: Comprehend would need Translate first; the hybrid does not pay for that."""
    client, _ = comprehend
    offline = Offline()
    (result,) = hybrid(client, offline).analyze([Document("Objednávka nedorazila, unsure", "cs")], redact=False)
    assert isinstance(result, Analysis)
    assert (result.language, result.translated_text) == ("cs", None)
    assert result.sentiment is not None
    assert result.sentiment.confidence == 0.4
    assert offline.asked == [["Objednávka nedorazila, unsure", "in cs"]]


def test_a_language_the_offline_model_does_not_know_is_comprehends(comprehend) -> None:
    client, stub = comprehend
    text = "注文が届きません"
    stub.add_response("batch_detect_sentiment", sentiment_response(1), {"TextList": [text], "LanguageCode": "ja"})
    offline = Offline()
    (result,) = hybrid(client, offline).analyze([Document(text, "ja")], redact=False)
    assert isinstance(result, Analysis)
    assert result.sentiment is not None
    assert result.sentiment.label == "NEGATIVE"
    assert offline.asked == []


def test_a_named_competitor_gets_targeted_sentiment_even_when_the_model_is_sure(comprehend) -> None:
    """Entity-level sentiment is what only Comprehend gives: asked where a competitor is named
    (with entities, the name being capitalised); the confident sentiment is not asked again."""
    client, stub = comprehend
    text = "sure: moving to Nimbus Mobile next month"
    stub.add_response(
        "batch_detect_entities",
        {"ResultList": [{"Index": 0, "Entities": []}], "ErrorList": []},
        {
            "TextList": [text],
            "LanguageCode": "en",
        },
    )
    stub.add_response(
        "batch_detect_targeted_sentiment", targeted_response(1), {"TextList": [text], "LanguageCode": "en"}
    )
    (result,) = hybrid(client, Offline()).analyze([Document(text, "en")], redact=False)
    assert isinstance(result, Analysis)
    assert result.sentiment is not None
    assert result.sentiment.label == "POSITIVE"
    assert [t.label for t in result.targeted_sentiment] == ["NEGATIVE"]
