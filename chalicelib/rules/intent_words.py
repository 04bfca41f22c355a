"""Learned word evidence for intents: a multinomial naive Bayes over folded words and word pairs.

The cue lexicon (intent_cues.py) knows the phrases a person wrote down; this knows the words the
labelled posts used (the hand-written tools/nlp/intent_dev*.jsonl and the train split of the
public data in tools/nlp/data/intent-train.jsonl.gz), which covers the long tail of ways to ask for
a price or to complain. Besides the intents it has a `none` column, the public rows that are none
of complaint, cancel or purchase: its probability goes to no intent. Its counts are trained by
`python -m tools.nlp.train_intent` into intent_words.json (a test checks they match the posts); it
contributes points, not the decision, and names the words that weighed most.
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
# A handle names who is addressed, not what is asked: "@united" must not teach that United's
# customers complain.
_HANDLE = re.compile(r"@[\w.]+")
SMOOTHING = 0.5


def tokens(folded: str) -> set[str]:
    """Words (two letters or more, or ? ¿ !) and adjacent pairs of them, each counted once."""
    words = [w for w in _TOKEN.findall(_HANDLE.sub(" ", folded)) if len(w) > 1 or w in "?¿!"]
    return set(words) | {f"{a} {b}" for a, b in itertools.pairwise(words)}


@dataclass(frozen=True)
class WordModel:
    labels: tuple[str, ...]
    log_prior: tuple[float, ...]
    log_likelihood: dict[str, tuple[float, ...]]
    log_unseen: tuple[float, ...]
    # The words a reason may quote: those of the hand-written posts, never a name from public data.
    quotable: frozenset[str] = frozenset()

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
    quotable = document.get("quotable")
    words = frozenset(quotable) if quotable is not None else frozenset(t for t in counts if " " not in t)
    return WordModel(labels, prior, likelihood, unseen, words)


def from_document(document: dict[str, Any]) -> tuple[WordModel, WordModel | None]:
    """The hand-written posts' model (every intent, six languages) and, when the document has it,
    the public data's (English; complaint, cancel, purchase and none), which quotes the same words."""
    public = document.get("public")
    quotable = document.get("quotable", [])
    return from_counts(document), from_counts({**public, "quotable": quotable}) if public else None


@cache
def _models() -> tuple[WordModel, WordModel | None] | None:
    if not COUNTS_PATH.exists():
        return None
    return from_document(json.loads(COUNTS_PATH.read_text(encoding="utf-8")))


def model() -> WordModel | None:
    models = _models()
    return models[0] if models else None


def public_model() -> WordModel | None:
    models = _models()
    return models[1] if models else None
