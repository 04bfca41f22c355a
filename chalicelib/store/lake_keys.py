"""Customers' lake salts (store/models.LakeKeyItem).

Made on first use, by the lake's archiver, rather than with the customer: customers from before
the lake get one the same way. A salt is only ever made while the profile exists and is not being
erased (a condition check in the same transaction), so an event archived after an erasure cannot
bring a salt, and with it a way back, into being again; erasure deletes it with the partition.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.store import keys
from chalicelib.store.models import LakeKeyItem
from chalicelib.store.transactions import condition_failed_at, customer_writable, retry_on_conflict

_PROFILE, _SALT = 0, 1
ATTEMPTS = 3


class LakeKeyStore:
    def __init__(self, connection: Connection | None = None) -> None:
        self._connection = connection or Connection()

    def salts(self, customer_ids: set[str]) -> dict[str, str | None]:
        wanted = [(keys.customer(customer_id), keys.LAKEKEY) for customer_id in sorted(customer_ids)]
        found = {item.pk: item.salt for item in LakeKeyItem.batch_get(wanted)}
        salts: dict[str, str | None] = {}
        for customer_id in sorted(customer_ids):
            salt = found.get(keys.customer(customer_id))
            salts[customer_id] = salt if salt is not None else self._make(customer_id)
        return salts

    def _make(self, customer_id: str) -> str | None:
        """A new salt, or the one another archiver made first; None without a live profile."""
        salt = secrets.token_hex(16)
        item = LakeKeyItem(keys.customer(customer_id), keys.LAKEKEY, salt=salt, created_at=datetime.now(UTC))
        for attempt in range(ATTEMPTS):
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    customer_writable(transaction, customer_id)
                    transaction.save(item, condition=LakeKeyItem.pk.does_not_exist())
                return salt
            except TransactWriteError as exc:
                if condition_failed_at(exc, _PROFILE):
                    return None
                if condition_failed_at(exc, _SALT):
                    return LakeKeyItem.get(keys.customer(customer_id), keys.LAKEKEY, consistent_read=True).salt
                if attempt == ATTEMPTS - 1:
                    raise
                retry_on_conflict(exc, attempt)
        raise AssertionError("unreachable")  # pragma: no cover
