"""Crisis watch state per brand, and the negative interactions it counts (from the sentiment index)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import cast

from pynamodb.exceptions import PutError

from chalicelib.models.customer import RecentInteraction
from chalicelib.models.interaction import iso
from chalicelib.rules.crisis import CrisisState
from chalicelib.store import keys
from chalicelib.store.models import CrisisStateItem
from chalicelib.store.serde import parse_time
from chalicelib.store.transactions import is_condition_failure
from chalicelib.store.views import CustomerViews

STATE = "STATE"


class CrisisStore:
    def __init__(self) -> None:
        self._views = CustomerViews()

    def states(self) -> dict[str, CrisisState]:
        return {
            item.brand: CrisisState(
                brand=item.brand,
                counts={parse_time(start): int(count) for start, count in (item.buckets or {}).items()},
                episode_started_at=item.episode_started_at,
                episodes=int(item.episodes or 0),
                version=int(item.version or 0),
            )
            for item in cast(Iterable[CrisisStateItem], CrisisStateItem.worklist.query("CRISIS"))
        }

    def negatives(self, since: datetime, until: datetime) -> list[RecentInteraction]:
        return self._views.recent(since, until, sentiment="NEGATIVE")

    def save(self, state: CrisisState) -> bool:
        """False if another run saved this brand's state since it was read (this run's is dropped)."""
        item = CrisisStateItem(
            keys.crisis(state.brand),
            STATE,
            brand=state.brand,
            buckets={iso(start): count for start, count in sorted(state.counts.items())},
            episode_started_at=state.episode_started_at,
            episodes=state.episodes,
            gsi3sk=state.brand,
        )
        if state.version:
            item.version = state.version
        try:
            item.save()
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True
