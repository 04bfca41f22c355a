"""A stand-in for Amazon Comprehend and Amazon Translate at botocore's HTTP layer, for tests
and benchmarks that need whole batches answered (moto's Comprehend is canned, its Translate
missing). It answers every operation the ComprehendEngine uses with the response shapes of the
API references, below botocore's retry and parsing, and counts calls, documents, characters and
billed units (Comprehend's: per document, 100 characters a unit, at least 3; `units` of
TranslateText are counted the same way but Translate bills `characters`).

Its "analysis" is deliberately simple and deterministic: the language is taken from a marker
the caller supplies (or `en`), sentiment from a few words. It is for counting and plumbing, not
for judging analysis quality.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSResponse, HTTPHeaders

NEGATIVE_WORDS = ("broken", "late", "angry", "terrible", "ruim", "atrasado", "malo", "rotto", "špatn", "zły", "cancel")
POSITIVE_WORDS = ("great", "love", "thanks", "ótimo", "obrigad", "gracias", "grazie", "děkuj", "dzięk", "perfect")
UNIT_CHARACTERS = 100
MINIMUM_UNITS = 3


class RawBody:
    """The streamable body botocore reads from an HTTP response."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        yield self._body


class FakeComprehend:
    """Install on a comprehend and a translate client; `calls` and `units` count per operation."""

    def __init__(self, language_of: Callable[[str], str] | None = None) -> None:
        self.language_of = language_of or (lambda text: "en")
        self.calls: Counter[str] = Counter()
        self.units: Counter[str] = Counter()
        self.documents: Counter[str] = Counter()
        self.characters: Counter[str] = Counter()  # what Translate bills (per character, no minimum)
        self.throttled_languages: set[str] = set()  # calls for these languages answer ThrottlingException
        self._lock = threading.Lock()

    def install(self, *clients: Any) -> FakeComprehend:
        for client in clients:
            client.meta.events.register_first("before-send", self._respond)  # before moto, if present
        return self

    def _respond(self, request: Any, **kwargs: Any) -> AWSResponse:
        operation = request.headers["X-Amz-Target"].decode().split(".")[-1]
        body = json.loads(request.body or b"{}")
        texts = body.get("TextList") or ([body["Text"]] if "Text" in body else [])
        with self._lock:
            self.calls[operation] += 1
            self.documents[operation] += len(texts)
            self.units[operation] += sum(max(MINIMUM_UNITS, math.ceil(len(t) / UNIT_CHARACTERS)) for t in texts)
            self.characters[operation] += sum(len(t) for t in texts)
        if body.get("LanguageCode") in self.throttled_languages:
            throttled = {"__type": "ThrottlingException", "Message": "Rate exceeded"}
            return AWSResponse(request.url, 400, HTTPHeaders(), RawBody(json.dumps(throttled).encode()))
        answer = getattr(self, "_" + operation)(body)
        return AWSResponse(request.url, 200, HTTPHeaders(), RawBody(json.dumps(answer).encode()))

    # Comprehend

    def _BatchDetectDominantLanguage(self, body: dict[str, Any]) -> dict[str, Any]:
        results = [
            {"Index": i, "Languages": [{"LanguageCode": self.language_of(text), "Score": 0.98}]}
            for i, text in enumerate(body["TextList"])
        ]
        return {"ResultList": results, "ErrorList": []}

    def _BatchDetectSentiment(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for i, text in enumerate(body["TextList"]):
            label, scores = _sentiment(text)
            results.append({"Index": i, "Sentiment": label, "SentimentScore": scores})
        return {"ResultList": results, "ErrorList": []}

    def _BatchDetectEntities(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for i, text in enumerate(body["TextList"]):
            words = [w for w in text.split() if w[:1].isupper()][:2]
            entities = [
                {
                    "Score": 0.9,
                    "Type": "ORGANIZATION",
                    "Text": w,
                    "BeginOffset": text.find(w),
                    "EndOffset": text.find(w) + len(w),
                }
                for w in words
            ]
            results.append({"Index": i, "Entities": entities})
        return {"ResultList": results, "ErrorList": []}

    def _BatchDetectKeyPhrases(self, body: dict[str, Any]) -> dict[str, Any]:
        results = []
        for i, text in enumerate(body["TextList"]):
            words = text.split()[:2]
            phrase = " ".join(words)
            results.append(
                {
                    "Index": i,
                    "KeyPhrases": [{"Score": 0.95, "Text": phrase, "BeginOffset": 0, "EndOffset": len(phrase)}],
                }
            )
        return {"ResultList": results, "ErrorList": []}

    def _BatchDetectTargetedSentiment(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"ResultList": [{"Index": i, "Entities": []} for i in range(len(body["TextList"]))], "ErrorList": []}

    def _DetectPiiEntities(self, body: dict[str, Any]) -> dict[str, Any]:
        return {"Entities": []}

    # Translate

    def _TranslateText(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "TranslatedText": f"[{body['SourceLanguageCode']}->en] {body['Text']}",
            "SourceLanguageCode": body["SourceLanguageCode"],
            "TargetLanguageCode": body["TargetLanguageCode"],
        }


def _sentiment(text: str) -> tuple[str, dict[str, float]]:
    lowered = text.lower()
    if any(word in lowered for word in NEGATIVE_WORDS):
        return "NEGATIVE", {"Positive": 0.02, "Negative": 0.93, "Neutral": 0.04, "Mixed": 0.01}
    if any(word in lowered for word in POSITIVE_WORDS):
        return "POSITIVE", {"Positive": 0.94, "Negative": 0.01, "Neutral": 0.04, "Mixed": 0.01}
    return "NEUTRAL", {"Positive": 0.05, "Negative": 0.05, "Neutral": 0.89, "Mixed": 0.01}
