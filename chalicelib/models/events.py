"""Events socialcrm puts on its EventBridge bus (the catalogue is in docs/events.md and events/schemas)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

SOURCE = "socialcrm"
SCHEMA_VERSION = 1


class DetailType(StrEnum):
    INTERACTION_ROUTED = "Interaction Routed"
    CASE_OPENED = "Case Opened"
    SLA_BREACHED = "SLA Breached"
    RETENTION_ALERT = "Retention Alert"
    CRISIS_ALERT = "Crisis Alert"
    LEAD_QUALIFIED = "Lead Qualified"
    CHANNEL_NEEDS_REAUTHORIZATION = "Channel Needs Reauthorization"
    INTERACTION_STORED = "Interaction Stored"


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


@dataclass(frozen=True)
class DomainEvent:
    detail_type: DetailType
    detail: dict[str, Any]

    @property
    def dedupe_key(self) -> str:
        return str(self.detail["dedupe_key"])

    def to_dict(self) -> dict[str, Any]:
        return {"detail_type": self.detail_type.value, "detail": self.detail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DomainEvent:
        return cls(DetailType(data["detail_type"]), dict(data["detail"]))
