"""The Comprehend engine through the analysis pipeline, against botocore's Stubber with responses
shaped as the Comprehend and Translate API references document them (moto's Comprehend is canned
and lacks the batch APIs; moto has no Translate).

A Stubber fails any call it has no response queued for, and the fixture fails a queued response
left unused: each test states exactly which paid calls its documents are worth (the call plan,
nlp/comprehend.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document
from chalicelib.nlp.comprehend import BATCH_DOCUMENT_BYTES, CallPlan, ComprehendEngine
from chalicelib.nlp.engine import LanguageGuess
from chalicelib.nlp.pipeline import Analyzer
from tests.comprehend_helpers import (
    EVERY_CALL,
    entities_response,
    key_phrases_response,
    sentiment_response,
    targeted_response,
)


class Stubs:
    def __init__(self, comprehend: Stubber, translate: Stubber, clients: tuple[Any, Any]) -> None:
        self.comprehend, self.translate, self._clients = comprehend, translate, clients

    def analyzer(self, plan: CallPlan | None = None, detector: Any = None) -> Analyzer:
        return Analyzer(ComprehendEngine(*self._clients, concurrency=1, plan=plan, detector=detector))


@pytest.fixture
def stubbed() -> Iterator[Stubs]:
    comprehend = boto3.client("comprehend", region_name="us-east-1")
    translate = boto3.client("translate", region_name="us-east-1")
    with Stubber(comprehend) as comprehend_stub, Stubber(translate) as translate_stub:
        yield Stubs(comprehend_stub, translate_stub, (comprehend, translate))
        comprehend_stub.assert_no_pending_responses()
        translate_stub.assert_no_pending_responses()


@pytest.fixture
def stubs(stubbed: Stubs) -> tuple[Analyzer, Stubber, Stubber]:
    """Every call for every document (EVERY_CALL): the engine's mechanics, whatever the plan."""
    return stubbed.analyzer(EVERY_CALL), stubbed.comprehend, stubbed.translate


def expect_insights(stub: Stubber, texts: list[str], language: str) -> None:
    """Every batch call for one language (EVERY_CALL), in the order the engine makes them with
    concurrency 1."""
    for start in range(0, len(texts), 25):
        chunk = texts[start : start + 25]
        params = {"TextList": chunk, "LanguageCode": language}
        stub.add_response("batch_detect_sentiment", sentiment_response(len(chunk)), params)
    for start in range(0, len(texts), 25):
        chunk = texts[start : start + 25]
        stub.add_response(
            "batch_detect_entities", entities_response(len(chunk)), {"TextList": chunk, "LanguageCode": language}
        )
    for start in range(0, len(texts), 25):
        chunk = texts[start : start + 25]
        stub.add_response(
            "batch_detect_key_phrases", key_phrases_response(len(chunk)), {"TextList": chunk, "LanguageCode": language}
        )
    if language == "en":
        for start in range(0, len(texts), 25):
            chunk = texts[start : start + 25]
            stub.add_response(
                "batch_detect_targeted_sentiment",
                targeted_response(len(chunk)),
                {"TextList": chunk, "LanguageCode": language},
            )


def test_documents_are_batched_by_language_in_groups_of_25(stubs) -> None:
    analyzer, comprehend, _ = stubs
    portuguese = [f"O pedido {i} chegou atrasado" for i in range(30)]
    italian = [f"Il pacco {i} è arrivato rotto" for i in range(3)]
    expect_insights(comprehend, portuguese, "pt")
    expect_insights(comprehend, italian, "it")
    documents = [Document(text, "pt") for text in portuguese] + [Document(text, "it") for text in italian]
    results = analyzer.analyze(documents, redact=False)
    assert all(isinstance(result, Analysis) for result in results)
    first = results[0]
    assert isinstance(first, Analysis)
    assert (first.language, first.sentiment and first.sentiment.label, first.engine) == ("pt", "NEGATIVE", "comprehend")
    assert first.sentiment is not None
    assert first.sentiment.scores["NEGATIVE"] == 0.95
    assert [e.text for e in first.entities] == ["Lumina"]
    assert [k.text for k in first.key_phrases] == ["the router"]
    assert first.targeted_sentiment == ()


