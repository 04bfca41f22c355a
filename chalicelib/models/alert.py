"""An alert as the notifier handled it: what it is about, how it was (or was not) delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.models.events import Severity
from chalicelib.models.interaction import iso


class AlertStatus(StrEnum):
    NEW = "new"  # recorded, not yet delivered (a retry carries on from here)
    SENDING = "sending"  # one notifier holds it for a short lease while it delivers
    SENT = "sent"  # published to its topic (and the chat webhook, for urgent ones)
    SUPPRESSED = "suppressed"  # within the cooldown of an earlier alert of its kind and subject
    PENDING_DIGEST = "pending_digest"  # low severity: waits for the next digest
    DIGESTED = "digested"  # went out in a digest
    ACKED = "acked"  # a person took it


@dataclass(frozen=True)
class Alert:
    alert_id: str
    dedupe_key: str
    detail_type: str
    severity: Severity
    subject: str  # the customer, or the brand for a crisis: what the cooldown is per
    customer_id: str | None
    raised_at: datetime
    detail: dict[str, Any]
    status: AlertStatus = AlertStatus.NEW
    delivered_to: tuple[str, ...] = field(default=())
    acked_at: datetime | None = None
    acked_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "alert_id": self.alert_id,
            "type": self.detail_type,
            "severity": self.severity.value,
            "status": self.status.value,
            "customer_id": self.customer_id,
            "subject": self.subject,
            "raised_at": iso(self.raised_at),
            "dedupe_key": self.dedupe_key,
            "delivered_to": list(self.delivered_to),
            "acked_at": iso(self.acked_at) if self.acked_at else None,
            "acked_by": self.acked_by,
            "detail": self.detail,
        }
