"""The offline analyzer against the labelled posts in tests/data/nlp (written independently of
its training phrases): accuracy floors per language, so a change that makes it worse fails."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from chalicelib.nlp.analysis import Analysis, Document
from chalicelib.nlp.local import WEIGHTS_PATH, LocalEngine
from chalicelib.nlp.pipeline import Analyzer
from tools.nlp.train_sentiment import seed_digest

LABELLED = Path(__file__).resolve().parent.parent / "data" / "nlp" / "labelled_posts.jsonl"
LANGUAGES = ("en", "pt", "es", "it", "cs", "pl")
# Measured 0.96 (language) and 0.81 (sentiment, four labels) overall; floors leave room for noise.
LANGUAGE_FLOOR = 0.9
SENTIMENT_FLOOR = 0.7
SENTIMENT_FLOOR_PER_LANGUAGE = 0.6


def accuracy_by_language() -> dict[str, dict[str, float]]:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    results = Analyzer(LocalEngine()).analyze([Document(row["text"]) for row in rows], redact=False)
    hits: dict[str, dict[str, int]] = defaultdict(lambda: {"language": 0, "sentiment": 0, "n": 0})
    for row, result in zip(rows, results, strict=True):
        assert isinstance(result, Analysis)
        for key in (row["language"], "all"):
            hits[key]["n"] += 1
            hits[key]["language"] += result.language == row["language"]
            hits[key]["sentiment"] += bool(result.sentiment and result.sentiment.label == row["sentiment"])
    return {
        key: {name: value / counts["n"] for name, value in counts.items() if name != "n"}
        for key, counts in hits.items()
    }


@pytest.fixture(scope="module")
def scores() -> dict[str, dict[str, float]]:
    return accuracy_by_language()


def test_every_language_has_at_least_fifty_labelled_posts() -> None:
    rows = [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines()]
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        counts[row["language"]] += 1
    assert all(counts[language] >= 50 for language in LANGUAGES), counts
    assert {row["sentiment"] for row in rows} == {"POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"}


def test_language_detection_is_above_its_floor(scores: dict[str, Any]) -> None:
    assert scores["all"]["language"] >= LANGUAGE_FLOOR, scores


def test_sentiment_is_above_its_floor_overall_and_in_every_language(scores: dict[str, Any]) -> None:
    assert scores["all"]["sentiment"] >= SENTIMENT_FLOOR, scores
    assert all(scores[language]["sentiment"] >= SENTIMENT_FLOOR_PER_LANGUAGE for language in LANGUAGES), scores


def test_the_weights_were_trained_from_the_seed_phrases_in_the_repository() -> None:
    """Change a seed file and forget `python -m tools.nlp.train_sentiment`, and this fails."""
    assert json.loads(WEIGHTS_PATH.read_text())["seed_sha256"] == seed_digest()
