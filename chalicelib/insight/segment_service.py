"""The daily segment job, and the segments' sizes over time.

Each customer gets the segments whose rules hold (the segments document) and the cluster found for
them; what people gave by hand stays apart (`segments` on the profile) and routing reads both. The
sizes of every segment and cluster are kept per day with the clusters' centres and descriptions."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, datetime
from typing import Any, Protocol

from chalicelib.insight.segments import Customer, SegmentDocument, by_rule, clusters
from chalicelib.insight.service import day_range


class SegmentRepository(Protocol):
    def customers(self, now: datetime) -> Iterator[tuple[Any, Customer]]: ...

    def give(self, profile: Any, segments: frozenset[str]) -> bool: ...

    def save_day(
        self, day: str, sizes: dict[str, int], clusters: list[dict[str, Any]], version: str, now: datetime
    ) -> None: ...

    def days(self, first: str, last: str) -> list[dict[str, Any]]: ...


class Segments:
    def __init__(self, store: SegmentRepository, document: SegmentDocument) -> None:
        self._store = store
        self._document = document

    def run(self, now: datetime) -> dict[str, Any]:
        read = list(self._store.customers(now))
        profiles = [profile for profile, _ in read]
        customers = [customer for _, customer in read]
        found, assigned = clusters(customers, now)
        sizes: Counter[str] = Counter({rule.name: 0 for rule in self._document.rules})  # empty ones too
        changed = 0
        for profile, customer in zip(profiles, customers, strict=True):
            segments = frozenset(by_rule(self._document, customer, now)) | (
                {assigned[customer.customer_id]} if customer.customer_id in assigned else set()
            )
            sizes.update(segments)
            changed += int(self._store.give(profile, segments))
        day = now.date().isoformat()
        described = [asdict(cluster) for cluster in found]
        self._store.save_day(day, dict(sizes), described, self._document.version, now)
        return {"customers": len(customers), "changed": changed, "sizes": dict(sizes)}

    def report(self, params: dict[str, str], today: date) -> dict[str, Any]:
        first, last = day_range(params, today)
        days = self._store.days(first, last)
        latest = days[-1] if days else None
        return {
            "from": first,
            "to": last,
            "version": latest["version"] if latest else self._document.version,
            "segments": [
                {"segment": rule.name, "description": rule.description, "when": dict(rule.when)}
                for rule in self._document.rules
            ],
            "clusters": latest["clusters"] if latest else [],
            "rows": [
                {"date": day["date"], "segment": name, "size": size}
                for day in days
                for name, size in sorted(day["sizes"].items())
            ],
        }
