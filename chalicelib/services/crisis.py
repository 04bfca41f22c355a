"""The crisis watch (a schedule): per brand (the account that received the interactions), negative
volume now against the last day's, one `Crisis Alert` per episode. Publish first, then save: an
alert whose publishing fails leaves the state unsaved, so the next run raises it again."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.models.customer import RecentInteraction
from chalicelib.models.events import DomainEvent
from chalicelib.observability import logger
from chalicelib.ports import EventPublisher
from chalicelib.rules import catalogue, crisis
from chalicelib.rules.crisis import CrisisState
from chalicelib.rules.routing import RoutingDocument

SAMPLES = 5
TOPIC_SAMPLE = 200  # the burst's newest messages read for what it is about
NO_BRAND = "unknown"


class CrisisRepository(Protocol):
    def states(self) -> dict[str, CrisisState]: ...

    def negatives(self, since: datetime, until: datetime) -> list[RecentInteraction]: ...

    def save(self, state: CrisisState) -> bool: ...


@dataclass
class CrisisReport:
    brands: int = 0
    negatives: int = 0
    started: list[str] = field(default_factory=list)
    ended: list[str] = field(default_factory=list)
    unpublished: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "brands": self.brands,
            "negatives": self.negatives,
            "started": len(self.started),
            "ended": len(self.ended),
            "unpublished": self.unpublished,
        }


class CrisisWatch:
    def __init__(
        self,
        store: CrisisRepository,
        bus: EventPublisher,
        routing: RoutingDocument,
        about: Callable[[list[RecentInteraction]], str | None] | None = None,
    ) -> None:
        self._store = store
        self._bus = bus
        self._settings = routing.crisis
        self._about = about  # what the burst's messages talk about (insight/topic_service.py)

    def run(self, now: datetime) -> CrisisReport:
        report = CrisisReport()
        states = self._store.states()
        fresh_since = crisis.recount_since(now, self._settings, fresh=True)
        recent_since = crisis.recount_since(now, self._settings, fresh=False)
        since = recent_since if states else fresh_since
        negatives = self._store.negatives(since, now)
        by_brand: dict[str, list[RecentInteraction]] = defaultdict(list)
        for found in negatives:
            by_brand[found.account_id or NO_BRAND].append(found)
        if states and any(brand not in states for brand in by_brand):
            # A brand never seen: its baseline needs the whole window.
            negatives = self._store.negatives(fresh_since, now)
            by_brand = defaultdict(list)
            for found in negatives:
                by_brand[found.account_id or NO_BRAND].append(found)
        report.negatives = len(negatives)
        for brand in sorted(set(states) | set(by_brand)):
            state = states.get(brand, CrisisState(brand))
            start = recent_since if brand in states else fresh_since
            items = [found for found in by_brand.get(brand, []) if found.occurred_at >= start]
            counts = Counter(crisis.bucket_start(found.occurred_at, self._settings.bucket_minutes) for found in items)
            result = crisis.step(state, counts, start, now, self._settings)
            report.brands += 1
            if result.started:
                current = [f for f in items if f.occurred_at >= result.reading.bucket_start]
                event = self._alert(brand, result, current)
                if not all(self._bus.publish([event])):
                    report.unpublished += 1
                    continue  # not saved: the next run finds the episode new again
                report.started.append(brand)
            if result.ended:
                report.ended.append(brand)
            if not self._store.save(result.state):
                # Another run saved this brand meanwhile; its state stands. An alert this run sent
                # is the same episode number, so the notifier knows it for a repeat.
                logger.warning("crisis state changed during the run", extra={"brand": brand})
        return report

    def _alert(self, brand: str, result: crisis.Step, current: list[RecentInteraction]) -> DomainEvent:
        latest = sorted(current, key=lambda found: found.occurred_at, reverse=True)[:SAMPLES]
        reading = result.reading
        return catalogue.crisis_alert(
            brand=brand,
            episode=result.state.episodes,
            started_at=result.state.episode_started_at or reading.bucket_start,
            bucket_start=reading.bucket_start,
            bucket_end=reading.bucket_end,
            negative_count=reading.count,
            baseline_mean=reading.mean,
            baseline_stdev=reading.stdev,
            z_score=reading.z,
            samples=[
                {"customer_id": f.customer_id, "platform": f.platform, "external_id": f.external_id} for f in latest
            ],
            topic=self._topic(current),
        )

    def _topic(self, current: list[RecentInteraction]) -> str | None:
        """The topic most of the burst's messages name, if one is named enough; a failure to tell
        leaves the alert without it rather than holding the alert back."""
        if self._about is None or not current:
            return None
        try:
            return self._about(sorted(current, key=lambda found: found.occurred_at, reverse=True)[:TOPIC_SAMPLE])
        except Exception as exc:
            logger.warning("crisis topic not found", extra={"error": type(exc).__name__})
            return None
