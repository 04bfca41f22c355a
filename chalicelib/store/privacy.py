"""Everything kept about one customer, found to hand it over or to erase it (LGPD art. 18; GDPR
arts. 15, 17 and 20: access, erasure, portability).

What belongs to a customer: their partition (profile, identity listings, interactions, cases, and
references to the alerts that name them), each identity's unique item, each interaction's pointer,
and the alerts raised about them with their cooldowns; a brand's crisis alert that lists one of
their interactions as a sample loses that sample. (Crisis states hold counts only.) All of it is
found from their partition, so both an export and an erasure cost what the customer has, not what
everyone has. Events already published (EventBridge, SNS, e-mail) are beyond the table; so is the
audit trail, which holds their random id only.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from pynamodb.exceptions import DeleteError, DoesNotExist, UpdateError

from chalicelib.models.alert import Alert
from chalicelib.models.case import Case
from chalicelib.models.events import DetailType
from chalicelib.store import keys
from chalicelib.store.alerts import ABOUT, ALERT, COOLDOWN, SAMPLE, alert_from_item, without_customer
from chalicelib.store.identities import IDENTITY
from chalicelib.store.models import (
    AlertItem,
    AlertRefItem,
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
        """The alerts about the customer, found through the references in their partition."""
        refs = AlertRefItem.query(
            keys.customer(customer_id), AlertRefItem.sk.startswith("ALERT#"), consistent_read=True
        )
        wanted = [(keys.alert(ref.alert_id), ALERT) for ref in refs if ref.relation == ABOUT]
        found = [alert_from_item(item) for item in AlertItem.batch_get(wanted)] if wanted else []
        return sorted(found, key=lambda alert: alert.raised_at)

    def erase(self, customer_id: str) -> dict[str, int] | None:
        """Delete every item about the customer; None if there is no such customer.

        The profile is marked first (which also moves its version), so from then on the
        processor's writes for this customer fail (and their messages start a new customer); only
        then is the partition read, so whatever was written before the mark is found. The unique
        identities go next, each only while it still leads to this customer; the profile goes last,
        so an erasure interrupted half-way is finished by running it again."""
        if not _mark_erasing(customer_id):
            return None
        partition = list(cast(Iterable[Item], Item.query(keys.customer(customer_id), consistent_read=True)))
        identities = [item for item in partition if isinstance(item, CustomerIdentityItem)]
        pointers = [
            PointerItem(keys.pointer(item.platform, item.external_id), POINTER)
            for item in partition
            if isinstance(item, InteractionItem)
        ]
        refs = [item for item in partition if isinstance(item, AlertRefItem)]
        alerts = [AlertItem(keys.alert(ref.alert_id), ALERT) for ref in refs if ref.relation == ABOUT]
        cooldowns = [CooldownItem(keys.cooldown(customer_id, kind.value), COOLDOWN) for kind in DetailType]
        profile = [item for item in partition if isinstance(item, CustomerItem)]
        for listed in identities:
            _detach(listed.platform, listed.user_id, customer_id)
        _delete([*pointers, *alerts, *cooldowns, *(item for item in partition if item not in profile)])
        for ref in refs:  # a brand's crisis alert keeps its other samples
            if ref.relation == SAMPLE:
                _strip(ref.alert_id, customer_id)
        _delete(profile)
        return {
            "identities": len(identities),
            "interactions": len(pointers),
            "cases": sum(isinstance(item, CaseItem) for item in partition),
            "alerts": len(alerts),
            "items": len(identities) + len(pointers) + len(alerts) + len(partition),
        }


def _detach(platform: str, user_id: str, customer_id: str) -> None:
    """Delete the identity's unique item if it still leads to this customer: a message that came
    during the erasure may have given the identity to a new customer already, which must stay."""
    try:
        IdentityItem(keys.identity(platform, user_id), IDENTITY).delete(
            condition=IdentityItem.customer_id == customer_id
        )
    except DeleteError as exc:
        if not is_condition_failure(exc):
            raise


def _strip(alert_id: str, customer_id: str) -> None:
    try:
        item = AlertItem.get(keys.alert(alert_id), ALERT, consistent_read=True)
    except DoesNotExist:
        return
    item.update(actions=[AlertItem.detail.set(without_customer(item.detail or {}, customer_id))])


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


def _delete(items: list[Any]) -> None:
    """Batched deletes (25 a call; PynamoDB retries what DynamoDB leaves unprocessed). Deleting
    an item that is already gone is no error, so an erasure interrupted half-way can be rerun."""
    if not items:
        return
    with Item.batch_write() as batch:
        for item in items:
            batch.delete(item)