def test_long_texts_are_cut_to_5000_bytes_between_characters(stubs) -> None:
    analyzer, comprehend, _ = stubs
    text = "Objednávka č. 7 — " + "žluťoučký kůň " * 600
    assert len(text.encode()) > BATCH_DOCUMENT_BYTES
    cut = text.encode()[:BATCH_DOCUMENT_BYTES].decode("utf-8", "ignore")
    assert len(cut.encode()) <= BATCH_DOCUMENT_BYTES
    comprehend.add_response("batch_detect_sentiment", sentiment_response(1), {"TextList": [cut], "LanguageCode": "it"})
    comprehend.add_response("batch_detect_entities", entities_response(1), {"TextList": [cut], "LanguageCode": "it"})
    comprehend.add_response(
        "batch_detect_key_phrases", key_phrases_response(1), {"TextList": [cut], "LanguageCode": "it"}
    )
    (result,) = analyzer.analyze([Document(text, "it")], redact=False)
    assert isinstance(result, Analysis)


def test_czech_is_translated_to_english_first_and_both_texts_are_kept(stubs) -> None:
    analyzer, comprehend, translate = stubs
    original = "Router nefunguje už třetí den, jsem naštvaný."
    english = "The router has not worked for three days, I am angry."
    translate.add_response(
        "translate_text",
        {"TranslatedText": english, "SourceLanguageCode": "cs", "TargetLanguageCode": "en"},
        {"Text": original, "SourceLanguageCode": "cs", "TargetLanguageCode": "en"},
    )
    expect_insights(comprehend, [english], "en")
    (result,) = analyzer.analyze([Document(original, "cs")], redact=False)
    assert isinstance(result, Analysis)
    assert (result.language, result.translated_text) == ("cs", english)
    assert result.sentiment is not None
    assert result.sentiment.label == "NEGATIVE"
    assert [(t.text, t.label) for t in result.targeted_sentiment] == [("router", "NEGATIVE")]


def test_languages_are_detected_when_no_hint_is_trusted(stubs) -> None:
    analyzer, comprehend, _ = stubs
    texts = ["Onde está o meu pedido? Já faz duas semanas.", "Dónde está mi pedido, por favor?", "??? !!! ..."]
    comprehend.add_response(
        "batch_detect_dominant_language",
        {
            "ResultList": [
                {
                    "Index": 0,
                    "Languages": [{"LanguageCode": "pt", "Score": 0.99}, {"LanguageCode": "es", "Score": 0.01}],
                }
            ],
            "ErrorList": [
                {"Index": 1, "ErrorCode": "INTERNAL_SERVER_ERROR", "ErrorMessage": "Internal server error"},
                {"Index": 2, "ErrorCode": "UNSUPPORTED_LANGUAGE", "ErrorMessage": "Unsupported language"},
            ],
        },
        {"TextList": texts},
    )
    expect_insights(comprehend, texts[:1], "pt")
    first, second, third = analyzer.analyze([Document(text) for text in texts], redact=False)
    assert isinstance(first, Analysis)
    assert (first.language, first.language_score) == ("pt", 0.99)
    assert isinstance(second, AnalysisFailed)  # a server error: worth another delivery
    assert isinstance(third, Analysis)  # refused for what it is: kept, without analysis
    assert (third.language, third.sentiment, third.notes) == (
        None,
        None,
        ("language not detected: UNSUPPORTED_LANGUAGE",),
    )


def test_personal_data_is_found_redacted_and_never_sent_on(stubs) -> None:
    analyzer, comprehend, _ = stubs
    text = "I am Ana Souza, write to ana@example.com or call +1 415 555 0100"
    comprehend.add_response(
        "detect_pii_entities",
        {
            "Entities": [
                {"Score": 0.99, "Type": "NAME", "BeginOffset": 5, "EndOffset": 14},
                {"Score": 0.99, "Type": "EMAIL", "BeginOffset": 25, "EndOffset": 40},
            ]
        },
        {"Text": text, "LanguageCode": "en"},
    )
    redacted = "I am [NAME], write to [EMAIL] or call [PHONE]"
    expect_insights(comprehend, [redacted], "en")
    (result,) = analyzer.analyze([Document(text, "en")], redact=True)
    assert isinstance(result, Analysis)
    assert result.redacted_text == redacted
    assert result.pii_types == ["EMAIL", "NAME", "PHONE"]


