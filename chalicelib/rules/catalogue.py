"""The details of socialcrm's events, one builder per detail-type (see events/schemas/).

Every detail has `schema_version`, a `dedupe_key` that is the same however often the event is
sent (delivery is at least once: consumers drop repeats by this key), `severity`, `reasons`, the
ids it is about and `customer_id` where there is one. Details never carry what customers wrote,
only ids to look it up through the ops API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.models.case import Case
from chalicelib.models.decision import IntentResult, Priority, Route, RouteAction
from chalicelib.models.events import SCHEMA_VERSION, DetailType, DomainEvent, Severity
from chalicelib.models.interaction import Interaction, iso

_BY_PRIORITY = {
    Priority.P1: Severity.HIGH,
    Priority.P2: Severity.MEDIUM,
    Priority.P3: Severity.LOW,
    Priority.P4: Severity.LOW,
}


def severity_for(priority: Priority) -> Severity:
    return _BY_PRIORITY[priority]


def reference(interaction: Interaction) -> dict[str, Any]:
    return {
        "platform": interaction.platform,
        "kind": interaction.kind.value,
        "external_id": interaction.external_id,
        "account_id": interaction.account_id,
        "occurred_at": iso(interaction.occurred_at),
    }


def interaction_routed(
    customer_id: str,
    interaction: Interaction,
    intent: IntentResult,
    route: Route,
    routing_version: str,
    sentiment: str | None,
    language: str | None,
    case_id: str | None,
) -> DomainEvent:
    alert = RouteAction.ALERT in route.actions
    return _event(
        DetailType.INTERACTION_ROUTED,
        f"routed:{interaction.idempotency_key}",
        severity_for(route.priority) if alert else Severity.INFO,
        [f"rule {route.rule}", f"intent {intent.label.value} ({intent.confidence:.2f})", *intent.reasons],
        customer_id=customer_id,
        interaction=reference(interaction),
        intent=intent.to_dict(),
        route=route.to_dict(),
        routing_version=routing_version,
        sentiment=sentiment,
        language=language,
        case_id=case_id,
        alert=alert,
    )


def interaction_stored(
    customer_id: str,
    interaction: Interaction,
    sentiment: str | None,
    language: str | None,
    intent: IntentResult | None,
    route: Route | None,
    case: Case | None,
    competitors: tuple[str, ...],
    first_response_seconds: float | None,
) -> DomainEvent:
    """Every interaction stored for a customer, in either direction: its facts without its words,
    for the data lake (chalicelib/lake) and any other reader of the whole stream. A reply carries
    how long its case waited when it was the case's first answer."""
    return _event(
        DetailType.INTERACTION_STORED,
        f"stored:{interaction.idempotency_key}",
        Severity.INFO,
        [f"{interaction.direction.value} {interaction.kind.value} on {interaction.platform}"],
        customer_id=customer_id,
        interaction=reference(interaction),
        direction=interaction.direction.value,
        action=interaction.action.value,
        sentiment=sentiment,
        language=language,
        intent={"label": intent.label.value, "confidence": round(intent.confidence, 4)} if intent else None,
        case_id=case.case_id if case else None,
        team=case.team if case else route.team if route else None,
        priority=case.priority.value if case else route.priority.value if route else None,
        rating=interaction.rating,
        reaction=interaction.reaction,
        competitors=list(competitors),
        sent_by=interaction.sent_by,
        first_response_seconds=first_response_seconds,
    )


def case_opened(case: Case, interaction: Interaction, intent: IntentResult) -> DomainEvent:
    return _event(
        DetailType.CASE_OPENED,
        f"case-opened:{case.case_id}",
        severity_for(case.priority),
        [f"rule {case.rule}", f"intent {intent.label.value} ({intent.confidence:.2f})"],
        customer_id=case.customer_id,
        case_id=case.case_id,
        team=case.team,
        priority=case.priority.value,
        intent=case.intent.value,
        opened_at=iso(case.opened_at),
        due_at=iso(case.due_at),
        interaction=reference(interaction),
    )


