"""The search index in DynamoDB: keyed hashes of what finds a customer (never the values), each
entry listed in the customer's own partition too, and the rows a search shows.

    SEARCH#<hash>   CUSTOMER#<id>   an entry: the customer and what kind of value matched
    CUSTOMER#<id>   SEARCHKEYS      the customer's entries, as `<kind>:<hash>`

An entry and its listing are written in one transaction that also checks the customer exists and
is not being erased: once an erasure has marked the profile nothing more is indexed for them, and
whatever was indexed before is in the list the erasure reads (store/privacy.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.models.directory import CustomerMatch
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, SearchEntryItem, SearchKeysItem
from chalicelib.store.transactions import condition_failed_at, customer_writable, retry_on_conflict

ATTEMPTS = 8
# One transaction holds at most 100 items: the customer's check, their list, and the entries.
ENTRIES_PER_TRANSACTION = 98
_PROFILE_CHECK = 0  # PynamoDB sends condition checks first
ROW_ATTRIBUTES = [
    "pk",
    "sk",
    "item_type",
    "customer_id",
    "display_name",
    "handle",
    "platform_counts",
    "last_platform",
    "last_contact_at",
    "erasing_at",
]


class DirectoryStore:
    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()

    def indexed(self, customer_id: str) -> frozenset[str]:
        """The customer's entries (`<kind>:<hash>`), read eventually consistent: a stale read only
        writes again what is there, which changes nothing."""
        try:
            item = SearchKeysItem.get(keys.customer(customer_id), keys.SEARCH_KEYS)
        except DoesNotExist:
            return frozenset()
        return frozenset(item.entries or ())

    def add(self, customer_id: str, entries: Mapping[str, str]) -> bool:
        """Index the customer under these hashes (hash -> kind). False, and nothing written, when
        the customer is gone or being erased."""
        pending = sorted(entries.items())
        for start in range(0, len(pending), ENTRIES_PER_TRANSACTION):
            if not self._add(customer_id, pending[start : start + ENTRIES_PER_TRANSACTION]):
                return False
        return True

    def _add(self, customer_id: str, part: Sequence[tuple[str, str]]) -> bool:
        listed = {f"{kind}:{digest}" for digest, kind in part}
        for attempt in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    customer_writable(transaction, customer_id)
                    transaction.update(
                        SearchKeysItem(keys.customer(customer_id), keys.SEARCH_KEYS),
                        actions=[SearchKeysItem.entries.add(listed), SearchKeysItem.item_type.set(SearchKeysItem)],
                    )
                    for digest, kind in part:
                        transaction.save(
                            SearchEntryItem(
                                keys.search(digest), keys.customer(customer_id), customer_id=customer_id, kind=kind
                            )
                        )
            except TransactWriteError as exc:
                if condition_failed_at(exc, _PROFILE_CHECK):
                    return False
                # The processor was writing the profile for another message: try again shortly.
                retry_on_conflict(exc, attempt)
                continue
            return True
        raise RuntimeError(f"customer {customer_id}: indexing kept colliding; giving up after {ATTEMPTS} attempts")

    def holders(self, digest: str, limit: int, consistent: bool = False) -> list[tuple[str, str]]:
        """The customers indexed under the hash, with the kind each is: (customer id, kind)."""
        query = SearchEntryItem.query(
            keys.search(digest),
            limit=limit,
            consistent_read=consistent,
            attributes_to_get=["pk", "sk", "item_type", "customer_id", "kind"],
        )
        return [(item.customer_id, item.kind) for item in query]

    def rows(self, customer_ids: Iterable[str]) -> list[CustomerMatch]:
        """What a result row shows, from the profiles (one BatchGet; 100 keys a call). Customers
        being erased are left out."""
        wanted = [(keys.customer(customer_id), keys.PROFILE) for customer_id in dict.fromkeys(customer_ids)]
        if not wanted:
            return []
        found = []
        for item in CustomerItem.batch_get(wanted, attributes_to_get=ROW_ATTRIBUTES):
            if cast(datetime | None, item.erasing_at) is not None:
                continue
            counts = item.platform_counts.as_dict() if item.platform_counts else {}
            platforms = set(counts) | ({item.last_platform} if item.last_platform else set())
            found.append(
                CustomerMatch(
                    customer_id=item.customer_id,
                    display_name=item.display_name,
                    handle=item.handle,
                    platforms=tuple(sorted(platforms)),
                    last_contact_at=item.last_contact_at,
                )
            )
        return found