def test_a_failing_chunk_fails_only_its_own_documents(stubs) -> None:
    analyzer, comprehend, _ = stubs
    texts = [f"Il servizio {i} non funziona" for i in range(27)]
    comprehend.add_response(
        "batch_detect_sentiment", sentiment_response(25, errors=(3,)), {"TextList": texts[:25], "LanguageCode": "it"}
    )
    comprehend.add_client_error("batch_detect_sentiment", "ThrottlingException", "Rate exceeded", 400)
    comprehend.add_response(
        "batch_detect_entities", entities_response(25), {"TextList": texts[:25], "LanguageCode": "it"}
    )
    comprehend.add_response(
        "batch_detect_entities", entities_response(2), {"TextList": texts[25:], "LanguageCode": "it"}
    )
    comprehend.add_response(
        "batch_detect_key_phrases", key_phrases_response(25), {"TextList": texts[:25], "LanguageCode": "it"}
    )
    comprehend.add_response(
        "batch_detect_key_phrases", key_phrases_response(2), {"TextList": texts[25:], "LanguageCode": "it"}
    )
    results = analyzer.analyze([Document(text, "it") for text in texts], redact=False)
    failed = [index for index, result in enumerate(results) if isinstance(result, AnalysisFailed)]
    assert failed == [3, 25, 26]


def test_an_unsupported_translation_pair_keeps_the_language_without_sentiment(stubs) -> None:
    analyzer, _, translate = stubs
    translate.add_client_error(
        "translate_text",
        "UnsupportedLanguagePairException",
        "no such pair",
        400,
        expected_params={"Text": ANY, "SourceLanguageCode": "zu", "TargetLanguageCode": "en"},
    )
    (result,) = analyzer.analyze([Document("Sawubona, ngicela usizo", "zu")], redact=False)
    assert isinstance(result, Analysis)
    assert (result.language, result.sentiment, result.notes) == ("zu", None, ("no analysis for language zu",))


def test_a_call_refused_for_one_document_is_retried_document_by_document(stubs) -> None:
    analyzer, comprehend, _ = stubs
    texts = ["Servizio ottimo", "\ufffd\ufffd", "Consegna veloce"]
    comprehend.add_client_error("batch_detect_sentiment", "InvalidRequestException", "Invalid document", 400)
    for text in texts:
        if text.startswith("\ufffd"):
            comprehend.add_client_error("batch_detect_sentiment", "InvalidRequestException", "Invalid document", 400)
        else:
            comprehend.add_response(
                "batch_detect_sentiment", sentiment_response(1), {"TextList": [text], "LanguageCode": "it"}
            )
    comprehend.add_response("batch_detect_entities", entities_response(3), {"TextList": texts, "LanguageCode": "it"})
    comprehend.add_response(
        "batch_detect_key_phrases", key_phrases_response(3), {"TextList": texts, "LanguageCode": "it"}
    )
    first, second, third = analyzer.analyze([Document(text, "it") for text in texts], redact=False)
    assert isinstance(first, Analysis)
    assert first.sentiment is not None
    assert isinstance(second, Analysis)
    assert (second.sentiment, second.notes) == (None, ("analysis refused: InvalidRequestException",))
    assert isinstance(third, Analysis)
    assert third.sentiment is not None


def test_lone_surrogates_are_sent_as_replacement_characters(stubs) -> None:
    analyzer, comprehend, _ = stubs
    sent = {"TextList": ["ok \ufffd ok"], "LanguageCode": "pt"}
    comprehend.add_response("batch_detect_sentiment", sentiment_response(1), sent)
    comprehend.add_response("batch_detect_entities", entities_response(1), sent)
    comprehend.add_response("batch_detect_key_phrases", key_phrases_response(1), sent)
    (result,) = analyzer.analyze([Document("ok \ud83d ok", "pt")], redact=False)
    assert isinstance(result, Analysis)


