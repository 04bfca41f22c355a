"""Rolling per-customer figures, as pure functions of the old figures and one interaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from chalicelib.models.aggregates import Aggregates

# Weight of the newest interaction in the sentiment trend: after about five interactions an old
# mood has faded to a sixth of its weight, quick enough to notice a customer turning.
SENTIMENT_ALPHA = 0.3


def ewma(previous: float | None, value: float, alpha: float = SENTIMENT_ALPHA) -> float:
    """Exponentially weighted moving average; the first value starts the trend."""
    if previous is None:
        return round(value, 4)
    return round(alpha * value + (1 - alpha) * previous, 4)


def add_interaction(current: Aggregates, platform: str, occurred_at: datetime, polarity: float | None) -> Aggregates:
    """Counts, contact times and the sentiment trend after one more interaction. Interactions
    can arrive out of order (platforms retry); contact times use the event's own time."""
    counts = dict(current.platform_counts)
    counts[platform] = counts.get(platform, 0) + 1
    latest = current.last_contact_at is None or occurred_at >= current.last_contact_at
    updated = replace(
        current,
        interaction_count=current.interaction_count + 1,
        platform_counts=counts,
        first_contact_at=min(filter(None, (current.first_contact_at, occurred_at))),
        last_contact_at=occurred_at if latest else current.last_contact_at,
        last_platform=platform if latest else current.last_platform,
    )
    if polarity is None:
        return updated
    return replace(
        updated,
        sentiment_score=ewma(current.sentiment_score, polarity),
        sentiment_samples=current.sentiment_samples + 1,
    )


def current_name(incoming: str | None, stored: str | None, newer: bool) -> str | None:
    """The handle or display name to keep: a message newer than what we have renames; a late,
    older one (platforms and queues do reorder) may only fill a name we lack. A name the
    platform left out never blanks one we know."""
    return (incoming or stored) if newer else (stored or incoming)
