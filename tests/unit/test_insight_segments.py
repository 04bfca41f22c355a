"""The segments document's validation, its rules, and the clusters' words and stability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.insight import segments
from chalicelib.insight.segments import Customer, SegmentError

NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_the_default_document_is_valid_and_bad_ones_say_where() -> None:
    document = segments.default_document()
    assert {rule.name for rule in document.rules} >= {"promoters", "detractors", "at-risk", "leads", "dormant"}
    bad = [
        ({"version": "1", "segments": []}, "at least one segment"),
        ({"version": "1", "segments": [{"name": "Bad Name", "when": {"min_interactions": 1}}]}, "segments[0].name"),
        ({"version": "1", "segments": [{"name": "cluster-9", "when": {"min_interactions": 1}}]}, "cluster-*"),
        ({"version": "1", "segments": [{"name": "x", "when": {"min_shoe_size": 1}}]}, "when.min_shoe_size"),
        ({"version": "1", "segments": [{"name": "x", "when": {"min_interactions": "3"}}]}, "a number"),
        ({"segments": [{"name": "x", "when": {"min_interactions": 1}}]}, "version"),
    ]
    for data, says in bad:
        with pytest.raises(SegmentError, match=says.replace("[", r"\[").replace("]", r"\]").replace("*", r"\*")):
            segments.parse(data)


def customer(n: int, interactions: int, sentiment: float, quiet: float) -> Customer:
    return Customer(f"c{n}", interactions, sentiment, 0.1, NOW - timedelta(days=quiet), 0.0, 0.0, 1)


def test_clusters_are_the_same_whatever_order_the_customers_come_in_and_read_in_words() -> None:
    people = [customer(n, 20 + n % 3, 0.8, 1) for n in range(10)] + [customer(100 + n, 1, -0.7, 120) for n in range(10)]
    found, assigned = segments.clusters(people, NOW, k=2)
    again, reassigned = segments.clusters(list(reversed(people)), NOW, k=2)
    assert assigned == reassigned
    assert [c.description for c in found] == [c.description for c in again]
    words = {c.description for c in found}
    assert any("frequent" in w and "positive" in w for w in words)
    assert any("long quiet" in w and "negative" in w for w in words)
    assert segments.describe({"recency": 0.1, "sentiment": -0.2}) == "typical"
    assert segments.clusters(people[:1], NOW, k=2) == ([], {})


def test_the_segments_tool_checks_a_document_as_the_job_reads_it(tmp_path: Any, capsys: Any) -> None:
    from tools import segments as tool

    assert tool.main(["show"]) == 0
    assert "promoters: min_sentiment 0.4, min_interactions 3" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": "2", "segments": [{"name": "x", "when": {"min_mood": 1}}]}')
    assert tool.main(["check", str(bad)]) == 1
    assert "when.min_mood: not a condition" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert tool.main(["check", str(broken)]) == 1
    assert capsys.readouterr().err.startswith("unreadable:")
