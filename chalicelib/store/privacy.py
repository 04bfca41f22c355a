"""Everything kept about one customer, found to hand it over or to erase it (LGPD art. 18; GDPR
arts. 15, 17 and 20: access, erasure, portability).

What belongs to a customer: their partition (profile, identity listings, interactions, cases),
each identity's unique item, each interaction's pointer, and the alerts raised about them with
their cooldowns; a brand's crisis alert that lists one of their interactions as a sample loses
that sample. (Crisis states hold counts only.) Events already published (EventBridge, SNS,
e-mail) are beyond the table.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.models.alert import Alert, AlertStatus
from chalicelib.models.case import Case
from chalicelib.models.events import DetailType
from chalicelib.store import keys
from chalicelib.store.alerts import ALERT, COOLDOWN, alert_from_item
from chalicelib.store.identities import IDENTITY
from chalicelib.store.models import (
    AlertItem,
    CaseItem,
    CooldownItem,
    CustomerIdentityItem,
    CustomerItem,
    IdentityItem,
    InteractionItem,
    Item,
    PointerItem,
)
from chalicelib.store.serde import case_from_item
from chalicelib.store.timeline import POINTER
from chalicelib.store.transactions import is_condition_failure

MARK_ATTEMPTS = 5


class CustomerRecords:
    def cases(self, customer_id: str) -> list[Case]:
        query = CaseItem.query(keys.customer(customer_id), CaseItem.sk.startswith("CASE#"), consistent_read=True)
        return [case_from_item(item) for item in query]

    def alerts(self, customer_id: str) -> list[Alert]:
        return [alert_from_item(item) for item in self._alerts_naming(customer_id)[0]]

    def erase(self, customer_id: str) -> dict[str, int] | None:
        """Delete every item about the customer; None if there is no such customer.

        The profile is marked first (which also moves its version), so from then on the
        processor's writes for this customer fail and are retried; only then is the partition
        read, so whatever was written before the mark is found. The unique identities go next,
        so a redelivered message starts a new customer; the profile goes last, so an erasure
        interrupted half-way is finished by running it again."""
        if not _mark_erasing(customer_id):
            return None
        partition = list(cast(Iterable[Item], Item.query(keys.customer(customer_id), consistent_read=True)))
        identities = [
            IdentityItem(keys.identity(item.platform, item.user_id), IDENTITY)
            for item in partition
            if isinstance(item, CustomerIdentityItem)
        ]
        pointers = [
            PointerItem(keys.pointer(item.platform, item.external_id), POINTER)
            for item in partition
            if isinstance(item, InteractionItem)
        ]
        about, mentioning = self._alerts_naming(customer_id)
        alerts = [AlertItem(item.pk, ALERT) for item in about]
        cooldowns = [CooldownItem(keys.cooldown(customer_id, kind.value), COOLDOWN) for kind in DetailType]
        profile = [item for item in partition if isinstance(item, CustomerItem)]
        _delete(identities)
        _delete([*pointers, *alerts, *cooldowns, *(item for item in partition if item not in profile)])
        for item in mentioning:  # a brand's crisis alert keeps its other samples
            item.update(actions=[AlertItem.detail.set(_without(item.detail or {}, customer_id))])
        _delete(profile)
        return {
            "identities": len(identities),
            "interactions": len(pointers),
            "cases": sum(isinstance(item, CaseItem) for item in partition),
            "alerts": len(alerts),
            "items": len(identities) + len(pointers) + len(alerts) + len(partition),
        }

    @staticmethod
    def _alerts_naming(customer_id: str) -> tuple[list[AlertItem], list[AlertItem]]:
        """Alerts about the customer, and other alerts that name them in their detail (a crisis
        alert's sample interactions). Each once: an alert that changed status between two
        queries is met twice."""
        about: dict[str, AlertItem] = {}
        mentioning: dict[str, AlertItem] = {}
        for status in AlertStatus:
            for item in cast(Iterable[AlertItem], AlertItem.worklist.query(keys.worklist_alerts(status.value))):
                if item.customer_id == customer_id:
                    about[item.pk] = item
                elif customer_id in json.dumps(item.detail or {}):
                    mentioning[item.pk] = item
        return list(about.values()), [item for pk, item in mentioning.items() if pk not in about]


def _mark_erasing(customer_id: str) -> bool:
    """False if there is no such customer (or its erasure already finished)."""
    for _ in range(MARK_ATTEMPTS):
        try:
            profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
        except DoesNotExist:
            return False
        try:
            profile.update(actions=[CustomerItem.erasing_at.set(datetime.now(UTC))])  # conditional on its version
        except UpdateError as exc:
            if is_condition_failure(exc):
                continue  # the processor changed it meanwhile: read it again
            raise
        return True
    raise RuntimeError(f"customer {customer_id} kept changing; giving up after {MARK_ATTEMPTS} attempts")


def _without(value: Any, customer_id: str) -> Any:
    """`value` without any object that belongs to the customer (`customer_id` equal to theirs)."""
    if isinstance(value, dict):
        return {key: _without(item, customer_id) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _without(item, customer_id)
            for item in value
            if not (isinstance(item, dict) and item.get("customer_id") == customer_id)
        ]
    return value


def _delete(items: list[Any]) -> None:
    """Batched deletes (25 a call; PynamoDB retries what DynamoDB leaves unprocessed). Deleting
    an item that is already gone is no error, so an erasure interrupted half-way can be rerun."""
    if not items:
        return
    with Item.batch_write() as batch:
        for item in items:
            batch.delete(item)
