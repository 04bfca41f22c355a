"""The analysis pipeline, the same for every engine:

1. language: the trusted hint, or detection;
2. personal data: the shared patterns everywhere, plus the engine's own detector where it has one;
3. redaction, when the stage asks for it, before anything else sees the text, so that translation,
   entities and key phrases never receive the personal data we were asked not to keep;
4. translation to English where the engine cannot analyse the language (Czech, Polish, ...);
5. sentiment, entities, key phrases (and targeted sentiment) per language, in the engine's batches.

A document whose step fails for a passing reason (throttling, a service error) comes back as
AnalysisFailed, to be retried; the others are unaffected. A step the service refuses for the
document itself (Unsupported, Rejected) is skipped with a note: asking again would not help, and
the interaction is better kept with less analysis than dead-lettered.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from chalicelib.errors import describe
from chalicelib.nlp import pii
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document, PiiSpan
from chalicelib.nlp.engine import Engine, Insights, LanguageGuess, Rejected, Unsupported
from chalicelib.nlp.text import normalise_language

PIVOT_LANGUAGE = "en"


@dataclass
class _Work:
    document: Document
    language: str | None = None
    language_score: float | None = None
    spans: tuple[PiiSpan, ...] = ()
    working_text: str = ""
    analysis_language: str | None = None
    translated_text: str | None = None
    insights: Insights | None = None
    failure: str | None = None
    notes: list[str] = field(default_factory=list)


class Analyzer:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @property
    def name(self) -> str:
        return self.engine.name

    def analyze(self, documents: Sequence[Document], redact: bool) -> list[Analysis | AnalysisFailed]:
        """One result per document. Identical documents (a broadcast reply, a copy-paste campaign,
        a redelivery in the same batch) are analysed once and share the result: the same text and
        hint give the same analysis, and the engine bills each text once."""
        unique = list(dict.fromkeys(documents))
        work = [_Work(document) for document in unique]
        self._languages(work)
        self._personal_data(work, redact)
        self._translate(work)
        self._insights(work)
        results = {document: self._result(item, redact) for document, item in zip(unique, work, strict=True)}
        return [results[document] for document in documents]

    def _languages(self, work: list[_Work]) -> None:
        unknown = []
        for item in work:
            hinted = normalise_language(item.document.language_hint)
            if hinted:
                item.language, item.language_score = hinted, 1.0
            else:
                unknown.append(item)
        guesses = self.engine.detect_languages([item.document.text for item in unknown]) if unknown else []
        for item, guess in zip(unknown, guesses, strict=True):
            if isinstance(guess, LanguageGuess):
                item.language, item.language_score = normalise_language(guess.language), guess.score
            elif _permanent(guess):
                item.notes.append(f"language not detected: {guess}")
            else:
                item.failure = f"language detection: {describe(guess)}"

    def _personal_data(self, work: list[_Work], redact: bool) -> None:
        by_language: dict[str, list[_Work]] = defaultdict(list)
        for item in work:
            item.spans = tuple(pii.find(item.document.text))
            if item.failure is None and item.language and self.engine.finds_pii(item.language):
                by_language[item.language].append(item)
        for language, items in by_language.items():
            found = self.engine.detect_pii([item.document.text for item in items], language)
            for item, spans in zip(items, found, strict=True):
                if isinstance(spans, Exception) and _permanent(spans):
                    item.notes.append(f"personal data detection refused: {spans}; patterns only")
                elif isinstance(spans, Exception):
                    item.failure = f"personal data detection: {describe(spans)}"
                else:
                    # The engine's findings first: it also knows names and addresses.
                    item.spans = tuple(pii.merge(spans, list(item.spans)))
        for item in work:
            text = item.document.text
            item.working_text = pii.redact(text, list(item.spans)) if redact else text

    def _translate(self, work: list[_Work]) -> None:
        by_language: dict[str, list[_Work]] = defaultdict(list)
        for item in work:
            if item.failure is not None or item.language is None:
                continue
            if self.engine.analyses(item.language):
                item.analysis_language = item.language
            else:
                by_language[item.language].append(item)
        for language, items in by_language.items():
            translations = self.engine.translate([item.working_text for item in items], language, PIVOT_LANGUAGE)
            for item, translated in zip(items, translations, strict=True):
                if isinstance(translated, Exception) and _permanent(translated):
                    item.notes.append(f"no analysis for language {language}")
                elif isinstance(translated, Exception):
                    item.failure = f"translation: {describe(translated)}"
                else:
                    item.translated_text = translated
                    item.analysis_language = PIVOT_LANGUAGE

    def _insights(self, work: list[_Work]) -> None:
        by_language: dict[str, list[_Work]] = defaultdict(list)
        for item in work:
            if item.failure is None and item.analysis_language is not None:
                by_language[item.analysis_language].append(item)
        for language, items in by_language.items():
            texts = [item.translated_text if item.translated_text is not None else item.working_text for item in items]
            for item, insight in zip(items, self.engine.insights(texts, language), strict=True):
                if isinstance(insight, Exception) and _permanent(insight):
                    item.notes.append(f"analysis refused: {insight}")
                elif isinstance(insight, Exception):
                    item.failure = f"analysis: {describe(insight)}"
                else:
                    item.insights = insight

    def _result(self, item: _Work, redact: bool) -> Analysis | AnalysisFailed:
        if item.failure is not None:
            return AnalysisFailed(item.failure)
        insights = item.insights or Insights(sentiment=None)
        if redact:
            insights = self._redact_names(item, insights)
        return Analysis(
            language=item.language,
            language_score=item.language_score,
            sentiment=insights.sentiment,
            entities=insights.entities,
            key_phrases=insights.key_phrases,
            targeted_sentiment=insights.targeted_sentiment,
            pii=item.spans,
            translated_text=item.translated_text,
            redacted_text=item.working_text if redact else None,
            engine=self.engine.name,
            notes=tuple(item.notes),
        )

    @staticmethod
    def _redact_names(item: _Work, insights: Insights) -> Insights:
        """Names, where the engine found people (Comprehend's PERSON entities, in every language it
        analyses, translations included): redacted wherever they occur in the original and the
        translation, and dropped from entities, key phrases and targeted sentiment, which would
        otherwise keep them. Only the patterns and the English/Spanish PII detector run before."""
        names = sorted(
            {e.text for e in insights.entities if e.type == "PERSON" and len(e.text.strip()) > 1}, key=len, reverse=True
        )
        if not names:
            return insights
        text = item.document.text
        found = [
            PiiSpan("NAME", match.start(), match.end())
            for name in names
            for match in re.finditer(re.escape(name), text)
        ]
        item.spans = tuple(pii.merge(list(item.spans), found))
        item.working_text = pii.redact(text, list(item.spans))
        if item.translated_text is not None:
            for name in names:
                item.translated_text = item.translated_text.replace(name, "[NAME]")

        def named(phrase: str) -> bool:
            return any(name in phrase for name in names)

        return Insights(
            sentiment=insights.sentiment,
            entities=tuple(e for e in insights.entities if e.type != "PERSON" and not named(e.text)),
            key_phrases=tuple(k for k in insights.key_phrases if not named(k.text)),
            targeted_sentiment=tuple(
                t for t in insights.targeted_sentiment if t.type != "PERSON" and not named(t.text)
            ),
        )


def _permanent(exc: Exception) -> bool:
    return isinstance(exc, (Unsupported, Rejected))