def test_throttled_personal_data_detection_fails_the_document_for_a_retry(stubs) -> None:
    analyzer, comprehend, _ = stubs
    comprehend.add_client_error("detect_pii_entities", "TooManyRequestsException", "Rate exceeded", 400)
    (result,) = analyzer.analyze([Document("Call me on my mobile please", "en")], redact=True)
    assert isinstance(result, AnalysisFailed)
    assert str(result) == "personal data detection: TooManyRequestsException"


def test_refused_personal_data_detection_falls_back_to_the_patterns(stubs) -> None:
    analyzer, comprehend, _ = stubs
    comprehend.add_client_error("detect_pii_entities", "TextSizeLimitExceededException", "too long", 400)
    expect_insights(comprehend, ["write to [EMAIL]"], "en")
    (result,) = analyzer.analyze([Document("write to ana@example.com", "en")], redact=True)
    assert isinstance(result, Analysis)
    assert result.redacted_text == "write to [EMAIL]"
    assert result.notes == ("personal data detection refused: TextSizeLimitExceededException; patterns only",)


def test_throttled_translation_fails_the_document_for_a_retry(stubs) -> None:
    analyzer, _, translate = stubs
    translate.add_client_error("translate_text", "ThrottlingException", "Rate exceeded", 400)
    (result,) = analyzer.analyze([Document("Zamówienie nie dotarło", "pl")], redact=False)
    assert isinstance(result, AnalysisFailed)
    assert str(result) == "translation: ThrottlingException"


def test_names_found_as_people_are_redacted_in_languages_without_pii_detection(stubs) -> None:
    analyzer, comprehend, _ = stubs
    text = "Falei com o Rafael Costa duas vezes e o Rafael Costa não resolveu"
    sent = {"TextList": [text], "LanguageCode": "pt"}
    comprehend.add_response("batch_detect_sentiment", sentiment_response(1), sent)
    person = {"Score": 0.99, "Type": "PERSON", "Text": "Rafael Costa", "BeginOffset": 12, "EndOffset": 24}
    brand = {"Score": 0.95, "Type": "ORGANIZATION", "Text": "Lumina", "BeginOffset": 0, "EndOffset": 6}
    comprehend.add_response(
        "batch_detect_entities", {"ResultList": [{"Index": 0, "Entities": [person, brand]}], "ErrorList": []}, sent
    )
    phrases = [
        {"Score": 0.9, "Text": "o Rafael Costa", "BeginOffset": 10, "EndOffset": 24},
        {"Score": 0.9, "Text": "duas vezes", "BeginOffset": 25, "EndOffset": 35},
    ]
    comprehend.add_response(
        "batch_detect_key_phrases", {"ResultList": [{"Index": 0, "KeyPhrases": phrases}], "ErrorList": []}, sent
    )
    (result,) = analyzer.analyze([Document(text, "pt")], redact=True)
    assert isinstance(result, Analysis)
    assert result.redacted_text == "Falei com o [NAME] duas vezes e o [NAME] não resolveu"
    assert result.pii_types == ["NAME"]
    assert [e.text for e in result.entities] == ["Lumina"]
    assert [k.text for k in result.key_phrases] == ["duas vezes"]


def test_identical_texts_in_a_batch_are_analysed_and_billed_once(stubs) -> None:
    """A broadcast reply or a copy-paste campaign: the stubs expect each distinct text once (a
    second call would find no response and fail), and every copy gets the same analysis."""
    analyzer, comprehend, _ = stubs
    campaign = "Quero cancelar o meu plano, o serviço é péssimo"
    expect_insights(comprehend, [campaign, "Onde está a minha encomenda?"], "pt")
    documents = [Document(campaign, "pt")] * 5 + [
        Document("Onde está a minha encomenda?", "pt"),
        Document(campaign, "pt"),
    ]
    results = analyzer.analyze(documents, redact=False)
    assert len(results) == 7
    assert all(isinstance(result, Analysis) for result in results)
    assert len({id(result) for result in results}) == 2
    assert results[0] is results[6]


