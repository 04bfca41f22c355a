"""Alert hygiene: one alert per dedupe key, a cooldown per customer and type, urgent / alerts /
digest by severity, and messages that say what and why without what the customer wrote."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.models.alert import Alert, AlertStatus
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.events import DetailType, DomainEvent, Severity
from chalicelib.models.interaction import Author, Interaction, Kind
from chalicelib.rules import catalogue, hygiene
from chalicelib.rules.hygiene import Channel
from chalicelib.services.notify import LEASE, Digest, Notifier, acknowledge

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
SECRET = "my card 4111 is blocked and I am furious"  # what a customer wrote: never in an alert


def interaction(external_id: str = "m1") -> Interaction:
    return Interaction(
        platform="messenger",
        kind=Kind.MESSAGE,
        external_id=external_id,
        author=Author("u7"),
        text=SECRET,
        occurred_at=T0,
        received_at=T0,
        account_id="page-1",
    )


def envelope(event: DomainEvent, at: datetime = T0) -> dict[str, Any]:
    """The event as the bus rule delivers it to the alerts queue."""
    return {
        "version": "0",
        "source": "socialcrm",
        "detail-type": event.detail_type.value,
        "time": at.isoformat().replace("+00:00", "Z"),
        "detail": event.detail,
    }


def retention(customer: str, episode: int, score: float = 0.8) -> DomainEvent:
    return catalogue.retention_alert(
        customer,
        episode,
        score,
        0.7,
        ("cancel threats: 1.0 (each halves in 30 days), last 2026-11-20 (+0.55)",),
        interaction(f"{customer}-{episode}"),
        None,
    )


def lead(customer: str, external_id: str, score: float) -> DomainEvent:
    return catalogue.lead_qualified(customer, interaction(external_id), score, ("purchase intent (+0.30)",), "sales")


def case(customer: str = "cust-1", priority: Priority = Priority.P2) -> Case:
    return Case(
        case_id=f"{customer}_20261122100000abcdef",
        customer_id=customer,
        status=CaseStatus.OPEN,
        team="support",
        priority=priority,
        intent=Intent.COMPLAINT,
        rule="complaint",
        platform="messenger",
        thread_key="messenger:page-1:user:u7",
        opened_at=T0,
        due_at=T0 + timedelta(hours=2),
        last_inbound_at=T0,
    )


# Dedupe and routing by severity --------------------------------------------------------------------


def test_the_same_dedupe_key_is_the_same_alert() -> None:
    first = hygiene.from_event(envelope(retention("cust-1", 1)), T0)
    again = hygiene.from_event(envelope(retention("cust-1", 1), T0 + timedelta(minutes=3)), T0 + timedelta(hours=1))
    other = hygiene.from_event(envelope(retention("cust-1", 2)), T0)
    assert first.alert_id == again.alert_id == hygiene.alert_id("retention:cust-1:1")
    assert other.alert_id != first.alert_id
    assert hygiene.alert_id("retention:cust-1:1") != hygiene.alert_id("retention:cust-11:")
    assert len(first.alert_id) == 24
    assert all(char in "0123456789abcdef" for char in first.alert_id)


def test_an_event_becomes_an_alert_about_its_customer_or_brand() -> None:
    alert = hygiene.from_event(envelope(retention("cust-1", 1, score=0.95), T0 + timedelta(seconds=5)), T0)
    assert (alert.detail_type, alert.severity, alert.subject, alert.customer_id) == (
        "Retention Alert",
        Severity.CRITICAL,
        "cust-1",
        "cust-1",
    )
    assert alert.raised_at == T0 + timedelta(seconds=5)
    assert alert.status is AlertStatus.NEW
    crisis = catalogue.crisis_alert("page-1", 1, T0, T0, T0 + timedelta(minutes=15), 30, 2.0, 1.0, 28.0, [])
    about_brand = hygiene.from_event({"detail-type": "Crisis Alert", "detail": crisis.detail}, T0)
    assert (about_brand.subject, about_brand.customer_id, about_brand.raised_at) == ("page-1", None, T0)


@pytest.mark.parametrize(
    ("severity", "channel"),
    [
        (Severity.CRITICAL, Channel.URGENT),
        (Severity.HIGH, Channel.URGENT),
        (Severity.MEDIUM, Channel.ALERTS),
        (Severity.LOW, Channel.DIGEST),
        (Severity.INFO, Channel.DIGEST),
    ],
)
def test_each_severity_has_its_channel(severity: Severity, channel: Channel) -> None:
    assert hygiene.channel_for(severity) is channel


def test_the_cooldown_is_per_type_and_only_for_the_noisy_types() -> None:
    retention_alert = hygiene.from_event(envelope(retention("cust-1", 1)), T0)
    until = hygiene.cooldown_until(retention_alert, T0)
    assert until is not None
    assert until - T0 >= timedelta(hours=12)
    sla = hygiene.from_event(envelope(catalogue.sla_breached(case(), T0 + timedelta(hours=3))), T0)
    assert hygiene.cooldown_until(sla, T0) is None  # once per deadline already
    crisis = catalogue.crisis_alert("page-1", 1, T0, T0, T0 + timedelta(minutes=15), 30, 2.0, 1.0, 28.0, [])
    assert hygiene.cooldown_until(hygiene.from_event(envelope(crisis), T0), T0) is None  # once per episode


# The notifier with an in-memory store: cooldown, redelivery, digest --------------------------------


@dataclass
class Alerts:
    """The alert store's contract in memory (record once by id; a cooldown is taken unless another
    alert holds it and it has not run out, as the DynamoDB condition says)."""

    items: dict[str, Alert] = field(default_factory=dict)
    cooldowns: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)
    leases: dict[str, datetime] = field(default_factory=dict)

    def record(self, alert: Alert) -> Alert | None:
        return self.items.setdefault(alert.alert_id, alert)

    def get(self, alert_id: str) -> Alert | None:
        return self.items.get(alert_id)

    def set_status(
        self,
        alert: Alert,
        status: AlertStatus,
        delivered_to: tuple[str, ...] = (),
        acked_by: str | None = None,
        at: datetime | None = None,
        expected: AlertStatus | None = None,
    ) -> Alert:
        current = self.items[alert.alert_id]
        if expected is not None and current.status is not expected:
            return current
        updated = replace(current, status=status, delivered_to=delivered_to or current.delivered_to)
        self.items[alert.alert_id] = updated
        return updated

    def claim(self, alert: Alert, now: datetime, lease: timedelta) -> bool:
        current = self.items[alert.alert_id]
        stale = current.status is AlertStatus.SENDING and self.leases[alert.alert_id] < now
        if current.status is not AlertStatus.NEW and not stale:
            return False
        self.items[alert.alert_id] = replace(current, status=AlertStatus.SENDING)
        self.leases[alert.alert_id] = now + lease
        return True

    def release(self, alert: Alert) -> None:
        self.set_status(alert, AlertStatus.NEW, expected=AlertStatus.SENDING)

    def hold_cooldown(self, subject: str, alert_type: str, alert_id: str, until: datetime, now: datetime) -> bool:
        held = self.cooldowns.get((subject, alert_type))
        if held is not None and held[0] >= now and held[1] != alert_id:
            return False
        self.cooldowns[(subject, alert_type)] = (until, alert_id)
        return True

    def release_cooldown(self, subject: str, alert_type: str, alert_id: str) -> None:
        if self.cooldowns.get((subject, alert_type), (None, None))[1] == alert_id:
            del self.cooldowns[(subject, alert_type)]

    def listing(
        self, statuses: Any, alert_type: str | None, limit: int, cursor: str | None = None
    ) -> tuple[list[Alert], str | None]:
        wanted = set(statuses)
        found = [alert for alert in self.items.values() if alert.status in wanted]
        return sorted(found, key=lambda alert: alert.raised_at, reverse=True)[:limit], None


@dataclass
class Channels:
    sent: list[tuple[Channel, str, str]] = field(default_factory=list)

    def send(self, channel: Channel, subject: str, body: str, alert: Alert | None) -> tuple[str, ...]:
        self.sent.append((channel, subject, body))
        return (f"topic:{channel.value}",)


@dataclass
class Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


def notifier() -> tuple[Notifier, Alerts, Channels, Clock]:
    store, channels, clock = Alerts(), Channels(), Clock()
    return Notifier(store, channels, clock), store, channels, clock


def test_a_second_alert_of_a_type_for_a_customer_waits_out_the_cooldown() -> None:
    notify, _, channels, clock = notifier()
    assert notify.handle(envelope(retention("cust-1", 1))) is AlertStatus.SENT
    clock.now = T0 + timedelta(hours=2)
    assert notify.handle(envelope(retention("cust-1", 2))) is AlertStatus.SUPPRESSED
    assert notify.handle(envelope(retention("cust-2", 1))) is AlertStatus.SENT  # another customer
    assert notify.handle(envelope(lead("cust-1", "l1", 0.9))) is AlertStatus.SENT  # another type
    clock.now = T0 + timedelta(days=2)
    assert notify.handle(envelope(retention("cust-1", 3))) is AlertStatus.SENT  # the cooldown is over
    assert [subject for _, subject, _ in channels.sent] == [
        "[socialcrm high] Retention Alert: cust-1",
        "[socialcrm high] Retention Alert: cust-2",
        "[socialcrm medium] Lead Qualified: cust-1",
        "[socialcrm high] Retention Alert: cust-1",
    ]
    assert [channel for channel, _, _ in channels.sent] == [
        Channel.URGENT,
        Channel.URGENT,
        Channel.ALERTS,
        Channel.URGENT,
    ]


def test_every_sla_breach_is_sent_however_close_together() -> None:
    notify, _, channels, clock = notifier()
    first = case("cust-1", Priority.P1)
    second = replace(first, case_id="cust-1_20261122100500abcdef")
    assert notify.handle(envelope(catalogue.sla_breached(first, T0 + timedelta(hours=3)))) is AlertStatus.SENT
    clock.now = T0 + timedelta(minutes=1)
    assert notify.handle(envelope(catalogue.sla_breached(second, T0 + timedelta(hours=3)))) is AlertStatus.SENT
    assert len(channels.sent) == 2
    assert channels.sent[0][0] is Channel.URGENT  # a P1 breach is critical


def test_the_same_event_delivered_twice_is_one_alert_sent_once() -> None:
    notify, store, channels, _ = notifier()
    event = envelope(retention("cust-1", 1))
    assert notify.handle(event) is AlertStatus.SENT
    assert notify.handle(event) is AlertStatus.SENT
    assert len(store.items) == 1
    assert len(channels.sent) == 1


def test_a_copy_arriving_while_another_delivers_sends_nothing_until_the_lease_runs_out() -> None:
    notify, store, channels, clock = notifier()
    event = envelope(retention("cust-1", 1))
    alert_id = hygiene.alert_id(event["detail"]["dedupe_key"])
    first = store.record(hygiene.from_event(event, T0))
    assert first is not None
    assert store.claim(first, T0, LEASE)  # one notifier is delivering it right now
    assert notify.handle(event) is AlertStatus.SENDING
    assert channels.sent == []
    clock.now = T0 + LEASE + timedelta(seconds=1)  # that notifier died with its claim
    assert notify.handle(event) is AlertStatus.SENT
    assert len(channels.sent) == 1
    assert store.items[alert_id].status is AlertStatus.SENT


@dataclass
class Failing(Channels):
    failures: int = 1

    def send(self, channel: Channel, subject: str, body: str, alert: Alert | None) -> tuple[str, ...]:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("SNS unreachable")
        return super().send(channel, subject, body, alert)


def test_a_failed_delivery_gives_back_its_claim_and_its_cooldown() -> None:
    store, channels, clock = Alerts(), Failing(), Clock()
    notify = Notifier(store, channels, clock)
    event = envelope(retention("cust-1", 1))
    with pytest.raises(ConnectionError):
        notify.handle(event)
    assert store.cooldowns == {}  # the next retention alert about cust-1 is not held back by it
    assert notify.handle(event) is AlertStatus.SENT  # SQS's retry claims it at once
    clock.now = T0 + timedelta(hours=1)
    assert notify.handle(envelope(retention("cust-1", 2))) is AlertStatus.SUPPRESSED
    assert len(channels.sent) == 1


def test_an_acknowledged_alert_is_not_reopened_by_the_digest() -> None:
    notify, store, channels, _ = notifier()
    event = envelope(lead("cust-1", "l1", 0.6))
    assert notify.handle(event) is AlertStatus.PENDING_DIGEST
    alert_id = hygiene.alert_id(event["detail"]["dedupe_key"])
    pending, _ = store.listing([AlertStatus.PENDING_DIGEST], None, 10)
    acknowledge(store, alert_id, "ana@ops", T0)  # taken between the digest's listing and its update
    store.listing = lambda *args, **kwargs: (pending, None)  # type: ignore[method-assign]
    assert Digest(store, channels).run() == 1
    assert store.items[alert_id].status is AlertStatus.ACKED


def test_low_severity_alerts_wait_for_one_digest_that_lists_them() -> None:
    notify, store, channels, clock = notifier()
    low = [lead(f"cust-{index}", f"l{index}", 0.6) for index in range(3)]
    statuses = []
    for index, event in enumerate(low):
        clock.now = T0 + timedelta(minutes=index)
        statuses.append(notify.handle(envelope(event)))
    assert statuses == [AlertStatus.PENDING_DIGEST] * 3
    assert channels.sent == []
    assert Digest(store, channels).run() == 3
    assert len(channels.sent) == 1
    channel, subject, body = channels.sent[0]
    assert channel is Channel.DIGEST
    assert subject == "[socialcrm digest] 3 low-priority alert(s)"
    assert "3 x Lead Qualified" in body
    for event in low:
        alert_id = hygiene.alert_id(event.dedupe_key)
        assert alert_id in body
        assert store.items[alert_id].status is AlertStatus.DIGESTED
    for index in range(3):
        assert f"cust-{index}" in body
    assert SECRET not in body
    assert Digest(store, channels).run() == 0  # nothing twice


# What the messages say -----------------------------------------------------------------------------


def alert_with(detail_type: str, severity: Severity, **detail: Any) -> Alert:
    key = f"{detail_type}:{detail.get('customer_id')}:{detail.get('n', 0)}"
    return Alert(hygiene.alert_id(key), key, detail_type, severity, "s", detail.get("customer_id"), T0, detail)


def test_the_digest_counts_by_type_and_lists_alerts_without_customers_words() -> None:
    alerts = [
        alert_with("Lead Qualified", Severity.LOW, customer_id="cust-1", text=SECRET),
        alert_with("Interaction Routed", Severity.INFO, customer_id="cust-2", n=1, excerpt=SECRET),
        alert_with("Lead Qualified", Severity.LOW, customer_id="cust-3", n=2, reasons=[SECRET]),
    ]
    subject, body = hygiene.digest(alerts)
    assert subject == "[socialcrm digest] 3 low-priority alert(s)"
    assert body.splitlines()[:2] == ["1 x Interaction Routed", "2 x Lead Qualified"]
    for alert in alerts:
        assert f"{alert.detail_type} {alert.customer_id} ({alert.alert_id})" in body
    assert SECRET not in body
    assert "furious" not in body


def test_a_long_digest_says_how_many_more_there_are() -> None:
    alerts = [alert_with("Lead Qualified", Severity.LOW, customer_id=f"c{index}", n=index) for index in range(230)]
    subject, body = hygiene.digest(alerts)
    assert subject == "[socialcrm digest] 230 low-priority alert(s)"
    assert "230 x Lead Qualified" in body
    assert "... and 30 more" in body
    assert alerts[199].alert_id in body
    assert alerts[200].alert_id not in body
    assert len(subject) <= 100


def test_the_message_says_what_and_why_with_ids_and_never_the_customers_words() -> None:
    event = retention("cust-1", 1)
    event.detail["text"] = SECRET  # even if a detail carried it, the message would not show it
    alert = hygiene.from_event(envelope(event), T0)
    text = hygiene.message(alert)
    assert text.startswith("Retention Alert (high) at 2026-11-22T10:00:00")
    assert "customer_id: cust-1" in text
    assert "churn_risk: 0.8" in text
    assert "interaction: messenger cust-1-1" in text
    assert "  - cancel threats: 1.0 (each halves in 30 days), last 2026-11-20 (+0.55)" in text
    assert f"POST /alerts/{alert.alert_id}/ack" in text
    assert SECRET not in text


def test_subject_lines_are_short_ascii_single_lines() -> None:
    alert = alert_with("Retention Alert", Severity.HIGH, customer_id="Zoë\n" + "x" * 200)
    line = hygiene.subject_line(alert)
    assert len(line) <= 100
    assert line.isascii()
    assert line.isprintable()  # SNS refuses subjects with line breaks or control characters
    assert line.startswith("[socialcrm high] Retention Alert: Zo? xxx")
    brand = alert_with("Crisis Alert", Severity.CRITICAL, brand="page-1")
    assert hygiene.subject_line(brand) == "[socialcrm critical] Crisis Alert: page-1"
    assert DetailType.CRISIS_ALERT.value == "Crisis Alert"
