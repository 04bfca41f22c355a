"""A private note on a case: what one agent tells the others about it. Never sent to anyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.models.interaction import iso

MAX_NOTE = 4000


@dataclass(frozen=True)
class Note:
    case_id: str
    customer_id: str
    text: str
    by: str
    at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "text": self.text, "by": self.by, "at": iso(self.at)}
