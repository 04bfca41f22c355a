"""Identities: which customer a (platform, user id) belongs to, created exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.customer import Identity
from chalicelib.models.interaction import Author
from chalicelib.rules.aggregates import current_name
from chalicelib.store import keys
from chalicelib.store.models import CustomerIdentityItem, CustomerItem, IdentityItem
from chalicelib.store.transactions import condition_failed_at, is_condition_failure

IDENTITY = "IDENTITY"
LAST_SEEN_RESOLUTION = timedelta(days=1)


class IdentityStore:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        """The customer behind this identity; the first contact creates one, exactly once."""
        existing = self._identity(platform, author.user_id)
        if existing is None:
            created = self._create_customer(platform, author, seen_at)
            if created is not None:
                return created
            existing = self._identity(platform, author.user_id)
            if existing is None:  # pragma: no cover - the winner's item must exist by now
                raise RuntimeError("identity vanished while resolving")
        self._refresh(existing, author, seen_at)
        return existing.customer_id

    def identify(self, platform: str, user_id: str, seen_at: datetime) -> str:
        """The customer behind this identity, created (without names) if it is new: a reply of the
        brand's may name a customer before their own message arrives. Nothing of an existing
        identity changes: the brand writing to someone is not seeing them."""
        existing = self._identity(platform, user_id)
        if existing is not None:
            return existing.customer_id
        created = self._create_customer(platform, Author(user_id=user_id), seen_at)
        if created is not None:
            return created
        existing = self._identity(platform, user_id)
        if existing is None:  # pragma: no cover - the winner's item must exist by now
            raise RuntimeError("identity vanished while resolving")
        return existing.customer_id

    def detach(self, platform: str, user_id: str, customer_id: str) -> None:
        """Let go of an identity that leads to a customer being erased, so that the person's
        message starts a new customer instead of failing until the erasure is finished (an erasure
        interrupted half-way may be run again much later). Only while it leads to that customer."""
        try:
            IdentityItem(keys.identity(platform, user_id), IDENTITY).delete(
                condition=IdentityItem.customer_id == customer_id
            )
        except DeleteError as exc:
            if not is_condition_failure(exc):
                raise

    def customer_for(self, platform: str, user_id: str) -> str | None:
        item = self._identity(platform, user_id)
        return item.customer_id if item else None

    def identities(self, customer_id: str) -> list[Identity]:
        items = CustomerIdentityItem.query(keys.customer(customer_id), CustomerIdentityItem.sk.startswith("IDENTITY#"))
        return [
            Identity(
                platform=item.platform,
                user_id=item.user_id,
                customer_id=item.customer_id,
                handle=item.handle,
                display_name=item.display_name,
                first_seen_at=item.first_seen_at,
                last_seen_at=item.last_seen_at,
            )
            for item in items
        ]

    def _identity(self, platform: str, user_id: str) -> IdentityItem | None:
        try:
            return IdentityItem.get(keys.identity(platform, user_id), IDENTITY, consistent_read=True)
        except DoesNotExist:
            return None

    def _create_customer(self, platform: str, author: Author, seen_at: datetime) -> str | None:
        """Identity, its listing and a new profile in one transaction that fails if the identity
        exists: two first messages at once make one customer. None when the other one won."""
        customer_id = str(uuid.uuid4())
        names: dict[str, Any] = {"handle": author.handle, "display_name": author.display_name}
        fields: dict[str, Any] = {
            "customer_id": customer_id,
            "platform": platform,
            "user_id": author.user_id,
            "first_seen_at": seen_at,
            "last_seen_at": seen_at,
            **names,
        }
        identity = IdentityItem(keys.identity(platform, author.user_id), IDENTITY, **fields)
        listed = CustomerIdentityItem(keys.customer(customer_id), f"IDENTITY#{platform}#{author.user_id}", **fields)
        profile = CustomerItem(
            keys.customer(customer_id), keys.PROFILE, customer_id=customer_id, created_at=datetime.now(UTC), **names
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.save(identity, condition=IdentityItem.pk.does_not_exist())
                transaction.save(listed)
                transaction.save(profile)
        except TransactWriteError as exc:
            if condition_failed_at(exc, 0):
                return None
            raise
        return customer_id

    def _refresh(self, item: IdentityItem, author: Author, seen_at: datetime) -> None:
        """Keep handles and display names current; never blank one the platform left out. (The
        profile's copy is refreshed with the next interaction's aggregates, under its version.)"""
        newer = seen_at >= item.last_seen_at
        handle = current_name(author.handle, item.handle, newer)
        display_name = current_name(author.display_name, item.display_name, newer)
        renamed = (handle, display_name) != (item.handle, item.display_name)
        if not renamed and seen_at < item.last_seen_at + LAST_SEEN_RESOLUTION:
            return  # nothing new worth two writes: last seen is kept to the day
        last_seen = max(seen_at, item.last_seen_at)
        listed = CustomerIdentityItem(keys.customer(item.customer_id), f"IDENTITY#{item.platform}#{item.user_id}")
        for target, model in ((item, IdentityItem), (listed, CustomerIdentityItem)):
            actions: list[Action] = [
                model.handle.set(handle) if handle else model.handle.remove(),
                model.display_name.set(display_name) if display_name else model.display_name.remove(),
                model.last_seen_at.set(last_seen),
            ]
            try:  # never recreate an identity an erasure removed since it was read
                target.update(actions=actions, condition=model.pk.exists())
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
                return
