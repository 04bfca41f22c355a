"""The Comprehend engine's limits, tested where they break: documents of several languages mixed
in one batch, and texts whose byte limit falls inside a character.

Comprehend and Translate are answered at botocore's HTTP layer (as in test_comprehend_retries.py),
so each check reads the request body that botocore actually serialised. Every answer is validated
against the operation's output shape first, as Stubber validates its responses. Answers depend on
the document (its `docN` marker), so a result written to another document's slot is caught.
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.validate import validate_parameters
from hypothesis import example, given
from hypothesis import strategies as st

from chalicelib.nlp.analysis import Analysis, Document, Entity, KeyPhrase, Sentiment, TargetedSentiment
from chalicelib.nlp.comprehend import (
    BATCH_DOCUMENT_BYTES,
    PII_DOCUMENT_BYTES,
    TRANSLATE_DOCUMENT_BYTES,
    ComprehendEngine,
)
from chalicelib.nlp.pipeline import Analyzer
from chalicelib.nlp.text import for_api, truncate_utf8
from tests.comprehend_helpers import EVERY_CALL
from tools.fake_comprehend import RawBody

BATCH_SIZE = 25  # documents per Batch* call, as the Comprehend API reference allows: the floor is n / 25
LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
MARKER = re.compile(r"\bdoc(\d+)\b")
PHRASES = {
    "en": "Order doc{n} arrived late and the box was crushed",
    "pt": "O pedido doc{n} chegou atrasado e a caixa veio amassada",
    "es": "El pedido doc{n} llegó tarde y la caja venía aplastada",
    "it": "Il pacco doc{n} è arrivato in ritardo e la scatola era rotta",
    "cs": "Objednávka doc{n} přišla pozdě a krabice byla rozbitá",
}
TRANSLATION = "Translated doc{n}: the parcel arrived late and broken"
INSIGHT_OPERATIONS = ("BatchDetectSentiment", "BatchDetectEntities", "BatchDetectKeyPhrases")
BATCH_OPERATIONS = ("BatchDetectDominantLanguage", *INSIGHT_OPERATIONS, "BatchDetectTargetedSentiment")


# --- A Comprehend and Translate that answer each document by its marker ---------------------------


@dataclass(frozen=True)
class Call:
    operation: str
    body: dict[str, Any]

    @property
    def texts(self) -> list[str]:
        return list(self.body["TextList"]) if "TextList" in self.body else [self.body["Text"]]

    @property
    def language(self) -> str | None:
        return self.body.get("LanguageCode")


def number(text: str) -> int | None:
    found = MARKER.search(text)
    return int(found.group(1)) if found else None


def scores(n: int) -> dict[str, float]:
    """Sentiment scores unique to document n, as Comprehend names them."""
    return {"Positive": round(n / 1000, 4), "Negative": round(0.6 - n / 1000, 4), "Neutral": 0.3, "Mixed": 0.1}


def marked(text: str) -> tuple[int, int, int] | None:
    """(n, begin, end) of the document's marker in `text`."""
    found = MARKER.search(text)
    return (int(found.group(1)), found.start(), found.end()) if found else None


