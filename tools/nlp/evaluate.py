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
from chalicelib.rules.intent import LEARNED_WEIGHT, IntentClassifier, IntentInput, default_classifier
from chalicelib.rules.intent_words import from_document

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
            # The engine learned three labels from real posts; the labelled posts' MIXED ones are
            # left out of its score rather than counted as certain misses.
            if row["sentiment"] != "MIXED":
                tally["sentiment_posts"] += 1
                tally["sentiment"] += bool(result.sentiment and result.sentiment.label == row["sentiment"])
            tally["pii_expected"] += len(want)
            tally["pii_found"] += len(got)
            tally["pii_right"] += len(want & got)
    return {
        key: {
            "posts": tally["posts"],
            "language": tally["language"] / tally["posts"],
            "sentiment": tally["sentiment"] / tally["sentiment_posts"],
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


def cross_validate_intents(
    posts: list[dict[str, Any]],
    folds: int,
    inputs: list[IntentInput] | None = None,
    learned_weight: float = LEARNED_WEIGHT,
) -> dict[float, dict[str, float]]:
    """Per weight of the public data's words, cue lexicon + both word models scored on each fold
    with the words counted without it: macro-F1 over the development posts ("dev") and, on the public train rows, F1 of
    each scored intent on the sources that label it. Train posts only; analysing them all with
    the offline engine takes minutes (pass `inputs` to reuse an analysis)."""
    from tools.nlp.train_intent import count

    inputs = inputs if inputs is not None else intent_inputs(posts)
    scores: dict[float, dict[str, float]] = {}
    for weight in PUBLIC_WEIGHTS:
        predicted: list[str] = [""] * len(posts)
        for fold in range(folds):
            kept = [post for i, post in enumerate(posts) if i % folds != fold]
            words, public = from_document(count(kept))
            classifier = IntentClassifier(words, learned_weight, public, weight)
            for i in range(fold, len(posts), folds):
                predicted[i] = classifier.classify(inputs[i]).label.value
        dev = [(post["intent"], got) for post, got in zip(posts, predicted, strict=True) if post["source"] == "dev"]
        found = {"dev": macro_f1(dev)} if dev else {}
        for intent, per_source in _binary_figures(posts, predicted).items():
            found[intent] = per_source["all"]["f1"]
        scores[weight] = found
    return scores


PUBLIC_WEIGHTS = (0.0, 1.0, 1.5, 2.0, 2.5, 3.0)


def intent_eval_rows() -> list[dict[str, Any]]:
    """The held-out split of the public intent data (tools/nlp/data/intent-eval.jsonl.gz)."""
    from tools.nlp.intent_corpora import EVAL_PATH, read

    return [{"text": r.text, "intent": r.intent, "language": r.language, "source": r.source} for r in read(EVAL_PATH)]


def _binary(pairs: list[tuple[str, str]], label: str) -> dict[str, float]:
    tp = sum(1 for want, got in pairs if want == label == got)
    fp = sum(1 for want, got in pairs if want != label and got == label)
    fn = sum(1 for want, got in pairs if want == label and got != label)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": tp + fn, "rows": len(pairs)}


def _binary_figures(rows: list[dict[str, Any]], predicted: list[str]) -> dict[str, dict[str, dict[str, float]]]:
    from tools.nlp.intent_corpora import SCORED_ON

    figures: dict[str, dict[str, dict[str, float]]] = {}
    for intent, sources in SCORED_ON.items():
        per_source: dict[str, dict[str, float]] = {}
        for source in (*sources, "all"):
            pairs = [
                (row["intent"], got)
                for row, got in zip(rows, predicted, strict=True)
                if row["source"] == source or (source == "all" and row["source"] in sources)
            ]
            if pairs:
                per_source[source] = _binary(pairs, intent)
        figures[intent] = per_source
    return figures


def intent_figures(rows: list[dict[str, Any]] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """Precision, recall and F1 of complaint, cancel and purchase intent on the held-out split of
    the public data: {intent: {source or "all": {"precision", "recall", "f1", "support", "rows"}}}.
    Each intent is scored on the sources that label it, a prediction of it counting as a hit and
    any other as a miss (tools.nlp.intent_corpora.SCORED_ON); the issue's complaint figure is
    `["complaint"]["airline"]`, real tweets. Sentiment comes from the offline analyzer as it is
    now (nothing is cached), so retraining that model moves these figures; about 3,600 texts, a
    minute or more."""
    rows = rows if rows is not None else intent_eval_rows()
    classifier = default_classifier()
    predicted = [classifier.classify(facts).label.value for facts in intent_inputs(rows)]
    return _binary_figures(rows, predicted)
