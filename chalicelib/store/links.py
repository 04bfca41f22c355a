"""Links between customers, and the links the pipeline suggests, in DynamoDB.

Each is kept as two mirrored halves, one in each customer's partition (sk `LINK#<other>`,
`SUGGEST#<other>`), so that a customer's view, export and erasure read only their own partition.
The halves are written and deleted together, in one transaction with conditions, so whatever
people do at the same time (two agents linking the same pair, one linking while another unlinks)
ends with both halves or neither:

- linking puts both halves on condition that neither exists, checks that both customers exist and
  are not being erased, and deletes the pair's suggestions;
- unlinking deletes both halves on condition that both exist;
- a suggestion is written on condition that the pair is not linked and neither customer is being
  erased, so it never outlives a link made meanwhile nor lands in an erasure.

DynamoDB runs transactions that touch the same items one after the other (serializable), which is
what makes these conditions enough.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.models.customer import StoredInteraction
from chalicelib.models.directory import (
    CustomerBeingErased,
    Link,
    Suggestion,
    SuggestionReason,
    UnknownCustomer,
)
from chalicelib.rules.search import EMAIL, PHONE
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, InteractionItem, LinkItem, SuggestionItem
from chalicelib.store.transactions import cancellation_codes, customer_writable, retry_on_conflict
from chalicelib.store.views import _stored as stored  # the timeline's one reading of an item

ATTEMPTS = 8
CONDITION_FAILED = "ConditionalCheckFailed"
TIMELINE = "INTERACTION#"
# link(): PynamoDB sends condition checks first (the two profiles), then deletes, then puts.
_PROFILES = (0, 1)


class LinkStore:
    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()

    def link(self, customer_id: str, other_id: str, by: str, at: datetime) -> tuple[Link, bool]:
        """Link the two customers: (the link as `customer_id` holds it, whether it is new). Raises
        UnknownCustomer or CustomerBeingErased naming the customer at fault."""
        for attempt in range(ATTEMPTS):
            halves = [
                LinkItem(keys.customer(one), keys.link(two), customer_id=one, other_id=two, linked_at=at, linked_by=by)
                for one, two in ((customer_id, other_id), (other_id, customer_id))
            ]
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    for one in (customer_id, other_id):
                        customer_writable(transaction, one)
                    for one, two in ((customer_id, other_id), (other_id, customer_id)):
                        transaction.delete(SuggestionItem(keys.customer(one), keys.suggestion(two)))
                    for half in halves:
                        transaction.save(half, condition=LinkItem.pk.does_not_exist())
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if any(codes[i] == CONDITION_FAILED for i in _PROFILES if i < len(codes)):
                    self._refuse(customer_id, other_id)
                    continue  # they were writable when read again: it changed meanwhile
                if CONDITION_FAILED in codes:
                    mine, theirs = self._half(customer_id, other_id), self._half(other_id, customer_id)
                    if mine is not None and theirs is not None:
                        return mine, False
                    continue  # an unlink was taking it away meanwhile: try again
                retry_on_conflict(exc, attempt)
                continue
            return _link(halves[0]), True
        raise RuntimeError(f"customers {customer_id} and {other_id} kept changing; gave up after {ATTEMPTS} attempts")

    def unlink(self, customer_id: str, other_id: str) -> bool:
        """Delete both halves; False when the two were not linked (or one of them is being erased,
        which takes the link away itself)."""
        for attempt in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    for one, two in ((customer_id, other_id), (other_id, customer_id)):
                        transaction.delete(LinkItem(keys.customer(one), keys.link(two)), condition=LinkItem.pk.exists())
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if CONDITION_FAILED in codes:
                    mine, theirs = self._half(customer_id, other_id), self._half(other_id, customer_id)
                    if mine is not None and theirs is not None:
                        continue  # linked again meanwhile: try again
                    return False
                retry_on_conflict(exc, attempt)
                continue
            return True
        raise RuntimeError(f"customers {customer_id} and {other_id} kept changing; gave up after {ATTEMPTS} attempts")

    def links(self, customer_id: str) -> list[Link]:
        query = LinkItem.query(keys.customer(customer_id), LinkItem.sk.startswith("LINK#"), consistent_read=True)
        return [_link(item) for item in query]

    def suggestions(self, customer_id: str, dismissed: bool = False) -> list[Suggestion]:
        """The customer's suggested links, those a person dismissed only if asked for."""
        query = SuggestionItem.query(
            keys.customer(customer_id), SuggestionItem.sk.startswith("SUGGEST#"), consistent_read=True
        )
        found = [_suggestion(item) for item in query]
        return [s for s in found if dismissed or s.dismissed_at is None]

    def suggest(self, customer_id: str, other_id: str, kind: str, seen_at: datetime) -> bool:
        """Suggest linking the two, for the reason `kind` (`email` or `phone`). False, and nothing
        written, when the reason is known already (a redelivery), the suggestion was dismissed, the
        two are linked, or either customer is gone or being erased."""
        if customer_id == other_id or kind not in (EMAIL, PHONE):
            return False
        known = self._suggestion(customer_id, other_id)
        if known is not None and (known.dismissed_at is not None or _seen(known, kind) is not None):
            return False
        seen = SuggestionItem.email_seen_at if kind == EMAIL else SuggestionItem.phone_seen_at
        for attempt in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    for one in (customer_id, other_id):
                        customer_writable(transaction, one)
                    transaction.condition_check(
                        LinkItem,
                        keys.customer(customer_id),
                        keys.link(other_id),
                        condition=LinkItem.pk.does_not_exist(),
                    )
                    for one, two in ((customer_id, other_id), (other_id, customer_id)):
                        transaction.update(
                            SuggestionItem(keys.customer(one), keys.suggestion(two)),
                            actions=[
                                SuggestionItem.item_type.set(SuggestionItem),
                                SuggestionItem.customer_id.set(one),
                                SuggestionItem.other_id.set(two),
                                seen.set(seen_at),
                            ],
                        )
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if CONDITION_FAILED in codes:
                    return False
                retry_on_conflict(exc, attempt)
                continue
            return True
        raise RuntimeError(f"customers {customer_id} and {other_id} kept changing; gave up after {ATTEMPTS} attempts")

    def dismiss(self, customer_id: str, other_id: str, by: str, at: datetime) -> bool:
        """Dismiss the suggestion on both sides (it is kept, dismissed, so that the same reason
        does not bring it back); False when there is no such suggestion standing."""
        for attempt in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    for one, two in ((customer_id, other_id), (other_id, customer_id)):
                        transaction.update(
                            SuggestionItem(keys.customer(one), keys.suggestion(two)),
                            actions=[SuggestionItem.dismissed_at.set(at), SuggestionItem.dismissed_by.set(by)],
                            condition=SuggestionItem.pk.exists() & SuggestionItem.dismissed_at.does_not_exist(),
                        )
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if CONDITION_FAILED in codes:
                    return False
                retry_on_conflict(exc, attempt)
                continue
            return True
        raise RuntimeError(f"customers {customer_id} and {other_id} kept changing; gave up after {ATTEMPTS} attempts")

    def interactions(
        self, customer_id: str, limit: int, before: str | None = None
    ) -> list[tuple[str, StoredInteraction]]:
        """A page of the customer's timeline, newest first, with each item's sort key, strictly
        before `before` (a sort key of any customer's timeline: several timelines are merged by it,
        and an interaction's key is unique across customers)."""
        condition = InteractionItem.sk.between(TIMELINE, before) if before else InteractionItem.sk.startswith(TIMELINE)
        query = InteractionItem.query(keys.customer(customer_id), condition, scan_index_forward=False, limit=limit + 1)
        page = [(item.sk, stored(item)) for item in query if item.sk != before]
        return page[:limit]

    def _half(self, customer_id: str, other_id: str) -> Link | None:
        try:
            return _link(LinkItem.get(keys.customer(customer_id), keys.link(other_id), consistent_read=True))
        except DoesNotExist:
            return None

    def _suggestion(self, customer_id: str, other_id: str) -> Suggestion | None:
        try:
            item = SuggestionItem.get(keys.customer(customer_id), keys.suggestion(other_id), consistent_read=True)
        except DoesNotExist:
            return None
        return _suggestion(item)

    def _refuse(self, customer_id: str, other_id: str) -> None:
        """Say which customer cannot be linked, and why (it may have changed since the write)."""
        for one in (customer_id, other_id):
            try:
                profile = CustomerItem.get(keys.customer(one), keys.PROFILE, consistent_read=True)
            except DoesNotExist:
                raise UnknownCustomer(f"no customer {one}") from None
            if cast(datetime | None, profile.erasing_at) is not None:
                raise CustomerBeingErased(f"customer {one} is being erased")


def _link(item: LinkItem) -> Link:
    return Link(item.customer_id, item.other_id, item.linked_at, item.linked_by)


def _seen(suggestion: Suggestion, kind: str) -> datetime | None:
    return next((reason.seen_at for reason in suggestion.reasons if reason.kind == kind), None)


def _suggestion(item: SuggestionItem) -> Suggestion:
    seen = {EMAIL: cast(datetime | None, item.email_seen_at), PHONE: cast(datetime | None, item.phone_seen_at)}
    return Suggestion(
        customer_id=item.customer_id,
        other_id=item.other_id,
        reasons=tuple(SuggestionReason(kind, at) for kind, at in seen.items() if at is not None),
        dismissed_at=cast(datetime | None, item.dismissed_at),
        dismissed_by=cast(str | None, item.dismissed_by),
    )
