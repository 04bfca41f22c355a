"""What an NLP engine must provide; `pipeline.Analyzer` composes these steps the same way for
Amazon Comprehend and for the offline engine.

Each method takes a list and returns a list of the same length, where an item is either the
result or the exception that stopped that one document: a throttled batch fails only its own
documents, and only their SQS records are retried.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chalicelib.nlp.analysis import Entity, KeyPhrase, PiiSpan, Sentiment, TargetedSentiment


@dataclass(frozen=True)
class Insights:
    sentiment: Sentiment | None
    entities: tuple[Entity, ...] = ()
    key_phrases: tuple[KeyPhrase, ...] = ()
    targeted_sentiment: tuple[TargetedSentiment, ...] = ()


@dataclass(frozen=True)
class LanguageGuess:
    language: str | None
    score: float


class Unsupported(Exception):
    """The engine cannot do this for that language (e.g. no translation pair); not retryable."""


class Rejected(Exception):
    """The service refused this document for what it is (too long, invalid, unsupported): asking
    again would be refused again, so the document is kept with less analysis instead of retried."""


class Engine(Protocol):
    name: str

    def detect_languages(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]: ...

    def analyses(self, language: str) -> bool:
        """Whether sentiment, entities and key phrases work for this language."""

    def finds_pii(self, language: str) -> bool:
        """Whether `detect_pii` adds anything for this language beyond the shared patterns."""

    def detect_pii(self, texts: Sequence[str], language: str) -> list[list[PiiSpan] | Exception]: ...

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str | Exception]: ...

    def insights(self, texts: Sequence[str], language: str) -> list[Insights | Exception]: ...
