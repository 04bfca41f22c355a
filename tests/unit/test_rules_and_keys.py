"""Pure pieces of the storage design: aggregates, keys, shards; and small request helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models.aggregates import Aggregates
from chalicelib.rules.aggregates import SENTIMENT_ALPHA, add_interaction, ewma
from chalicelib.services.access import bearer
from chalicelib.services.customers import MAX_PAGE, InvalidRequest, page_size
from chalicelib.store import keys

T0 = datetime(2026, 11, 22, 10, 0, 0, 123456, tzinfo=UTC)


def test_the_sentiment_trend_weights_recent_interactions_more() -> None:
    assert ewma(None, -0.8) == -0.8
    assert ewma(-0.8, 1.0) == pytest.approx(SENTIMENT_ALPHA * 1.0 + (1 - SENTIMENT_ALPHA) * -0.8, abs=1e-4)
    score = None
    for value in (1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0, -1.0):
        score = ewma(score, value)
    assert score is not None
    assert score < -0.5  # five complaints outweigh three compliments before them


def test_aggregates_count_per_platform_and_keep_contact_times_in_event_order() -> None:
    first = add_interaction(Aggregates(), "x", T0, polarity=0.5)
    late = add_interaction(first, "telegram", T0 - timedelta(days=1), polarity=None)  # arrived late
    assert late.interaction_count == 2
    assert late.platform_counts == {"x": 1, "telegram": 1}
    assert (late.first_contact_at, late.last_contact_at, late.last_platform) == (T0 - timedelta(days=1), T0, "x")
    assert (late.sentiment_score, late.sentiment_samples) == (0.5, 1)  # no text, no sentiment sample


def test_keys_sort_by_time_and_shards_stay_in_range() -> None:
    assert keys.stamp(T0) == "2026-11-22T10:00:00.123Z"
    assert keys.interaction_sk(T0, "x", "9") < keys.interaction_sk(T0 + timedelta(milliseconds=1), "x", "1")
    shards = {keys.shard(f"customer-{i}") for i in range(1000)}
    assert shards == set(range(keys.SHARDS))
    assert keys.recent(T0, 3) == "RECENT#2026-11-22T10#3"
    assert keys.by_sentiment("NEGATIVE", T0, 5) == "SENTIMENT#NEGATIVE#2026-11-22#5"


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("BEARER abc", "abc"),
        ("Basic abc", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_tokens(header: str | None, token: str | None) -> None:
    assert bearer(header) == token


@pytest.mark.parametrize(("raw", "size"), [(None, 20), ("", 20), ("1", 1), (str(MAX_PAGE), MAX_PAGE)])
def test_page_sizes(raw: str | None, size: int) -> None:
    assert page_size(raw) == size


@pytest.mark.parametrize("raw", ["0", "-1", "101", "ten", "1.5", "١٠"])
def test_bad_page_sizes(raw: str) -> None:
    with pytest.raises(InvalidRequest, match="limit"):
        page_size(raw)
