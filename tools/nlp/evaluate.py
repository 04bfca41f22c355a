"""Scores the offline analyzer on the labelled posts (tests/data/nlp/labelled_posts.jsonl):
language and sentiment accuracy per language, and personal data found exactly."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from chalicelib.nlp import pii
from chalicelib.nlp.analysis import Analysis, Document
from chalicelib.nlp.local import LocalEngine
from chalicelib.nlp.pipeline import Analyzer

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
