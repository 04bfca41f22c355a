"""Learned word evidence for intents: a multinomial naive Bayes over folded words and word pairs.

The cue lexicon (intent_cues.py) knows the phrases a person wrote down; this knows the words the
labelled posts in tools/nlp/intent_dev*.jsonl used, which covers the long tail of ways to ask for
a price or to complain. Its counts are trained by `python -m tools.nlp.train_intent` into
intent_words.json (a test checks they match the posts); it contributes points, not the decision,
and names the words that weighed most.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

COUNTS_PATH = Path(__file__).with_name("intent_words.json")
_TOKEN = re.compile(r"[a-z0-9']+|[?¿!]")
SMOOTHING = 0.5


def tokens(folded: str) -> set[str]:
    """Words (two letters or more, or ? ¿ !) and adjacent pairs of them, each counted once."""
    words = [w for w in _TOKEN.findall(folded) if len(w) > 1 or w in "?¿!"]
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


@dataclass(frozen=True)
class WordModel:
    labels: tuple[str, ...]
    log_prior: tuple[float, ...]
    log_likelihood: dict[str, tuple[float, ...]]
    log_unseen: tuple[float, ...]

    def posterior(self, folded: str) -> tuple[dict[str, float], dict[str, list[str]]]:
        """P(intent | words) and, per intent, the known words that favour it most."""
        known = [t for t in tokens(folded) if t in self.log_likelihood]
        scores = list(self.log_prior)
        for token in known:
            for i, value in enumerate(self.log_likelihood[token]):
                scores[i] += value
        top = max(scores)
        total = sum(math.exp(s - top) for s in scores)
        posterior = {label: math.exp(s - top) / total for label, s in zip(self.labels, scores, strict=True)}
        evidence: dict[str, list[str]] = {}
        for i, label in enumerate(self.labels):
            lift = sorted(
                known,
                key=lambda t: (
                    -(self.log_likelihood[t][i] - max(v for j, v in enumerate(self.log_likelihood[t]) if j != i))
                ),
            )
            evidence[label] = [
                t for t in lift[:2] if self.log_likelihood[t][i] >= max(self.log_likelihood[t]) and not t.isdigit()
            ]
        return posterior, evidence


def from_counts(document: dict[str, Any]) -> WordModel:
    labels = tuple(document["labels"])
    docs = [int(document["documents"][label]) for label in labels]
    counts: dict[str, list[int]] = document["counts"]
    vocabulary = len(counts)
    totals = [sum(row[i] for row in counts.values()) for i in range(len(labels))]
    denominators = [total + SMOOTHING * vocabulary for total in totals]
    prior = tuple(math.log((d + 1) / (sum(docs) + len(labels))) for d in docs)
    likelihood = {
        token: tuple(math.log((row[i] + SMOOTHING) / denominators[i]) for i in range(len(labels)))
        for token, row in counts.items()
    }
    unseen = tuple(math.log(SMOOTHING / d) for d in denominators)
    return WordModel(labels, prior, likelihood, unseen)


@cache
def model() -> WordModel | None:
    if not COUNTS_PATH.exists():
        return None
    return from_counts(json.loads(COUNTS_PATH.read_text(encoding="utf-8")))
