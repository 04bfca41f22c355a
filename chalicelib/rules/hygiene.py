"""Alert hygiene: one alert per dedupe key, a cooldown per subject and type, and where each
severity goes (urgent now, medium now, low in a digest), so ops are told without being flooded."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from chalicelib.models.alert import Alert
from chalicelib.models.events import DetailType, Severity

# After an alert of a type about a subject, the same type about the same subject is recorded but
# not sent for this long. SLA breaches and crises are already once per deadline / per episode.
COOLDOWN = {
    DetailType.RETENTION_ALERT.value: timedelta(hours=24),
    DetailType.LEAD_QUALIFIED.value: timedelta(hours=6),
    DetailType.INTERACTION_ROUTED.value: timedelta(minutes=30),
    DetailType.CASE_OPENED.value: timedelta(minutes=30),
}


class Channel(StrEnum):
    URGENT = "urgent"  # SNS urgent topic + chat webhook
    ALERTS = "alerts"  # SNS alerts topic
    DIGEST = "digest"  # collected, sent by the digest schedule
    SUMMARY = "summary"  # the weekly summary to the supervisors' address (insight/summary.py)


def channel_for(severity: Severity) -> Channel:
    if severity in (Severity.CRITICAL, Severity.HIGH):
        return Channel.URGENT
    if severity is Severity.MEDIUM:
        return Channel.ALERTS
    return Channel.DIGEST


def alert_id(dedupe_key: str) -> str:
    return hashlib.sha256(dedupe_key.encode()).hexdigest()[:24]


def from_event(envelope: dict[str, Any], received_at: datetime) -> Alert:
    """An EventBridge event (as the rule delivers it to SQS) as an alert."""
    detail = dict(envelope["detail"])
    key = str(detail["dedupe_key"])
    customer_id = detail.get("customer_id")
    channel = f"{detail['platform']}:{detail['channel_account']}" if detail.get("channel_account") else None
    subject = customer_id or detail.get("brand") or channel or "-"
    raised = envelope.get("time")
    raised_at = datetime.fromisoformat(raised.replace("Z", "+00:00")) if isinstance(raised, str) else received_at
    return Alert(
        alert_id=alert_id(key),
        dedupe_key=key,
        detail_type=str(envelope["detail-type"]),
        severity=Severity(detail.get("severity", Severity.MEDIUM.value)),
        subject=str(subject),
        customer_id=customer_id,
        raised_at=raised_at,
        detail=detail,
    )


def cooldown_until(alert: Alert, now: datetime) -> datetime | None:
    period = COOLDOWN.get(alert.detail_type)
    return now + period if period else None


def subject_line(alert: Alert) -> str:
    """SNS e-mail subjects: at most 100 ASCII characters, no line breaks."""
    about = (
        alert.customer_id
        or alert.detail.get("brand")
        or alert.detail.get("case_id")
        or alert.detail.get("channel_account")
        or ""
    )
    line = f"[socialcrm {alert.severity.value}] {alert.detail_type}: {about}"
    line = "".join(char if char.isprintable() else " " for char in line)
    return line.encode("ascii", "replace").decode()[:100]


def message(alert: Alert) -> str:
    """A plain-text body: what happened and why, with the ids to look it up; never customers' words."""
    lines = [f"{alert.detail_type} ({alert.severity.value}) at {alert.raised_at.isoformat()}"]
    fields = ("customer_id", "case_id", "brand", "platform", "channel_account", "code")
    for field in (*fields, "churn_risk", "lead_score", "team", "priority", "due_at"):
        if alert.detail.get(field) is not None:
            lines.append(f"{field}: {alert.detail[field]}")
    route = alert.detail.get("route")
    if isinstance(route, dict):
        lines.append(f"route: team {route.get('team')}, priority {route.get('priority')}, rule {route.get('rule')}")
    interaction = alert.detail.get("interaction")
    if isinstance(interaction, dict):
        lines.append(f"interaction: {interaction.get('platform')} {interaction.get('external_id')}")
    reasons = alert.detail.get("reasons") or []
    if reasons:
        lines.append("why:")
        lines.extend(f"  - {reason}" for reason in reasons[:8])
    lines.append(f"alert id: {alert.alert_id} (POST /alerts/{alert.alert_id}/ack to take it)")
    return "\n".join(lines)


def digest(alerts: list[Alert]) -> tuple[str, str]:
    counts: dict[str, int] = {}
    for alert in alerts:
        counts[alert.detail_type] = counts.get(alert.detail_type, 0) + 1
    subject = f"[socialcrm digest] {len(alerts)} low-priority alert(s)"
    lines = [f"{count} x {kind}" for kind, count in sorted(counts.items())]
    lines.append("")
    lines.extend(f"- {a.detail_type} {a.customer_id or a.subject} ({a.alert_id})" for a in alerts[:200])
    if len(alerts) > 200:
        lines.append(f"... and {len(alerts) - 200} more (GET /alerts?status=digested)")
    return subject[:100], "\n".join(lines)