class FakeAws:
    def __init__(self, comprehend: Any, translate: Any) -> None:
        self.comprehend, self.translate = comprehend, translate
        self.detected: dict[int, str] = {}  # document number -> the language detection returns
        self.default_language = "en"  # for texts without a marker
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "BatchDetectDominantLanguage": self._languages,
            "BatchDetectSentiment": self._sentiment,
            "BatchDetectEntities": self._entities,
            "BatchDetectKeyPhrases": self._key_phrases,
            "BatchDetectTargetedSentiment": self._targeted,
            "DetectPiiEntities": lambda body: {"Entities": []},
            "TranslateText": self._translation,
        }
        for client in (comprehend, translate):
            client.meta.events.register_first("before-send", self._respond)

    def calls_to(self, operation: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.operation == operation]

    def _respond(self, request: Any, **kwargs: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        body = json.loads(request.body)
        with self._lock:
            self.calls.append(Call(operation, body))
        answer = self._answers[operation](body)
        client = self.translate if operation == "TranslateText" else self.comprehend
        validate_parameters(answer, client.meta.service_model.operation_model(operation).output_shape)
        return AWSResponse(request.url, 200, HTTPHeaders(), RawBody(json.dumps(answer).encode()))

    @staticmethod
    def _batch(body: dict[str, Any], one: Callable[[str], dict[str, Any]]) -> dict[str, Any]:
        # Results in reverse order: documents are matched by Index, never by position.
        results = [{"Index": index, **one(text)} for index, text in enumerate(body["TextList"])]
        return {"ResultList": results[::-1], "ErrorList": []}

    def _languages(self, body: dict[str, Any]) -> dict[str, Any]:
        def one(text: str) -> dict[str, Any]:
            n = number(text)
            code = self.default_language if n is None else self.detected[n]
            score = 0.9 if n is None else 0.5 + n / 1000
            return {"Languages": [{"LanguageCode": code, "Score": score}]}

        return self._batch(body, one)

    def _sentiment(self, body: dict[str, Any]) -> dict[str, Any]:
        def one(text: str) -> dict[str, Any]:
            n = number(text) or 0
            return {"Sentiment": LABELS[n % 4], "SentimentScore": scores(n)}

        return self._batch(body, one)

    def _entities(self, body: dict[str, Any]) -> dict[str, Any]:
        def one(text: str) -> dict[str, Any]:
            found = marked(text)
            if found is None:
                return {"Entities": []}
            n, begin, end = found
            return {
                "Entities": [{"Score": 0.9, "Type": "OTHER", "Text": f"doc{n}", "BeginOffset": begin, "EndOffset": end}]
            }

        return self._batch(body, one)

    def _key_phrases(self, body: dict[str, Any]) -> dict[str, Any]:
        def one(text: str) -> dict[str, Any]:
            found = marked(text)
            if found is None:
                return {"KeyPhrases": []}
            n, begin, end = found
            return {"KeyPhrases": [{"Score": 0.8, "Text": f"doc{n}", "BeginOffset": begin, "EndOffset": end}]}

        return self._batch(body, one)

    def _targeted(self, body: dict[str, Any]) -> dict[str, Any]:
        def one(text: str) -> dict[str, Any]:
            found = marked(text)
            if found is None:
                return {"Entities": []}
            n, begin, end = found
            mention = {
                "Score": 0.99,
                "GroupScore": 1.0,
                "Text": f"doc{n}",
                "Type": "OTHER",
                "MentionSentiment": {"Sentiment": LABELS[n % 4], "SentimentScore": scores(n)},
                "BeginOffset": begin,
                "EndOffset": end,
            }
            return {"Entities": [{"DescriptiveMentionIndex": [0], "Mentions": [mention]}]}

        return self._batch(body, one)

    @staticmethod
    def _translation(body: dict[str, Any]) -> dict[str, Any]:
        n = number(body["Text"])
        return {
            "TranslatedText": "The parcel arrived late." if n is None else TRANSLATION.format(n=n),
            "SourceLanguageCode": body["SourceLanguageCode"],
            "TargetLanguageCode": body["TargetLanguageCode"],
        }


@pytest.fixture
def fake() -> FakeAws:
    return FakeAws(
        boto3.client("comprehend", region_name="us-east-1"), boto3.client("translate", region_name="us-east-1")
    )


def analyzer(fake: FakeAws, concurrency: int = 1) -> Analyzer:
    """Every call for every document (EVERY_CALL): these tests are about how each API is batched
    and cut, which holds for whatever documents the call plan sends it (test_comprehend_engine.py
    tests the plan)."""
    return Analyzer(ComprehendEngine(fake.comprehend, fake.translate, concurrency=concurrency, plan=EVERY_CALL))


# --- 1. Batching by language across the whole batch, not per run of neighbours -------------------


def interleaved(count: int, languages: tuple[str, ...], shuffled: bool = False) -> list[str]:
    order = [languages[i % len(languages)] for i in range(count)]
    if shuffled:
        random.Random(count).shuffle(order)
    return order


def expected_analysis(n: int, language: str, score: float, translated: str | None = None) -> Analysis:
    """What document n comes back as, from the fake's answers for its own marker."""
    label = LABELS[n % 4]
    analysed_in = "en" if translated is not None else language
    targeted = (TargetedSentiment(f"doc{n}", "OTHER", label, scores(n)[label.capitalize()]),)
    return Analysis(
        language=language,
        language_score=score,
        sentiment=Sentiment(label, {name.upper(): value for name, value in scores(n).items()}),
        entities=(Entity("OTHER", f"doc{n}", 0.9),),
        key_phrases=(KeyPhrase(f"doc{n}", 0.8),),
        targeted_sentiment=targeted if analysed_in == "en" else (),
        translated_text=translated,
        engine="comprehend",
    )


def assert_batched_per_language(calls: list[Call], expected: dict[str, list[str]], language_of: dict[str, str]) -> None:
    """ceil(n / 25) calls per language and no more, each call holding documents of its own
    language only, every document sent exactly once."""
    operation = calls[0].operation if calls else "?"
    by_language: dict[str | None, list[Call]] = defaultdict(list)
    for call in calls:
        by_language[call.language].append(call)
    assert set(by_language) == set(expected), f"{operation}: calls for {sorted(map(str, by_language))}"
    for language, texts in expected.items():
        made = by_language[language]
        floor = math.ceil(len(texts) / BATCH_SIZE)
        assert len(made) == floor, (
            f"{operation} [{language}]: {len(made)} calls for {len(texts)} documents, not {floor}"
        )
        for call in made:
            assert 1 <= len(call.texts) <= BATCH_SIZE
            assert {language_of[text] for text in call.texts} == {language}, f"{operation}: mixed TextList"
        assert Counter(text for call in made for text in call.texts) == Counter(texts)


@pytest.mark.parametrize(
    ("count", "shuffled", "concurrency"),
    [(33, False, 1), (110, False, 1), (200, True, 1), (110, False, 8)],
    ids=["33-alternating", "110-alternating", "200-shuffled", "110-alternating-concurrent"],
)
def test_trusted_languages_interleaved_are_batched_per_language_across_the_batch(
    fake: FakeAws, count: int, shuffled: bool, concurrency: int
) -> None:
    languages = interleaved(count, ("en", "pt", "es", "it"), shuffled)
    texts = [PHRASES[language].format(n=n) for n, language in enumerate(languages)]
    language_of = dict(zip(texts, languages, strict=True))
    by_language: dict[str, list[str]] = defaultdict(list)
    for text, language in zip(texts, languages, strict=True):
        by_language[language].append(text)

    results = analyzer(fake, concurrency).analyze(
        [Document(text, language) for text, language in zip(texts, languages, strict=True)], redact=False
    )

    assert fake.calls_to("BatchDetectDominantLanguage") == []  # trusted hints are not detected again
    for operation in INSIGHT_OPERATIONS:
        assert_batched_per_language(fake.calls_to(operation), by_language, language_of)
    assert_batched_per_language(fake.calls_to("BatchDetectTargetedSentiment"), {"en": by_language["en"]}, language_of)
    # No batch API for personal data: one call per English or Spanish document, in its language.
    assert Counter((call.language, call.texts[0]) for call in fake.calls_to("DetectPiiEntities")) == Counter(
        (language, text) for text, language in zip(texts, languages, strict=True) if language in ("en", "es")
    )
    assert fake.calls_to("TranslateText") == []
    assert results == [expected_analysis(n, language, 1.0) for n, language in enumerate(languages)]


def test_detected_languages_interleaved_are_batched_per_language_across_the_batch(fake: FakeAws) -> None:
    """No hints: BatchDetectDominantLanguage answers en, pt, es, it, cs in turn; Czech goes through
    Translate and its English joins the native English documents' batches."""
    languages = interleaved(100, ("en", "pt", "es", "it", "cs"))
    texts = [PHRASES[language].format(n=n) for n, language in enumerate(languages)]
    fake.detected = dict(enumerate(languages))

    results = analyzer(fake).analyze([Document(text) for text in texts], redact=False)

    detection = fake.calls_to("BatchDetectDominantLanguage")
    assert len(detection) == math.ceil(len(texts) / BATCH_SIZE)
    assert all(1 <= len(call.texts) <= BATCH_SIZE for call in detection)
    assert Counter(text for call in detection for text in call.texts) == Counter(texts)

    czech = [n for n, language in enumerate(languages) if language == "cs"]
    translations = fake.calls_to("TranslateText")
    assert {(call.body["SourceLanguageCode"], call.body["TargetLanguageCode"]) for call in translations} == {
        ("cs", "en")
    }
    assert Counter(call.texts[0] for call in translations) == Counter(texts[n] for n in czech)

    analysed: dict[str, list[str]] = defaultdict(list)
    language_of: dict[str, str] = {}
    for n, language in enumerate(languages):
        text, analysed_in = (TRANSLATION.format(n=n), "en") if language == "cs" else (texts[n], language)
        analysed[analysed_in].append(text)
        language_of[text] = analysed_in
    assert len(analysed["en"]) > BATCH_SIZE  # English and translated Czech need two calls together
    for operation in INSIGHT_OPERATIONS:
        assert_batched_per_language(fake.calls_to(operation), analysed, language_of)
    assert_batched_per_language(fake.calls_to("BatchDetectTargetedSentiment"), {"en": analysed["en"]}, language_of)
    assert Counter((call.language, call.texts[0]) for call in fake.calls_to("DetectPiiEntities")) == Counter(
        (language, texts[n]) for n, language in enumerate(languages) if language in ("en", "es")
    )
    assert results == [
        expected_analysis(n, language, round(0.5 + n / 1000, 4), TRANSLATION.format(n=n) if language == "cs" else None)
        for n, language in enumerate(languages)
    ]


# --- 2. Byte limits that fall inside a character ------------------------------------------------


def well_formed_char(char: str) -> str:
    return "\ufffd" if "\ud800" <= char <= "\udfff" else char


def longest_fit(text: str, limit: int) -> str:
    """The reference: code point by code point (a lone surrogate as U+FFFD), the longest prefix
    of `text` within `limit` UTF-8 bytes."""
    kept: list[str] = []
    size = 0
    for char in map(well_formed_char, text):
        size += len(char.encode())
        if size > limit:
            break
        kept.append(char)
    return "".join(kept)


def cut_inside(unit: str, into: int, limit: int) -> str:
    """ASCII, then `unit` repeated past `limit`, aligned so that byte `limit` falls `into` bytes
    inside a `unit` (a lone surrogate counts as its 3-byte U+FFFD)."""
    width = len("".join(map(well_formed_char, unit)).encode())
    lead = "x" * ((limit - into) % width)
    text = lead + unit * ((limit - len(lead)) // width + 2)
    encoded = "".join(map(well_formed_char, text)).encode()
    assert len(encoded) > limit
    assert encoded[limit] & 0xC0 == 0x80, "the limit must fall on a continuation byte, inside a character"
    return text


def valid_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not encodable as UTF-8
        return False
    return True


def assert_longest_fit(sent: str, original: str, limit: int) -> None:
    assert valid_utf8(sent), "what is sent must be valid UTF-8"
    assert len(sent.encode()) <= limit
    assert sent == longest_fit(original, limit), "not the longest prefix that fits"


# (what repeats, how many bytes into it the limit falls)
MID_CHARACTER = {
    "2-byte ž": ("ž", 1),
    "3-byte €, 1 byte in": ("€", 1),
    "3-byte €, 2 bytes in": ("€", 2),
    "4-byte 😀, 1 byte in": ("😀", 1),
    "4-byte 😀, 2 bytes in": ("😀", 2),
    "4-byte 😀, 3 bytes in": ("😀", 3),
    "combining acute, inside the mark": ("e\u0301", 2),
    "lone surrogate, inside its U+FFFD": ("\udc80", 2),
}
mid_character = pytest.mark.parametrize(("unit", "into"), MID_CHARACTER.values(), ids=MID_CHARACTER.keys())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ž" * 3000, "ž" * 2499),  # 4,999 bytes fall in the 2,500th ž
        ("😀" * 2000, "😀" * 1249),  # 3 bytes into the 1,250th emoji
        ("€" * 2000, "€" * 1666),  # 1 byte into the 1,667th euro sign
        ("Objednávka " + "ž" * 3000, "Objednávka " + "ž" * 2493),
        ("ab" + "e\u0301" * 2000, "ab" + "e\u0301" * 1665 + "e"),  # inside the acute: the e stays bare
        ("\udc80" * 2000, "\ufffd" * 1666),  # lone surrogates go as U+FFFD, 3 bytes each
    ],
    ids=["ž", "emoji", "euro", "czech", "combining", "surrogate"],
)
def test_batch_apis_get_the_longest_prefix_that_fits_hand_computed(fake: FakeAws, text: str, expected: str) -> None:
    assert BATCH_DOCUMENT_BYTES == 4_999  # the cases above are computed for it
    (result,) = analyzer(fake).analyze([Document(text)], redact=False)
    assert isinstance(result, Analysis)
    for operation in BATCH_OPERATIONS:
        (call,) = fake.calls_to(operation)
        assert call.texts == [expected], operation


