"""Identities: which customer a (platform, user id) belongs to, created exactly once; and the
suppression records of erased identities, which keep a person's messages written before their
erasure from making them a customer again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.customer import Identity
from chalicelib.models.interaction import Author
from chalicelib.ports import WrittenBeforeErasure
from chalicelib.rules.aggregates import current_name
from chalicelib.store import keys
from chalicelib.store.models import CustomerIdentityItem, CustomerItem, ErasedItem, IdentityItem
from chalicelib.store.transactions import condition_failed_at, is_condition_failure

IDENTITY = "IDENTITY"
LAST_SEEN_RESOLUTION = timedelta(days=1)
# How much longer than the retention an erased identity's suppression record is kept. A message
# written before the erasure may reach us well after it was written (WhatsApp redelivers for a
# week), and a delivery kept for replay is kept the retention from when it arrived, not from when
# it was written; after the record expires, such a message would already be past its own TTL.
SUPPRESSION_MARGIN = timedelta(days=30)
# _create_customer's transaction: the erased-identity check goes first (PynamoDB sends condition
# checks before puts), then the identity's put.
_SUPPRESSION, _IDENTITY = 0, 1


class IdentityStore:
    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        """The customer behind this identity; the first contact creates one, exactly once. Raises
        WrittenBeforeErasure for a message written before its author's erasure was requested."""
        existing = self._identity(platform, author.user_id)
        if existing is not None:
            self._written_after_erasure(existing, seen_at)
        else:
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
        identity changes: the brand writing to someone is not seeing them. Raises
        WrittenBeforeErasure for a reply written before its recipient's erasure was requested."""
        existing = self._identity(platform, user_id)
        if existing is not None:
            self._written_after_erasure(existing, seen_at)
            return existing.customer_id
        created = self._create_customer(platform, Author(user_id=user_id), seen_at)
        if created is not None:
            return created
        existing = self._identity(platform, user_id)
        if existing is None:  # pragma: no cover - the winner's item must exist by now
            raise RuntimeError("identity vanished while resolving")
        return existing.customer_id

    def detach(self, platform: str, user_id: str, customer_id: str, written_at: datetime) -> None:
        """Let go of an identity that leads to a customer being erased, so that the person's
        message, written after the erasure was requested, starts a new customer instead of
        failing until the erasure is finished (an erasure interrupted half-way may be run again
        much later). Only while it leads to that customer. A message written before the erasure
        was requested belongs to what is erased: WrittenBeforeErasure, and the identity stays for
        the erasure to delete. The suppression record goes first, as the erasure writes it: once
        the identity is gone, an older message of theirs must find it, however far the erasure
        itself got."""
        try:
            profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
        except DoesNotExist:
            return  # the erasure finished: it deleted the identity, after suppressing it
        erasing_at = cast(datetime | None, profile.erasing_at)  # PynamoDB types it as never None
        if erasing_at is None:
            return  # not being erased: nothing to let go of
        if written_at <= erasing_at:
            raise WrittenBeforeErasure(f"written before the erasure of customer {customer_id} was requested")
        suppress(platform, user_id, erasing_at, self._retention)
        release(platform, user_id, customer_id)

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

    def _written_after_erasure(self, existing: IdentityItem, seen_at: datetime) -> None:
        """An identity made again after its person was erased (by their message written after
        the erasure) was first seen after the erasure: a message older than that, arriving late,
        may predate the erasure, and must not join the new customer. Only such older messages
        pay for reading the suppression record."""
        if seen_at >= existing.first_seen_at:
            return
        try:
            erased = ErasedItem.get(keys.erased(existing.platform, existing.user_id), keys.ERASED, consistent_read=True)
        except DoesNotExist:
            return
        if seen_at <= erased.erased_at:
            raise WrittenBeforeErasure("written before its identity's erasure was requested")

    def _create_customer(self, platform: str, author: Author, seen_at: datetime) -> str | None:
        """Identity, its listing and a new profile in one transaction that fails if the identity
        exists: two first messages at once make one customer. None when the other one won. The
        transaction also checks that the identity was not erased after `seen_at` (the message was
        written before its person's erasure was requested): WrittenBeforeErasure then, and nothing
        is created."""
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
            keys.customer(customer_id),
            keys.PROFILE,
            customer_id=customer_id,
            created_at=datetime.now(UTC),
            gsi1pk=keys.profiles(keys.shard(customer_id)),
            gsi1sk=customer_id,
            **names,
        )
        try:
            with TransactWrite(connection=self._connection) as transaction:
                transaction.condition_check(
                    ErasedItem,
                    keys.erased(platform, author.user_id),
                    keys.ERASED,
                    condition=ErasedItem.pk.does_not_exist() | (ErasedItem.erased_at < seen_at),
                )
                transaction.save(identity, condition=IdentityItem.pk.does_not_exist())
                transaction.save(listed)
                transaction.save(profile)
        except TransactWriteError as exc:
            if condition_failed_at(exc, _SUPPRESSION):
                raise WrittenBeforeErasure("written before its identity's erasure was requested") from None
            if condition_failed_at(exc, _IDENTITY):
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


def release(platform: str, user_id: str, customer_id: str) -> None:
    """Delete the identity's unique item if it still leads to this customer: a message that came
    during the erasure may have given the identity to a new customer already, which must stay."""
    try:
        IdentityItem(keys.identity(platform, user_id), IDENTITY).delete(
            condition=IdentityItem.customer_id == customer_id
        )
    except DeleteError as exc:
        if not is_condition_failure(exc):
            raise


def suppress(platform: str, user_id: str, erased_at: datetime, retention: timedelta) -> None:
    """Record that the identity's person was erased, as requested at `erased_at`, before their
    identity goes: from then on a message of theirs written before that is dropped. Only ever
    moved forward (an interrupted erasure run again later, or the processor letting go of the
    identity, must not shorten a newer erasure's record), and kept past the retention of anything
    written before it (SUPPRESSION_MARGIN)."""
    item = ErasedItem(
        keys.erased(platform, user_id),
        keys.ERASED,
        erased_at=erased_at,
        expires_at=erased_at + retention + SUPPRESSION_MARGIN,
    )
    try:
        item.save(condition=ErasedItem.pk.does_not_exist() | (ErasedItem.erased_at <= erased_at))
    except PutError as exc:
        if not is_condition_failure(exc):
            raise
