"""The customers as the segment job reads them (their profiles, listed by shard in the `recent`
index), the segments it gives them, and each day's segment sizes and clusters."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.insight.segments import Customer
from chalicelib.rules import churn
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, SegmentSizesItem
from chalicelib.store.serde import churn_from_json
from chalicelib.store.transactions import is_condition_failure

PURCHASE = "purchase_intent"  # the signal services/decide.py records
ATTEMPTS = 3


class SegmentStore:
    def customers(self, now: datetime) -> Iterator[tuple[CustomerItem, Customer]]:
        """Every listed customer's profile (batch_get reads a hundred a request) and what the segments
        read of it."""
        for shard in range(keys.SHARDS):
            ids = [(found.pk, found.sk) for found in CustomerItem.by_shard.query(keys.profiles(shard))]
            for profile in CustomerItem.batch_get(ids) if ids else ():
                if cast(datetime | None, profile.erasing_at) is None:  # not being erased
                    yield profile, customer_of(profile, now)

    def give(self, profile: CustomerItem, segments: frozenset[str]) -> bool:
        """Set the job's segments on the profile if they changed (versioned: a profile the processor
        moved meanwhile is read again). True if written."""
        for _ in range(ATTEMPTS):
            if frozenset(profile.auto_segments or ()) == segments:
                return False
            action = CustomerItem.auto_segments.set(set(segments)) if segments else CustomerItem.auto_segments.remove()
            try:
                profile.update(actions=[action])
                return True
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
            try:
                profile = CustomerItem.get(profile.pk, profile.sk, consistent_read=True)
            except DoesNotExist:  # erased meanwhile
                return False
        return False

    def save_day(
        self, day: str, sizes: dict[str, int], clusters: list[dict[str, Any]], version: str, now: datetime
    ) -> None:
        SegmentSizesItem(
            keys.segments(day[:7]), day[8:10], sizes=sizes, clusters=clusters, version=version, counted_at=now
        ).save()

    def days(self, first: str, last: str) -> list[dict[str, Any]]:
        found = []
        for month in keys.months(first, last):
            for item in SegmentSizesItem.query(keys.segments(month)):
                day = f"{month}-{item.sk}"
                if first <= day <= last:
                    found.append({"date": day, "sizes": dict(item.sizes or {}), "clusters": list(item.clusters or []),
                                  "version": item.version})  # fmt: skip
        return found


def customer_of(profile: CustomerItem, now: datetime) -> Customer:
    state = churn_from_json(profile.churn)

    def weight(*names: str) -> float:
        return sum(state.signals[name].decayed(now) for name in names if name in state.signals)

    return Customer(
        customer_id=profile.customer_id,
        interactions=int(profile.interaction_count or 0),
        sentiment=float(profile.sentiment_score) if profile.sentiment_score is not None else None,
        churn_risk=float(profile.churn_risk or 0.0),
        last_contact_at=profile.last_contact_at,
        complaints=weight(churn.COMPLAINT, churn.CANCEL_INTENT, churn.COMPETITOR),
        purchase=weight(PURCHASE),
        channels=len(profile.platform_counts.as_dict() or {}) if profile.platform_counts is not None else 0,
        waiting=weight(churn.SLA_BREACH),
    )
