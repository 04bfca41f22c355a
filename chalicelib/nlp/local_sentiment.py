"""The offline engine's sentiment: two models trained on real labelled posts by
`python -m tools.nlp.train_sentiment` (tools/nlp/DATA.md), read together.

1. Words: a softmax over the post's hashed words, word pairs and character 3-5-grams. It reads a
   few hundred posts a second in pure Python and knows the words and emoji that carry feeling in
   each language.
2. Meaning: a softmax over the post's multilingual-e5-small embedding (its first eight layers,
   tuned on the labelled posts: nlp/encoder.py, tools/nlp/tune_encoder.py) and its language (one
   bias per language: Polish reviews are mostly positive, the tweet sets are balanced). It is
   about ten times slower and knows what the words don't say.

Both read a post longer than MAX_CHARACTERS at its opening and at its ending. Where the words
model alone is sure (its confidence at or above a threshold chosen on held-out training posts:
the lowest where skipping the embedding cost at most a quarter of a point), its answer stands
and no embedding is computed; everywhere else the two are combined (a weighted sum of their log
probabilities). The scores are calibrated: the combined logits are divided by a temperature
fitted on held-out predictions, so a label given with 0.8 is right about eight times in ten
(`make bench` measures the reliability on the evaluation split). Three labels: the real sets label
no post MIXED, so this engine never says it (its MIXED score is 0; Comprehend's may not be).
"""

from __future__ import annotations

import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Sequence
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from chalicelib.nlp.analysis import Sentiment

LABELS = ("NEGATIVE", "NEUTRAL", "POSITIVE")
# The languages that have their own bias; any other shares the mean of theirs.
LANGUAGES = ("en", "pt", "es", "it", "cs", "pl")
# The encoder's depth the meaning model is trained on (nlp/encoder.py says why not all twelve);
# the settings file records it, and the engine embeds with the depth its weights were trained on.
LAYERS = 8
# What one embedding reads of a post: 512 characters (about 130 tokens; e5's time grows with its
# input). A longer post is read at its opening and at its ending, where a long review often gives
# its verdict, by both models (docs/analysis.md has what each gained); the middle of a post over
# 1,024 characters is read by neither.
MAX_CHARACTERS = 512


# The words model's feature space: 2^18 hashed buckets (CRC-32: the same in every process).
HASH_BITS = 18
_URL = re.compile(r"https?://\S+|www\.\S+")
_HANDLE = re.compile(r"@\w+")
_DIGIT = re.compile(r"\d")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def clipped(text: str) -> str:
    """What the embedding reads of any post: its opening."""
    return text[:MAX_CHARACTERS]


def ending(text: str) -> str:
    """What the embedding also reads of a post longer than one reading: its ending."""
    return text[-MAX_CHARACTERS:]


def is_long(text: str) -> bool:
    return len(text) > MAX_CHARACTERS


def both_ends_of(text: str) -> str:
    """What the words model reads of a post: all of a short one, a long one's opening and ending."""
    return f"{clipped(text)} {ending(text)}" if is_long(text) else text


def both_ends(opening: NDArray[np.float64], ending: NDArray[np.float64]) -> NDArray[np.float64]:
    """The meaning model's two readings of a long post as one: the mean of their log probabilities,
    normalised (the same model read twice, so neither reading weighs more)."""
    return log_softmax((opening + ending) / 2)


def grams(text: str) -> list[str]:
    """Lower-cased words, word pairs and each word's character 3-5-grams; links, handles and
    digits are reduced to what they are, so no one's handle or number becomes a feature."""
    text = unicodedata.normalize("NFKC", both_ends_of(text)).lower()
    text = _DIGIT.sub("0", _HANDLE.sub(" @user ", _URL.sub(" http ", text)))
    words = _TOKEN.findall(text)
    found = ["w" + word for word in words]
    found += ["b" + first + " " + second for first, second in pairwise(words)]
    for word in words:
        if len(word) > 1:
            padded = f"<{word}>"
            found += ["c" + padded[start : start + n] for n in (3, 4, 5) for start in range(len(padded) - n + 1)]
    return found


def hashed(text: str) -> NDArray[np.int64]:
    """The text's distinct feature buckets."""
    mask = (1 << HASH_BITS) - 1
    return np.unique(np.fromiter((zlib.crc32(gram.encode()) & mask for gram in grams(text)), dtype=np.int64))


def ngram_logits(features: Sequence[NDArray[np.int64]], weights: NDArray[np.float64]) -> NDArray[np.float64]:
    """Each text's logits: the mean of its buckets' weights times sqrt(count) (L2-normalised
    binary features), so a long review and a short tweet speak equally loudly."""
    out = np.zeros((len(features), weights.shape[0]))
    for row, buckets in enumerate(features):
        if len(buckets):
            out[row] = weights[:, buckets].sum(axis=1) / np.sqrt(len(buckets))
    return out


