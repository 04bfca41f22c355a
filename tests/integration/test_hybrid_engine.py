"""The hybrid engine as dependencies builds it (SOCIALCRM_NLP=hybrid), with the real offline
model: Comprehend (tools/fake_comprehend.py, at botocore's HTTP layer) is asked for the sentiment of
exactly the documents the model is unsure of, in the languages Comprehend analyses."""

from __future__ import annotations

import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE, client, reset_clients
from chalicelib.nlp.analysis import Analysis, Document
from chalicelib.nlp.hybrid import CONFIDENCE_THRESHOLD, HybridEngine
from chalicelib.nlp.local import LocalEngine
from tools.fake_comprehend import FakeComprehend

DOCUMENTS = [
    Document("I love the new plan, thank you so much!", "en"),
    Document("ok", "en"),
    Document("O pedido chegou hoje.", "pt"),
    Document("Gostei do produto, mas a entrega atrasou", "pt"),
    Document("The app works, I guess, but the update moved everything around", "en"),
    # two things at once, one of them half said: the model is unsure (the test asserts it has such a document)
    Document("O preço é bom, o app nem tanto", "pt"),
    Document("Objednávka přišla pozdě a nikdo to neřeší", "cs"),
    Document("Dostałem paczkę", "pl"),
]


def test_comprehend_answers_only_what_the_offline_model_is_unsure_of(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SOCIALCRM_NLP", "hybrid")
    dependencies.reset()
    reset_clients()
    try:
        fake = FakeComprehend().install(client("comprehend", WORKER_PROFILE), client("translate", WORKER_PROFILE))
        analyzer = dependencies.analyzer()
        assert isinstance(analyzer.engine, HybridEngine)
        results = analyzer.analyze(DOCUMENTS, redact=True)
    finally:
        dependencies.reset()
        reset_clients()
    local = LocalEngine()
    offline = [local.sentiments([document.text], document.language_hint)[0] for document in DOCUMENTS]
    unsure = [
        document.text
        for document, sentiment in zip(DOCUMENTS, offline, strict=True)
        if sentiment.confidence < CONFIDENCE_THRESHOLD and document.language_hint in ("en", "pt")
    ]
    assert unsure, "a document the offline model is unsure of, in a language Comprehend analyses"
    assert fake.documents["BatchDetectSentiment"] == len(unsure)
    assert fake.calls["TranslateText"] == 0  # Czech and Polish are the model's own
    assert fake.calls["BatchDetectDominantLanguage"] == 0  # every tag trusted here
    assert all(isinstance(result, Analysis) and result.engine == "hybrid" for result in results)
    for document, sentiment, result in zip(DOCUMENTS, offline, results, strict=True):
        assert isinstance(result, Analysis)
        if document.text not in unsure:
            assert result.sentiment == sentiment, document.text