# --- The call plan: which documents each paid call is worth (issue 12) ---------------------------


def test_documents_that_name_nothing_cost_one_sentiment_call_and_no_more(stubbed: Stubs) -> None:
    """Hinted, nothing capitalised but stop words, no competitor, no personal data: sentiment is the
    only call (a Stubber fails any other); entities and key phrases come from the offline rules."""
    texts = ["O pedido 123456 chegou atrasado, #demora", "Olá, a caixa veio amassada"]
    stubbed.comprehend.add_response(
        "batch_detect_sentiment", sentiment_response(2), {"TextList": texts, "LanguageCode": "pt"}
    )
    first, second = stubbed.analyzer().analyze([Document(text, "pt") for text in texts], redact=True)
    assert isinstance(first, Analysis)
    assert isinstance(second, Analysis)
    assert first.sentiment is not None
    assert first.sentiment.label == "NEGATIVE"
    assert {(e.type, e.text) for e in first.entities} == {("OTHER", "123456"), ("OTHER", "#demora")}
    assert [k.text for k in second.key_phrases] == ["caixa veio amassada"]


def test_the_offline_detector_answers_and_comprehend_detects_only_what_it_is_unsure_of(stubbed: Stubs) -> None:
    """Hinted documents are detected by nobody; of the untagged, only the one the offline detector
    scores under LANGUAGE_CONFIDENCE goes to BatchDetectDominantLanguage."""
    sure, unsure, hinted = "Onde está o meu pedido, já faz duas semanas", "ok ok", "Il pacco è arrivato rotto"
    asked: list[list[str]] = []

    def detector(texts: Any) -> list[LanguageGuess | Exception]:
        asked.append(list(texts))
        return [LanguageGuess("pt", 0.97) if text == sure else LanguageGuess("en", 0.2) for text in texts]

    stubbed.comprehend.add_response(
        "batch_detect_dominant_language",
        {"ResultList": [{"Index": 0, "Languages": [{"LanguageCode": "es", "Score": 0.8}]}], "ErrorList": []},
        {"TextList": [unsure]},
    )
    for text, language in ((sure, "pt"), (unsure, "es"), (hinted, "it")):
        stubbed.comprehend.add_response(
            "batch_detect_sentiment", sentiment_response(1), {"TextList": [text], "LanguageCode": language}
        )
    results = stubbed.analyzer(detector=detector).analyze(
        [Document(sure), Document(unsure), Document(hinted, "it")], redact=False
    )
    assert asked == [[sure, unsure]]
    assert [(r.language, r.language_score) for r in results if isinstance(r, Analysis)] == [
        ("pt", 0.97),
        ("es", 0.8),
        ("it", 1.0),
    ]


def test_names_are_found_and_redacted_where_the_text_could_name_someone(stubbed: Stubs) -> None:
    """The privacy guarantee under the cost-aware plan: a capitalised name opens entity detection,
    and the PERSON it finds is redacted from the stored text; the document next to it, which names
    nobody, is not sent for entities."""
    named = "Falei com o Rafael Costa duas vezes e o Rafael Costa não resolveu"
    plain = "o pedido chegou atrasado"
    stubbed.comprehend.add_response(
        "batch_detect_sentiment", sentiment_response(2), {"TextList": [named, plain], "LanguageCode": "pt"}
    )
    person = {"Score": 0.99, "Type": "PERSON", "Text": "Rafael Costa", "BeginOffset": 12, "EndOffset": 24}
    stubbed.comprehend.add_response(
        "batch_detect_entities",
        {"ResultList": [{"Index": 0, "Entities": [person]}], "ErrorList": []},
        {"TextList": [named], "LanguageCode": "pt"},
    )
    first, second = stubbed.analyzer().analyze([Document(named, "pt"), Document(plain, "pt")], redact=True)
    assert isinstance(first, Analysis)
    assert first.redacted_text == "Falei com o [NAME] duas vezes e o [NAME] não resolveu"
    assert first.pii_types == ["NAME"]
    assert all("Rafael" not in k.text for k in first.key_phrases)
    assert isinstance(second, Analysis)
    assert second.redacted_text == plain