def log_softmax(logits: NDArray[np.float64]) -> NDArray[np.float64]:
    shifted = logits - logits.max(axis=1, keepdims=True)
    return np.asarray(shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True)))


class SentimentModel:
    """The two models and how they are read together (see the module's docstring)."""

    def __init__(self, settings: dict[str, Any], ngram_weights: NDArray[Any]) -> None:
        if tuple(settings["labels"]) != LABELS or tuple(settings["languages"]) != LANGUAGES:
            raise ValueError("the sentiment weights were trained for other labels or languages")
        self._weights = np.asarray(settings["weights"], dtype=np.float64)
        self._bias = np.asarray(settings["bias"], dtype=np.float64)
        self._ngram_bias = np.asarray(settings["ngram_bias"], dtype=np.float64)
        self._ngram_weights = np.asarray(ngram_weights, dtype=np.float64)
        self.words_weight = float(settings["words_weight"])
        self.temperature = float(settings["temperature"])
        self.words_temperature = float(settings["words_temperature"])
        self.words_alone_at = float(settings["words_alone_at"])
        self.layers = int(settings["layers"])  # the encoder's depth the meaning model was trained on
        # the tuned layers' file (beside the settings) the meaning model was trained on, if any
        self.tuning: str | None = settings.get("tuning", {}).get("file")

    @classmethod
    def load(cls, settings_path: Path, ngrams_path: Path) -> SentimentModel:
        return cls(json.loads(settings_path.read_text(encoding="utf-8")), np.load(ngrams_path))

    @staticmethod
    def language_columns(languages: Sequence[str | None]) -> NDArray[np.float64]:
        """One column per known language; a post in another language (or none) gets an equal
        share of each, so it gets the average bias rather than one language's."""
        columns = np.zeros((len(languages), len(LANGUAGES)))
        for row, language in enumerate(languages):
            if language in LANGUAGES:
                columns[row, LANGUAGES.index(language)] = 1.0
            else:
                columns[row, :] = 1.0 / len(LANGUAGES)
        return columns

    def words(self, texts: Sequence[str]) -> NDArray[np.float64]:
        """The words model's log probabilities."""
        return log_softmax(ngram_logits([hashed(text) for text in texts], self._ngram_weights) + self._ngram_bias)

    def meaning(self, vectors: Any, languages: Sequence[str | None]) -> NDArray[np.float64]:
        """The embedding model's log probabilities of each embedding."""
        x = np.hstack([np.asarray(vectors, dtype=np.float64), self.language_columns(languages)])
        return log_softmax(x @ self._weights.T + self._bias)

    def read(
        self, texts: Sequence[str], languages: Sequence[str | None], embed: Callable[[list[str]], Any]
    ) -> NDArray[np.float64]:
        """The embedding model's log probabilities of whole posts: a long one read at both ends
        (`both_ends`), in one call of `embed` for every reading."""
        if not texts:
            return np.empty((0, len(LABELS)))
        long = [row for row, text in enumerate(texts) if is_long(text)]
        vectors = np.asarray(embed([clipped(text) for text in texts] + [ending(texts[row]) for row in long]))
        meaning = self.meaning(vectors[: len(texts)], languages)
        if long:
            endings = self.meaning(vectors[len(texts) :], [languages[row] for row in long])
            meaning[long] = both_ends(meaning[long], endings)
        return meaning

    def combined(self, words: NDArray[np.float64], meaning: NDArray[np.float64]) -> NDArray[np.float64]:
        """Calibrated probabilities of both models read together."""
        logits = (self.words_weight * words + (1 - self.words_weight) * meaning) / self.temperature
        return np.exp(log_softmax(logits))

    def probabilities(
        self, texts: Sequence[str], languages: Sequence[str | None], embed: Callable[[list[str]], Any]
    ) -> NDArray[np.float64]:
        """Each text's calibrated probabilities; `embed` is asked only for the texts the words
        model is not sure of (and not at all when it is sure of every one)."""
        words = self.words(texts)
        alone = np.exp(log_softmax(words / self.words_temperature))  # calibrated on its own
        result = alone.copy()
        unsure = [row for row in range(len(texts)) if alone[row].max() < self.words_alone_at]
        if unsure:
            meaning = self.read([texts[row] for row in unsure], [languages[row] for row in unsure], embed)
            result[unsure] = self.combined(words[unsure], meaning)
        return result

    def sentiments(
        self, texts: Sequence[str], languages: Sequence[str | None], embed: Callable[[list[str]], Any]
    ) -> list[Sentiment]:
        results = []
        for row in self.probabilities(texts, languages, embed):
            scores = {label: round(float(value), 4) for label, value in zip(LABELS, row, strict=True)}
            scores["MIXED"] = 0.0  # the scores have Comprehend's four keys, whichever engine gave them
            results.append(Sentiment(LABELS[int(row.argmax())], scores))
        return results
