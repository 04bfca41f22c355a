"""The customer store: identities, timelines and views over one DynamoDB table (PynamoDB),
behind plain domain models. One object for the services; the parts live in identities.py,
timeline.py and views.py."""

from __future__ import annotations

from datetime import datetime

from pynamodb.connection import Connection

from chalicelib.models.customer import Customer, Identity, RecentInteraction, StoredInteraction, StoredText
from chalicelib.models.interaction import Author, Interaction
from chalicelib.nlp.analysis import Analysis
from chalicelib.store.identities import IdentityStore
from chalicelib.store.timeline import TimelineWriter
from chalicelib.store.views import CustomerViews


class CustomerStore:
    def __init__(self, retention_days: int) -> None:
        connection = Connection()
        self._identities = IdentityStore(connection)
        self._timeline = TimelineWriter(connection, retention_days)
        self._views = CustomerViews()

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        return self._identities.resolve(platform, author, seen_at)

    def customer_for(self, platform: str, user_id: str) -> str | None:
        return self._identities.customer_for(platform, user_id)

    def customer_of(self, platform: str, external_id: str) -> str | None:
        return self._timeline.customer_of(platform, external_id)

    def identities(self, customer_id: str) -> list[Identity]:
        return self._identities.identities(customer_id)

    def add(self, customer_id: str, interaction: Interaction, analysis: Analysis | None, stored: StoredText) -> bool:
        return self._timeline.add(customer_id, interaction, analysis, stored)

    def revise(self, interaction: Interaction, analysis: Analysis | None, stored: StoredText) -> bool:
        return self._timeline.revise(interaction, analysis, stored)

    def delete(self, interaction: Interaction) -> None:
        self._timeline.delete(interaction)

    def deleted(self, interaction: Interaction) -> bool:
        return self._timeline.deleted(interaction)

    def keep_pending(self, interaction: Interaction) -> None:
        self._timeline.keep_pending(interaction)

    def customer(self, customer_id: str) -> Customer | None:
        return self._views.customer(customer_id)

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]:
        return self._views.interactions(customer_id, limit, cursor)

    def recent(self, since: datetime, until: datetime, sentiment: str | None = None) -> list[RecentInteraction]:
        return self._views.recent(since, until, sentiment)
