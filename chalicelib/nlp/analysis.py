"""What analysing a text yields, whichever engine did it (Comprehend in AWS, the local analyzer
offline). Plain frozen dataclasses that the store persists and the ops API returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SENTIMENT_LABELS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")


@dataclass(frozen=True)
class Document:
    """One text to analyse. `language_hint` only when the source is trusted to know (see
    services.process.trusted_language_hint); otherwise the language is detected."""

    text: str
    language_hint: str | None = None


@dataclass(frozen=True)
class Sentiment:
    label: str
    scores: dict[str, float]

    @property
    def polarity(self) -> float:
        """Positive minus negative, in [-1, 1]: the number aggregates are built from."""
        return round(self.scores.get("POSITIVE", 0.0) - self.scores.get("NEGATIVE", 0.0), 4)

    @property
    def confidence(self) -> float:
        """The score of the label given: how sure the engine is of it (calibrated offline)."""
        return self.scores.get(self.label, 0.0)


@dataclass(frozen=True)
class Entity:
    type: str
    text: str
    score: float


@dataclass(frozen=True)
class KeyPhrase:
    text: str
    score: float


@dataclass(frozen=True)
class PiiSpan:
    """Personal data found in the original text: [begin, end) in code points."""

    type: str
    begin: int
    end: int
    score: float = 1.0


@dataclass(frozen=True)
class TargetedSentiment:
    """Sentiment towards one thing the text mentions (Comprehend, English only)."""

    text: str
    type: str
    label: str
    score: float


@dataclass(frozen=True)
class Analysis:
    language: str | None
    language_score: float | None
    sentiment: Sentiment | None = None
    entities: tuple[Entity, ...] = ()
    key_phrases: tuple[KeyPhrase, ...] = ()
    pii: tuple[PiiSpan, ...] = ()
    targeted_sentiment: tuple[TargetedSentiment, ...] = ()
    translated_text: str | None = None
    redacted_text: str | None = None
    engine: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def pii_types(self) -> list[str]:
        return sorted({span.type for span in self.pii})

    def to_dict(self) -> dict[str, Any]:
        return {
            "language": self.language,
            "language_score": self.language_score,
            "sentiment": None
            if self.sentiment is None
            else {"label": self.sentiment.label, "scores": self.sentiment.scores},
            "entities": [{"type": e.type, "text": e.text, "score": e.score} for e in self.entities],
            "key_phrases": [{"text": k.text, "score": k.score} for k in self.key_phrases],
            "pii": [{"type": s.type, "begin": s.begin, "end": s.end, "score": s.score} for s in self.pii],
            "pii_types": self.pii_types,
            "targeted_sentiment": [
                {"text": t.text, "type": t.type, "label": t.label, "score": t.score} for t in self.targeted_sentiment
            ],
            "translated_text": self.translated_text,
            "engine": self.engine,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        sentiment = data.get("sentiment")
        return cls(
            language=data.get("language"),
            language_score=data.get("language_score"),
            sentiment=None if not sentiment else Sentiment(sentiment["label"], dict(sentiment["scores"])),
            entities=tuple(Entity(e["type"], e["text"], e["score"]) for e in data.get("entities", ())),
            key_phrases=tuple(KeyPhrase(k["text"], k["score"]) for k in data.get("key_phrases", ())),
            pii=tuple(PiiSpan(s["type"], s["begin"], s["end"], s.get("score", 1.0)) for s in data.get("pii", ())),
            targeted_sentiment=tuple(
                TargetedSentiment(t["text"], t["type"], t["label"], t["score"])
                for t in data.get("targeted_sentiment", ())
            ),
            translated_text=data.get("translated_text"),
            engine=data.get("engine", ""),
            notes=tuple(data.get("notes", ())),
        )


class AnalysisFailed(Exception):
    """One document could not be analysed (after the SDK's retries); its record is retried."""
