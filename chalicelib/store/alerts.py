"""Alerts and cooldowns in DynamoDB: the record that makes each alert once-only, its status as it
is delivered, suppressed, digested or acknowledged, and the worklist the ops API lists."""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, cast

from pynamodb.connection import Connection
from pynamodb.exceptions import DeleteError, DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.alert import Alert, AlertStatus
from chalicelib.models.events import Severity
from chalicelib.store import keys, sort_cursor
from chalicelib.store.models import AlertItem, AlertRefItem, CooldownItem
from chalicelib.store.transactions import (
    condition_failed_at,
    customer_writable,
    is_condition_failure,
    retry_on_conflict,
)

ALERT = "ALERT"
COOLDOWN = "COOLDOWN"
ABOUT = "about"  # the alert is about the customer
SAMPLE = "sample"  # the alert lists one of the customer's interactions (a brand's crisis)
RECORD_ATTEMPTS = 5
# Before trying a transaction again that only collided with another (TransactionConflict): up to
# this, doubled each time and jittered, so that two notifiers writing the same items part ways.


class AlertStore:
    def __init__(self, retention_days: int) -> None:
        self._retention = timedelta(days=retention_days)
        self._connection = Connection()

    def record(self, alert: Alert) -> Alert | None:
        """Keep the alert unless its dedupe key was seen: then the alert as first kept. None for an
        alert about a customer who is gone or being erased (an event still in flight when the
        erasure ran must not write their id back). Each customer the alert names gets a reference
        to it in their own partition (written with it, on condition that they are not being
        erased), so that their export and erasure find it without reading anyone else's alerts; a
        sampled customer who is being erased is left out of the alert's samples instead. A
        transaction that only collided with another write of the same items (no condition failed)
        is tried again here, after a short pause, rather than failing the alert into an SQS retry."""
        for attempt in range(RECORD_ATTEMPTS):
            item = _item(alert, self._retention)
            sampled = sorted(_named(alert.detail) - {alert.customer_id})
            named = ([(alert.customer_id, ABOUT)] if alert.customer_id else []) + [(c, SAMPLE) for c in sampled]
            if not named:
                try:
                    item.save(condition=AlertItem.pk.does_not_exist())
                    return alert
                except PutError as exc:
                    if not is_condition_failure(exc):
                        raise
                    return self._existing(alert)
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.save(item, condition=AlertItem.pk.does_not_exist())
                    for customer_id, relation in named:
                        customer_writable(transaction, customer_id)
                        transaction.save(
                            AlertRefItem(
                                keys.customer(customer_id),
                                keys.alert(alert.alert_id),
                                alert_id=alert.alert_id,
                                relation=relation,
                                expires_at=item.expires_at,
                            )
                        )
            except TransactWriteError as exc:
                # PynamoDB sends condition checks first, then puts: the customers' checks, the alert.
                if condition_failed_at(exc, len(named)):
                    return self._existing(alert)
                gone = {customer for i, (customer, _) in enumerate(named) if condition_failed_at(exc, i)}
                if alert.customer_id in gone:
                    return None
                if not gone:
                    # Another transaction was writing one of these items (a profile the processor
                    # updates): nothing is wrong with this one, so it is sent again as it is.
                    retry_on_conflict(exc, attempt)
                    continue
                alert = replace(alert, detail=_without(alert.detail, gone))  # their samples go
                continue
            return alert
        raise RuntimeError(f"alert {alert.alert_id}: its customers kept changing")

    def _existing(self, alert: Alert) -> Alert:
        existing = self.get(alert.alert_id)
        if existing is None:  # pragma: no cover - it was there a moment ago
            raise RuntimeError("alert vanished while recording it")
        return existing

    def get(self, alert_id: str) -> Alert | None:
        try:
            return alert_from_item(AlertItem.get(keys.alert(alert_id), ALERT, consistent_read=True))
        except DoesNotExist:
            return None

    def set_status(
        self,
        alert: Alert,
        status: AlertStatus,
        delivered_to: tuple[str, ...] = (),
        acked_by: str | None = None,
        at: datetime | None = None,
        expected: AlertStatus | None = None,
    ) -> Alert:
        """With `expected`, only from that status (a person's ack is not overwritten by a late
        notifier or digest): otherwise the alert as it now stands."""
        item = AlertItem(keys.alert(alert.alert_id), ALERT)
        actions: list[Action] = [
            AlertItem.status.set(status.value),
            AlertItem.gsi3pk.set(keys.worklist_alerts(status.value)),
            AlertItem.lease_until.remove(),
        ]
        if delivered_to:
            merged = list(dict.fromkeys((*alert.delivered_to, *delivered_to)))
            actions.append(AlertItem.delivered_to.set(cast(Any, merged)))
        if acked_by is not None and at is not None:
            actions += [AlertItem.acked_by.set(acked_by), AlertItem.acked_at.set(at)]
        condition = AlertItem.pk.exists()
        if expected is not None:
            condition &= AlertItem.status == expected.value
        try:
            item.update(actions=actions, condition=condition)
        except UpdateError as exc:
            if expected is None or not is_condition_failure(exc):
                raise
            current = self.get(alert.alert_id)
            if current is None:  # pragma: no cover - alerts are not deleted before their TTL
                raise
            return current
        return alert_from_item(item)

    def claim(self, alert: Alert, now: datetime, lease: timedelta) -> bool:
        """Take the alert for delivery: from NEW, or from SENDING whose lease ran out (its notifier
        died). Two copies of one alert handled at once: one claims it, the other leaves it."""
        item = AlertItem(keys.alert(alert.alert_id), ALERT)
        condition = (AlertItem.status == AlertStatus.NEW.value) | (
            (AlertItem.status == AlertStatus.SENDING.value) & (AlertItem.lease_until < now)
        )
        try:
            item.update(
                actions=[
                    AlertItem.status.set(AlertStatus.SENDING.value),
                    AlertItem.gsi3pk.set(keys.worklist_alerts(AlertStatus.SENDING.value)),
                    AlertItem.lease_until.set(now + lease),
                ],
                condition=condition,
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def release(self, alert: Alert) -> None:
        """A delivery failed: back to NEW, so the retry SQS makes can claim it at once."""
        self.set_status(alert, AlertStatus.NEW, expected=AlertStatus.SENDING)

    def hold_cooldown(self, subject: str, alert_type: str, alert_id: str, until: datetime, now: datetime) -> bool:
        """Take the cooldown for (subject, type) unless another alert holds it: True if this alert
        may be sent. Idempotent for its holder, so a retried delivery is not suppressed by itself."""
        item = CooldownItem(
            keys.cooldown(subject, alert_type),
            COOLDOWN,
            until=until,
            holder=alert_id,
            expires_at=until + timedelta(days=1),
        )
        condition = CooldownItem.pk.does_not_exist() | (CooldownItem.until < now) | (CooldownItem.holder == alert_id)
        try:
            item.save(condition=condition)
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def release_cooldown(self, subject: str, alert_type: str, alert_id: str) -> None:
        """The alert holding the cooldown was not delivered: the next one must not be held back."""
        item = CooldownItem(keys.cooldown(subject, alert_type), COOLDOWN)
        try:
            item.delete(condition=CooldownItem.holder == alert_id)
        except DeleteError as exc:
            if not is_condition_failure(exc):
                raise

    def listing(
        self, statuses: Iterable[AlertStatus], alert_type: str | None, limit: int, cursor: str | None = None
    ) -> tuple[list[Alert], str | None]:
        """Newest first across the given statuses; the cursor is the last sort key returned."""
        before = sort_cursor.decode(cursor)
        streams = []
        for status in statuses:
            condition: Condition | None = AlertItem.gsi3sk < before if before else None
            query = AlertItem.worklist.query(
                keys.worklist_alerts(status.value),
                condition,
                filter_condition=(AlertItem.detail_type == alert_type) if alert_type else None,
                scan_index_forward=False,
                limit=limit + 1,
            )
            streams.append(list(cast(Iterable[AlertItem], query)))
        merged = list(heapq.merge(*streams, key=lambda item: item.gsi3sk, reverse=True))[: limit + 1]
        more = len(merged) > limit
        page = merged[:limit]
        return [alert_from_item(item) for item in page], sort_cursor.encode(page[-1].gsi3sk) if more and page else None


def _item(alert: Alert, retention: timedelta) -> AlertItem:
    return AlertItem(
        keys.alert(alert.alert_id),
        ALERT,
        alert_id=alert.alert_id,
        dedupe_key=alert.dedupe_key,
        detail_type=alert.detail_type,
        severity=alert.severity.value,
        status=alert.status.value,
        subject=alert.subject,
        customer_id=alert.customer_id,
        raised_at=alert.raised_at,
        received_at=datetime.now(alert.raised_at.tzinfo),
        detail=alert.detail,
        delivered_to=list(alert.delivered_to),
        gsi3pk=keys.worklist_alerts(alert.status.value),
        gsi3sk=f"{keys.stamp(alert.raised_at)}#{alert.alert_id}",
        expires_at=alert.raised_at + retention,
    )


def alert_from_item(item: AlertItem) -> Alert:
    return Alert(
        alert_id=item.alert_id,
        dedupe_key=item.dedupe_key,
        detail_type=item.detail_type,
        severity=Severity(item.severity),
        subject=item.subject,
        customer_id=item.customer_id,
        raised_at=item.raised_at,
        detail=dict(item.detail or {}),
        status=AlertStatus(item.status),
        delivered_to=tuple(str(d) for d in item.delivered_to or ()),
        acked_at=item.acked_at,
        acked_by=item.acked_by,
    )


def _named(value: Any) -> set[str]:
    """Every customer an alert's detail names (in objects with a `customer_id`)."""
    found: set[str] = set()
    if isinstance(value, dict):
        if isinstance(value.get("customer_id"), str):
            found.add(value["customer_id"])
        for item in value.values():
            found |= _named(item)
    elif isinstance(value, list):
        for item in value:
            found |= _named(item)
    return found


def _without(value: Any, customers: set[str]) -> Any:
    """`value` without any object that belongs to one of `customers` (their `customer_id`)."""
    if isinstance(value, dict):
        return {key: _without(item, customers) for key, item in value.items()}
    if isinstance(value, list):
        return [
            _without(item, customers)
            for item in value
            if not (isinstance(item, dict) and item.get("customer_id") in customers)
        ]
    return value


def without_customer(detail: dict[str, Any], customer_id: str) -> dict[str, Any]:
    stripped: dict[str, Any] = _without(detail, {customer_id})
    return stripped