@mid_character
def test_batch_apis_get_the_longest_prefix_that_fits(fake: FakeAws, unit: str, into: int) -> None:
    """Detection, sentiment, entities, key phrases, targeted sentiment: each at BATCH_DOCUMENT_BYTES;
    personal data detection gets the whole text (well under its own limit)."""
    text = cut_inside(unit, into, BATCH_DOCUMENT_BYTES)
    (result,) = analyzer(fake).analyze([Document(text)], redact=False)
    assert isinstance(result, Analysis)
    assert result.language == "en"
    for operation in BATCH_OPERATIONS:
        (call,) = fake.calls_to(operation)
        (sent,) = call.texts
        assert_longest_fit(sent, text, BATCH_DOCUMENT_BYTES)
    (pii,) = fake.calls_to("DetectPiiEntities")
    assert pii.texts == [longest_fit(text, PII_DOCUMENT_BYTES)]


@mid_character
def test_translate_gets_the_longest_prefix_that_fits(fake: FakeAws, unit: str, into: int) -> None:
    text = cut_inside(unit, into, TRANSLATE_DOCUMENT_BYTES)
    (result,) = analyzer(fake).analyze([Document(text, "cs")], redact=False)
    (call,) = fake.calls_to("TranslateText")
    assert (call.body["SourceLanguageCode"], call.body["TargetLanguageCode"]) == ("cs", "en")
    assert_longest_fit(call.texts[0], text, TRANSLATE_DOCUMENT_BYTES)
    assert isinstance(result, Analysis)
    assert result.translated_text == "The parcel arrived late."