def sla_breached(case: Case, now: datetime) -> DomainEvent:
    overdue = max(0, int((now - case.due_at).total_seconds() // 60))
    severity = Severity.CRITICAL if case.priority is Priority.P1 else severity_for(case.priority)
    return _event(
        DetailType.SLA_BREACHED,
        f"sla:{case.case_id}:{iso(case.due_at)}",
        severity,
        [f"first response was due {iso(case.due_at)} ({case.priority.value})", f"{overdue} minutes overdue"],
        customer_id=case.customer_id,
        case_id=case.case_id,
        team=case.team,
        priority=case.priority.value,
        intent=case.intent.value,
        opened_at=iso(case.opened_at),
        due_at=iso(case.due_at),
        overdue_minutes=overdue,
    )


def retention_alert(
    customer_id: str,
    episode: int,
    score: float,
    threshold: float,
    reasons: tuple[str, ...],
    interaction: Interaction | None,
    case_id: str | None,
) -> DomainEvent:
    return _event(
        DetailType.RETENTION_ALERT,
        f"retention:{customer_id}:{episode}",
        Severity.CRITICAL if score >= 0.9 else Severity.HIGH,
        list(reasons),
        customer_id=customer_id,
        churn_risk=score,
        threshold=threshold,
        episode=episode,
        interaction=reference(interaction) if interaction else None,
        case_id=case_id,
    )


def lead_qualified(
    customer_id: str, interaction: Interaction, score: float, reasons: tuple[str, ...], team: str
) -> DomainEvent:
    return _event(
        DetailType.LEAD_QUALIFIED,
        f"lead:{interaction.idempotency_key}",
        Severity.MEDIUM if score >= 0.75 else Severity.LOW,
        list(reasons),
        customer_id=customer_id,
        lead_score=score,
        team=team,
        interaction=reference(interaction),
    )


def crisis_alert(
    brand: str,
    episode: int,
    started_at: datetime,
    bucket_start: datetime,
    bucket_end: datetime,
    negative_count: int,
    baseline_mean: float,
    baseline_stdev: float,
    z_score: float,
    samples: list[dict[str, Any]],
    topic: str | None = None,
) -> DomainEvent:
    about = f", about {topic!r}" if topic else ""
    return _event(
        DetailType.CRISIS_ALERT,
        # By the brand's episode number, which a run that published but failed to save repeats:
        # the repeat is recognised, wherever the episode's first bucket is judged to start.
        f"crisis:{brand}:{episode}",
        Severity.CRITICAL,
        [
            f"{negative_count} negative interactions in {iso(bucket_start)} .. {iso(bucket_end)}{about}",
            f"usual: {baseline_mean:.1f} +/- {baseline_stdev:.1f} per bucket (z = {z_score:.1f})",
        ],
        brand=brand,
        episode=episode,
        episode_started_at=iso(started_at),
        bucket={"start": iso(bucket_start), "end": iso(bucket_end)},
        negative_count=negative_count,
        baseline={"mean": round(baseline_mean, 3), "stdev": round(baseline_stdev, 3)},
        z_score=round(z_score, 2),
        sample_interactions=samples,
        topic=topic,
    )


def _event(detail_type: DetailType, key: str, severity: Severity, reasons: list[str], **fields: Any) -> DomainEvent:
    return DomainEvent(
        detail_type,
        {"schema_version": SCHEMA_VERSION, "dedupe_key": key, "severity": severity.value, "reasons": reasons, **fields},
    )


def channel_needs_reauthorization(
    platform: str, channel_account: str, code: str, message: str, episode_started_at: datetime
) -> DomainEvent:
    """A channel account's credentials stopped working (a token expired or was revoked): replies
    on it fail until a person re-authorises it. One per account per episode; the episode ends with
    the next send on it that works."""
    return _event(
        DetailType.CHANNEL_NEEDS_REAUTHORIZATION,
        f"reauth:{platform}:{channel_account}:{iso(episode_started_at)}",
        Severity.HIGH,
        [f"{platform} refused the credentials of {channel_account}: {code}"],
        platform=platform,
        channel_account=channel_account,
        code=code,
        platform_message=message,
    )