def test_a_lower_case_name_after_an_introduction_is_sent_for_entities(stubbed: Stubs) -> None:
    text = "falei com rafael e ninguém resolveu"
    sent = {"TextList": [text], "LanguageCode": "pt"}
    stubbed.comprehend.add_response("batch_detect_sentiment", sentiment_response(1), sent)
    person = {"Score": 0.9, "Type": "PERSON", "Text": "rafael", "BeginOffset": 10, "EndOffset": 16}
    stubbed.comprehend.add_response(
        "batch_detect_entities", {"ResultList": [{"Index": 0, "Entities": [person]}], "ErrorList": []}, sent
    )
    (result,) = stubbed.analyzer().analyze([Document(text, "pt")], redact=True)
    assert isinstance(result, Analysis)
    assert result.redacted_text == "falei com [NAME] e ninguém resolveu"


def test_targeted_sentiment_only_where_a_competitor_is_named(stubbed: Stubs) -> None:
    from chalicelib.nlp.text import names_any

    plan = CallPlan(targeted=lambda text: names_any(text, ("nimbus mobile",)))
    leaving = "thinking of moving to nimbus mobile, they are cheaper"
    late = "my parcel is late again"
    stubbed.comprehend.add_response(
        "batch_detect_sentiment", sentiment_response(2), {"TextList": [leaving, late], "LanguageCode": "en"}
    )
    stubbed.comprehend.add_response(
        "batch_detect_targeted_sentiment", targeted_response(1), {"TextList": [leaving], "LanguageCode": "en"}
    )
    first, second = stubbed.analyzer(plan).analyze([Document(leaving, "en"), Document(late, "en")], redact=False)
    assert isinstance(first, Analysis)
    assert [(t.text, t.label) for t in first.targeted_sentiment] == [("router", "NEGATIVE")]
    assert isinstance(second, Analysis)
    assert second.targeted_sentiment == ()


def test_personal_data_detection_only_where_the_patterns_cannot_decide(stubbed: Stubs) -> None:
    """An e-mail address is the patterns' to find: no DetectPiiEntities. An address announced in
    words is not: that one document is sent, and what it finds is redacted."""
    email = "write to ana@example.com please"
    address = "send it to my address: 12 baker street, flat 3"
    stubbed.comprehend.add_response(
        "detect_pii_entities",
        {"Entities": [{"Score": 0.95, "Type": "ADDRESS", "BeginOffset": 23, "EndOffset": 46}]},
        {"Text": address, "LanguageCode": "en"},
    )
    redacted = ["write to [EMAIL] please", "send it to my address: [ADDRESS]"]
    stubbed.comprehend.add_response(
        "batch_detect_sentiment", sentiment_response(2), {"TextList": redacted, "LanguageCode": "en"}
    )
    first, second = stubbed.analyzer().analyze([Document(email, "en"), Document(address, "en")], redact=True)
    assert isinstance(first, Analysis)
    assert isinstance(second, Analysis)
    assert (first.redacted_text, second.redacted_text) == tuple(redacted)
    assert second.pii_types == ["ADDRESS"]


def test_every_call_plan_asks_everything_of_every_document(stubbed: Stubs) -> None:
    """EVERY_CALL is the plan before issue 12 (what the limits tests exercise): a document that
    names nothing still gets every call."""
    text = "nothing to see here"
    stubbed.comprehend.add_response("detect_pii_entities", {"Entities": []}, {"Text": text, "LanguageCode": "en"})
    expect_insights(stubbed.comprehend, [text], "en")
    (result,) = stubbed.analyzer(EVERY_CALL).analyze([Document(text, "en")], redact=True)
    assert isinstance(result, Analysis)
    assert [k.text for k in result.key_phrases] == ["the router"]
