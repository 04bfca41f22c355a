"""Telling which terms are one topic across languages, with what the analyzer offers.

- Offline (SOCIALCRM_NLP=local): the multilingual embeddings the sentiment model uses (e5, 384
  dimensions). A term joins the closest topic already named if their cosine similarity is at
  least SIMILAR, else names a topic of its own. At that bound "bateria", "battery", "baterie" and
  "batería" are one topic, as are "price", "preço" and "precio"; "delivery" and "entrega" (0.93)
  stay apart, since at 0.93 unrelated words such as "dostawa" (delivery) and "zamówienie" (order)
  would merge. The terms are taken most frequent first, after the names already counted, so a
  topic keeps its name from hour to hour.
- With Comprehend: Amazon Translate turns each non-English term into English, and terms with the
  same English words are one topic (named in English).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from chalicelib.nlp.text import fold

SIMILAR = 0.94


class EmbeddingMerger:
    def __init__(self, embed: Callable[[list[str]], Any], similar: float = SIMILAR) -> None:
        self._embed = embed
        self._similar = similar
        self._vectors: dict[str, Any] = {}  # a container's terms embedded once

    def topics(self, terms: Sequence[str], languages: Mapping[str, str | None], known: Sequence[str]) -> dict[str, str]:
        import numpy as np

        order = list(dict.fromkeys([*known, *terms]))
        missing = [term for term in order if term not in self._vectors]
        if missing:
            vectors = np.asarray(self._embed(missing), dtype=np.float32)
            vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
            self._vectors.update(zip(missing, vectors, strict=True))
        names: dict[str, str] = {}
        named: list[str] = []
        matrix = np.zeros((0, 0), dtype=np.float32)
        for term in order:
            vector = self._vectors[term]
            if named:
                similarity = matrix @ vector
                best = int(np.argmax(similarity))
                if float(similarity[best]) >= self._similar:
                    names[term] = named[best]
                    continue
            names[term] = term
            named.append(term)
            matrix = np.vstack([matrix, vector]) if matrix.size else vector[np.newaxis, :]
        return {term: names[term] for term in terms}


class TranslationMerger:
    def __init__(self, translate: Callable[[Sequence[str], str, str], list[str | Exception]]) -> None:
        self._translate = translate
        self._english: dict[tuple[str, str], str] = {}

    def topics(self, terms: Sequence[str], languages: Mapping[str, str | None], known: Sequence[str]) -> dict[str, str]:
        by_language: dict[str, list[str]] = {}
        for term in terms:
            language = languages.get(term)
            if language and language != "en" and (language, term) not in self._english:
                by_language.setdefault(language, []).append(term)
        for language, words in by_language.items():
            for word, english in zip(words, self._translate(words, language, "en"), strict=True):
                # A term Translate cannot take stays itself: still counted, not merged.
                self._english[(language, word)] = word if isinstance(english, Exception) else fold(english).strip(" .")
        return {term: self._english.get((languages.get(term) or "", term), term) or term for term in terms}
