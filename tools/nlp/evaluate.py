"""Scores the offline analyzer on the labelled posts (tests/data/nlp/labelled_posts.jsonl):
language and sentiment accuracy per language, personal data found exactly, and the intent
classifier's macro-F1 (with the offline analyzer's sentiment, as on the local stack)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from chalicelib.models.decision import Intent
from chalicelib.nlp import pii
from chalicelib.nlp.analysis import Analysis, Document
from chalicelib.nlp.local import LocalEngine
from chalicelib.nlp.pipeline import Analyzer
from chalicelib.rules.intent import IntentClassifier, IntentInput, default_classifier
from chalicelib.rules.intent_words import from_counts

LABELLED = Path(__file__).resolve().parents[2] / "tests" / "data" / "nlp" / "labelled_posts.jsonl"


def labelled() -> list[dict[str, Any]]:
    return [json.loads(line) for line in LABELLED.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, float]]:
    """{language or "all": {"posts", "language", "sentiment", "pii_recall", "pii_precision"}}."""
    rows = rows if rows is not None else labelled()
    results = Analyzer(LocalEngine()).analyze([Document(row["text"]) for row in rows], redact=False)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for row, result in zip(rows, results, strict=True):
        assert isinstance(result, Analysis)
        want = {(item["type"], item["text"]) for item in row["pii"]}
        got = {(span.type, row["text"][span.begin : span.end]) for span in pii.find(row["text"])}
        for key in (row["language"], "all"):
            tally = counts[key]
            tally["posts"] += 1
            tally["language"] += result.language == row["language"]
            tally["sentiment"] += bool(result.sentiment and result.sentiment.label == row["sentiment"])
            tally["pii_expected"] += len(want)
            tally["pii_found"] += len(got)
            tally["pii_right"] += len(want & got)
    return {
        key: {
            "posts": tally["posts"],
            "language": tally["language"] / tally["posts"],
            "sentiment": tally["sentiment"] / tally["posts"],
            "pii_recall": tally["pii_right"] / tally["pii_expected"] if tally["pii_expected"] else 1.0,
            "pii_precision": tally["pii_right"] / tally["pii_found"] if tally["pii_found"] else 1.0,
        }
        for key, tally in counts.items()
    }


INTENT_LABELS = tuple(intent.value for intent in Intent)


def macro_f1(pairs: list[tuple[str, str]], labels: tuple[str, ...] = INTENT_LABELS) -> float:
    """Mean over labels of F1, from (expected, predicted) pairs: every intent weighs the same,
    so the rarer spam and cancel intents count as much as the many complaints."""
    total = 0.0
    for label in labels:
        tp = sum(1 for want, got in pairs if want == label == got)
        fp = sum(1 for want, got in pairs if want != label and got == label)
        fn = sum(1 for want, got in pairs if want == label and got != label)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        total += 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return total / len(labels)


def intent_inputs(rows: list[dict[str, Any]]) -> list[IntentInput]:
    """What the processor hands the classifier, with the offline analyzer's language and sentiment."""
    results = Analyzer(LocalEngine()).analyze([Document(row["text"]) for row in rows], redact=False)
    inputs = []
    for row, result in zip(rows, results, strict=True):
        assert isinstance(result, Analysis)
        sentiment = result.sentiment
        inputs.append(
            IntentInput(
                text=row["text"],
                language=result.language,
                sentiment=sentiment.label if sentiment else None,
                sentiment_scores=dict(sentiment.scores) if sentiment else {},
                entity_types=tuple(entity.type for entity in result.entities),
                rating=row.get("rating"),
            )
        )
    return inputs


def intent_scores(rows: list[dict[str, Any]] | None = None) -> dict[str, float]:
    """Macro-F1 of the intent classifier per language and over all ("all") on the labelled posts."""
    rows = rows if rows is not None else labelled()
    classifier = default_classifier()
    pairs: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row, facts in zip(rows, intent_inputs(rows), strict=True):
        got = classifier.classify(facts).label.value
        for key in (row["language"], "all"):
            pairs[key].append((row["intent"], got))
    return {key: macro_f1(found) for key, found in pairs.items()}


def cross_validate_intents(posts: list[dict[str, Any]], folds: int) -> dict[float, float]:
    """Macro-F1 of cue lexicon + learned words, each fold's words counted without that fold."""
    from tools.nlp.train_intent import count

    inputs = intent_inputs(posts)
    scores: dict[float, float] = {}
    for weight in LEARNED_WEIGHTS:
        pairs: list[tuple[str, str]] = []
        for fold in range(folds):
            held = [i for i in range(len(posts)) if i % folds == fold]
            kept = [post for i, post in enumerate(posts) if i % folds != fold]
            classifier = IntentClassifier(from_counts(count(kept)), weight)
            pairs += [(posts[i]["intent"], classifier.classify(inputs[i]).label.value) for i in held]
        scores[weight] = macro_f1(pairs)
    return scores


LEARNED_WEIGHTS = (0.0, 0.5, 1.0, 1.5, 2.0, 3.0)
