"""An audit trail entry: who (the authenticated principal and their role), did what, to what, when
(the server's clock). No personal data: subjects are ids (a customer's is a random UUID, which names
nobody once the customer is erased), details are statuses and counts, never a message or a name."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.models.interaction import iso


@dataclass(frozen=True)
class AuditEntry:
    at: datetime
    principal: str
    role: str
    action: str  # customer.export, customer.erase, case.status, alert.ack, customer.segments, unread.replay
    subject: str  # customer:<id>, case:<id>, alert:<id>, delivery:<key>
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "principal": self.principal,
            "role": self.role,
            "action": self.action,
            "subject": self.subject,
            "detail": self.detail,
        }
