"""Everything kept about one customer, found to hand it over or to erase it (LGPD art. 18; GDPR
arts. 15, 17 and 20: access, erasure, portability).

What belongs to a customer: their partition (profile, identity listings, interactions, cases),
each identity's unique item, each interaction's pointer, and the alerts raised about them with
their cooldowns. (Crisis states hold counts only.) Events already published (EventBridge, SNS,
e-mail) are beyond the table.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

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


class CustomerRecords:
    def cases(self, customer_id: str) -> list[Case]:
        query = CaseItem.query(keys.customer(customer_id), CaseItem.sk.startswith("CASE#"), consistent_read=True)
        return [case_from_item(item) for item in query]

    def alerts(self, customer_id: str) -> list[Alert]:
        return [alert_from_item(item) for item in self._alert_items(customer_id)]

    def erase(self, customer_id: str) -> dict[str, int] | None:
        """Delete every item about the customer; None if there is no such customer. The unique
        identities go first, so a message arriving meanwhile starts a new customer rather than
        joining one half erased (the processor's versioned profile write then fails and retries);
        the profile goes last."""
        partition = list(cast(Iterable[Item], Item.query(keys.customer(customer_id), consistent_read=True)))
        if not any(isinstance(item, CustomerItem) for item in partition):
            return None
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
        alerts = [AlertItem(item.pk, ALERT) for item in self._alert_items(customer_id)]
        cooldowns = [CooldownItem(keys.cooldown(customer_id, kind.value), COOLDOWN) for kind in DetailType]
        profile = [item for item in partition if isinstance(item, CustomerItem)]
        _delete(identities)
        _delete([*pointers, *alerts, *cooldowns, *(item for item in partition if item not in profile)])
        _delete(profile)  # last: while it stands, a rerun of an interrupted erasure finds the rest
        return {
            "identities": len(identities),
            "interactions": len(pointers),
            "cases": sum(isinstance(item, CaseItem) for item in partition),
            "alerts": len(alerts),
            "items": len(identities) + len(pointers) + len(alerts) + len(partition),
        }

    @staticmethod
    def _alert_items(customer_id: str) -> list[AlertItem]:
        found: list[AlertItem] = []
        for status in AlertStatus:
            query = AlertItem.worklist.query(
                keys.worklist_alerts(status.value), filter_condition=AlertItem.customer_id == customer_id
            )
            found.extend(cast(Iterable[AlertItem], query))
        return found


def _delete(items: list[Any]) -> None:
    """Batched deletes (25 a call; PynamoDB retries what DynamoDB leaves unprocessed). Deleting
    an item that is already gone is no error, so an erasure interrupted half-way can be rerun."""
    if not items:
        return
    with Item.batch_write() as batch:
        for item in items:
            batch.delete(item)