@mid_character
def test_personal_data_detection_gets_the_longest_prefix_that_fits(fake: FakeAws, unit: str, into: int) -> None:
    # Words, not one 100 KB word, which is not what this test is about.
    text = cut_inside(unit + " ", into, PII_DOCUMENT_BYTES)
    (result,) = analyzer(fake).analyze([Document(text, "en")], redact=True)
    (call,) = fake.calls_to("DetectPiiEntities")
    assert call.language == "en"
    assert_longest_fit(call.texts[0], text, PII_DOCUMENT_BYTES)
    assert isinstance(result, Analysis)
    for operation in INSIGHT_OPERATIONS:
        (batch,) = fake.calls_to(operation)
        assert_longest_fit(batch.texts[0], text, BATCH_DOCUMENT_BYTES)


# The helpers themselves. Multi-byte characters and combining marks are drawn often, not only
# when the generic strategy happens to reach them.
MULTIBYTE = st.sampled_from(["ž", "€", "😀", "\u0301", "\u200d", "\U0010ffff"])
well_formed_texts = st.text(st.one_of(st.characters(exclude_categories=["Cs"]), MULTIBYTE), max_size=40)
any_texts = st.text(st.one_of(st.characters(), MULTIBYTE, st.characters(categories=["Cs"])), max_size=40)
limits = st.integers(min_value=0, max_value=90)


