"""The customer store: identities, timelines and views over one DynamoDB table (PynamoDB),
behind plain domain models. One object for the services; the parts live in identities.py,
timeline.py and views.py."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.models.customer import Customer, Identity, RecentInteraction, StoredInteraction, StoredText
from chalicelib.models.decision import IntentResult
from chalicelib.models.events import DomainEvent
from chalicelib.models.interaction import Author, Interaction
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis
from chalicelib.store import keys
from chalicelib.store.identities import IdentityStore
from chalicelib.store.models import CustomerItem
from chalicelib.store.timeline import TimelineWriter
from chalicelib.store.transactions import is_condition_failure
from chalicelib.store.views import CustomerViews

SEGMENT_ATTEMPTS = 5


class CustomerStore:
    def __init__(self, retention_days: int) -> None:
        connection = Connection()
        self._identities = IdentityStore(connection, retention_days)
        self._timeline = TimelineWriter(connection, retention_days)
        self._views = CustomerViews()

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        return self._identities.resolve(platform, author, seen_at)

    def identify(self, platform: str, user_id: str, seen_at: datetime) -> str:
        return self._identities.identify(platform, user_id, seen_at)

    def detach(self, platform: str, user_id: str, customer_id: str, written_at: datetime) -> None:
        self._identities.detach(platform, user_id, customer_id, written_at)

    def customer_for(self, platform: str, user_id: str) -> str | None:
        return self._identities.customer_for(platform, user_id)

    def customer_of(self, platform: str, external_id: str) -> str | None:
        return self._timeline.customer_of(platform, external_id)

    def identities(self, customer_id: str) -> list[Identity]:
        return self._identities.identities(customer_id)

    def add(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        decide: Callable[[CustomerSnapshot], Decision],
    ) -> Decision | None:
        return self._timeline.add(customer_id, interaction, analysis, stored, decide)

    def await_parent(self, reply: Interaction, stored: StoredText) -> bool:
        return self._timeline.await_parent(reply, stored)

    def stored_events(self, interactions: Sequence[Interaction]) -> dict[str, tuple[DomainEvent, ...]]:
        return self._timeline.stored_events(interactions)

    def revise(
        self, interaction: Interaction, analysis: Analysis | None, stored: StoredText, intent: IntentResult | None
    ) -> bool:
        return self._timeline.revise(interaction, analysis, stored, intent)

    def delete(self, interaction: Interaction) -> None:
        self._timeline.delete(interaction)

    def deleted(self, interaction: Interaction) -> bool:
        return self._timeline.deleted(interaction)

    def customer(self, customer_id: str) -> Customer | None:
        return self._views.customer(customer_id)

    def set_segments(self, customer_id: str, segments: frozenset[str]) -> bool:
        """Replace the customer's segments; False if there is no such customer. The profile is
        versioned (the processor updates it too), so a conflicting write is read again and retried."""
        for _ in range(SEGMENT_ATTEMPTS):
            try:
                profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
            except DoesNotExist:
                return False
            action = CustomerItem.segments.set(set(segments)) if segments else CustomerItem.segments.remove()
            try:
                profile.update(actions=[action])
            except UpdateError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return True
        raise RuntimeError(f"customer {customer_id} kept changing; giving up after {SEGMENT_ATTEMPTS} attempts")

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]:
        return self._views.interactions(customer_id, limit, cursor)

    def recent(self, since: datetime, until: datetime, sentiment: str | None = None) -> list[RecentInteraction]:
        return self._views.recent(since, until, sentiment)

    def interactions_of(self, customer_id: str, refs: Sequence[str]) -> list[StoredInteraction]:
        return self._views.interactions_of(customer_id, refs)
