"""A customer's rolling figures, as the profile keeps them (the rules that move them: rules/aggregates.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Aggregates:
    interaction_count: int = 0
    platform_counts: dict[str, int] = field(default_factory=dict)
    sentiment_score: float | None = None
    sentiment_samples: int = 0
    first_contact_at: datetime | None = None
    last_contact_at: datetime | None = None
    last_platform: str | None = None