@given(text=well_formed_texts, limit=limits)
@example(text="ž" * 3000, limit=BATCH_DOCUMENT_BYTES)
@example(text="😀" * 2000, limit=BATCH_DOCUMENT_BYTES)
@example(text="x" + "😀" * 3000, limit=TRANSLATE_DOCUMENT_BYTES)
@example(text="ab" + "e\u0301" * 2000, limit=BATCH_DOCUMENT_BYTES)
@example(text="€", limit=2)
@example(text="€", limit=3)
@example(text="", limit=0)
def test_truncate_utf8_keeps_the_longest_prefix_that_fits(text: str, limit: int) -> None:
    cut = truncate_utf8(text, limit)
    assert text.startswith(cut)
    assert valid_utf8(cut)
    assert len(cut.encode()) <= limit
    # maximal: the whole text, or one more character would not fit
    assert cut == text or len(text[: len(cut) + 1].encode()) > limit
    assert cut == longest_fit(text, limit)


@given(text=any_texts, limit=limits)
@example(text="ok \ud83d ok", limit=90)
@example(text="\udc80" * 30, limit=4)
@example(text="a\ud83d\ude00", limit=4)  # a surrogate pair in a str is two lone surrogates, not 😀
def test_for_api_sends_well_formed_utf8_within_the_limit(text: str, limit: int) -> None:
    sent = for_api(text, limit)
    assert valid_utf8(sent)
    assert len(sent.encode()) <= limit
    # a prefix of the text, each lone surrogate standing as one U+FFFD (so offsets still hold)
    assert len(sent) <= len(text)
    assert all(s == well_formed_char(o) for s, o in zip(sent, text, strict=False))
    # maximal
    assert len(sent) == len(text) or len(sent.encode()) + len(well_formed_char(text[len(sent)]).encode()) > limit
