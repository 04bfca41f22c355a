"""The audit trail: every export, erasure, case change, alert acknowledgement, identity or segment
change and replay records who (the authenticated principal), what, to what and when (the server's
clock; never a `by` or `at` a client sends). Supervisors list it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.models.access import Principal
from chalicelib.models.audit import AuditEntry
from chalicelib.services.customers import InvalidRequest, page_size

DEFAULT_DAYS = 7
MAX_DAYS = 366


class AuditTrail(Protocol):
    def record(self, entry: AuditEntry) -> None: ...

    def listing(
        self, first: date, last: date, action: str | None, subject: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AuditEntry], str | None]: ...


def record(trail: AuditTrail, who: Principal, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
    trail.record(AuditEntry(datetime.now(UTC), who.id, who.role.label, action, subject, detail or {}))


def listing(trail: AuditTrail, params: Mapping[str, str], today: date) -> dict[str, Any]:
    """`?from=&to=` (dates, the last seven days by default), `action=`, `subject=`, `limit=`, `cursor=`."""
    last = _date(params.get("to"), "to") or today
    first = _date(params.get("from"), "from") or last - timedelta(days=DEFAULT_DAYS - 1)
    if first > last:
        raise InvalidRequest("from: after to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRequest(f"from, to: at most {MAX_DAYS} days at a time")
    action = (params.get("action") or "").strip() or None
    subject = (params.get("subject") or "").strip() or None
    entries, cursor = trail.listing(
        first, last, action, subject, page_size(params.get("limit"), default=50), params.get("cursor")
    )
    return {"entries": [entry.to_dict() for entry in entries], "next_cursor": cursor}


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequest(f"{name}: a date like 2026-12-06") from None
