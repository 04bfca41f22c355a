"""The notifier: alert events from the bus (through the alerts queue) become messages to ops,
after hygiene. Each alert is recorded once by its dedupe key; one of a type about the same
subject within the cooldown is recorded as suppressed; urgent and medium alerts go out at once,
low ones wait for the digest. Two copies of an alert handled at the same moment: one claims it
(a short lease), the other leaves it. A delivery that fails gives back the claim and the cooldown
and raises, so SQS retries the record and the retry carries on from the recorded alert (it is
not a duplicate of itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from chalicelib.models.alert import Alert, AlertStatus
from chalicelib.rules import hygiene
from chalicelib.rules.hygiene import Channel


class AlertRepository(Protocol):
    def record(self, alert: Alert) -> Alert | None: ...

    def get(self, alert_id: str) -> Alert | None: ...

    def set_status(
        self,
        alert: Alert,
        status: AlertStatus,
        delivered_to: tuple[str, ...] = (),
        acked_by: str | None = None,
        at: datetime | None = None,
        expected: AlertStatus | None = None,
    ) -> Alert: ...

    def claim(self, alert: Alert, now: datetime, lease: timedelta) -> bool: ...

    def release(self, alert: Alert) -> None: ...

    def hold_cooldown(self, subject: str, alert_type: str, alert_id: str, until: datetime, now: datetime) -> bool: ...

    def release_cooldown(self, subject: str, alert_type: str, alert_id: str) -> None: ...

    def listing(
        self, statuses: Iterable[AlertStatus], alert_type: str | None, limit: int, cursor: str | None = None
    ) -> tuple[list[Alert], str | None]: ...


class AlertChannels(Protocol):
    def send(self, channel: Channel, subject: str, body: str, alert: Alert | None) -> tuple[str, ...]: ...


# Longer than the notifier's timeout (60 s): a claim outlives only a notifier that died with it.
LEASE = timedelta(minutes=2)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(self, store: AlertRepository, channels: AlertChannels, clock: Callable[[], datetime] = utcnow) -> None:
        self._store = store
        self._channels = channels
        self._clock = clock

    def handle(self, envelope: dict[str, Any]) -> AlertStatus:
        now = self._clock()
        recorded = self._store.record(hygiene.from_event(envelope, now))
        if recorded is None:
            return AlertStatus.SUPPRESSED  # about a customer erased meanwhile: nobody to alert about
        alert = recorded
        if alert.status not in (AlertStatus.NEW, AlertStatus.SENDING):
            return alert.status  # the same alert delivered again: handled already
        if not self._store.claim(alert, now, LEASE):
            return AlertStatus.SENDING  # another copy is delivering it right now
        until = hygiene.cooldown_until(alert, now)
        if until is not None and not self._store.hold_cooldown(
            alert.subject, alert.detail_type, alert.alert_id, until, now
        ):
            return self._store.set_status(alert, AlertStatus.SUPPRESSED, expected=AlertStatus.SENDING).status
        channel = hygiene.channel_for(alert.severity)
        if channel is Channel.DIGEST:
            return self._store.set_status(alert, AlertStatus.PENDING_DIGEST, expected=AlertStatus.SENDING).status
        try:
            delivered = self._channels.send(channel, hygiene.subject_line(alert), hygiene.message(alert), alert)
        except Exception:
            if until is not None:
                self._store.release_cooldown(alert.subject, alert.detail_type, alert.alert_id)
            self._store.release(alert)
            raise
        return self._store.set_status(
            alert, AlertStatus.SENT, delivered_to=delivered, expected=AlertStatus.SENDING
        ).status


class Digest:
    """The low-severity alerts since the last digest, in one message."""

    def __init__(self, store: AlertRepository, channels: AlertChannels, limit: int = 1000) -> None:
        self._store = store
        self._channels = channels
        self._limit = limit

    def run(self) -> int:
        pending, _ = self._store.listing([AlertStatus.PENDING_DIGEST], None, self._limit)
        if not pending:
            return 0
        subject, body = hygiene.digest(pending)
        delivered = self._channels.send(Channel.DIGEST, subject, body, None)
        for alert in pending:
            self._store.set_status(
                alert, AlertStatus.DIGESTED, delivered_to=delivered, expected=AlertStatus.PENDING_DIGEST
            )
        return len(pending)


class AlertNotFound(LookupError):
    pass


def acknowledge(store: AlertRepository, alert_id: str, by: str, now: datetime) -> Alert:
    alert = store.get(alert_id)
    if alert is None:
        raise AlertNotFound(f"no alert {alert_id}")
    if alert.status is AlertStatus.ACKED:
        return alert
    return store.set_status(alert, AlertStatus.ACKED, acked_by=by, at=now)
