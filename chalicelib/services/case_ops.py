"""The ops API's case and alert operations: listing, reading, changing status, acknowledging."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.models.alert import AlertStatus
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import Intent
from chalicelib.models.interaction import iso
from chalicelib.ports import CaseRepository
from chalicelib.rules import cases, churn
from chalicelib.rules.routing import RoutingDocument
from chalicelib.services.customers import InvalidRequest, page_size
from chalicelib.services.notify import AlertRepository

MAX_CLOCK_SKEW = timedelta(minutes=5)
_WHO = 200


class CaseNotFound(LookupError):
    pass


def parse_status(raw: str | None, allowed: tuple[str, ...], default: str) -> str:
    value = (raw or default).strip().lower()
    if value not in allowed:
        raise InvalidRequest(f"status: one of {', '.join(allowed)}")
    return value


def list_cases(store: CaseRepository, params: dict[str, str]) -> dict[str, Any]:
    status = CaseStatus(parse_status(params.get("status"), tuple(s.value for s in CaseStatus), "open"))
    team = (params.get("team") or "").strip() or None
    found, cursor = store.worklist(status, team, page_size(params.get("limit"), default=50), params.get("cursor"))
    return {"cases": [case.to_dict() for case in found], "next_cursor": cursor}


def status_change(body: Any, principal: str | None, now: datetime) -> tuple[CaseStatus, str, datetime]:
    """Validate `{"status": "responded"|"resolved", "by"?: str, "at"?: ISO 8601}`."""
    if not isinstance(body, dict):
        raise InvalidRequest('body: a JSON object like {"status": "resolved", "by": "ana@ops"}')
    status = CaseStatus(parse_status(body.get("status"), ("responded", "resolved"), ""))
    by = body.get("by", principal)
    if not isinstance(by, str) or not by.strip() or len(by) > _WHO:
        raise InvalidRequest(f"by: who did it, a non-empty string of at most {_WHO} characters")
    at = now
    if body.get("at") is not None:
        raw = body["at"]
        try:
            at = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise InvalidRequest(f"at: not an ISO 8601 date-time: {raw!r}") from None
        if at.tzinfo is None:
            raise InvalidRequest("at: needs a time zone (for example ...Z)")
        at = at.astimezone(UTC)
        if at > now + MAX_CLOCK_SKEW:
            raise InvalidRequest("at: in the future")
    return status, by.strip(), at


def change_status(
    store: CaseRepository, routing: RoutingDocument, case_id: str, status: CaseStatus, by: str, at: datetime
) -> Case:
    """Set a case responded or resolved; a resolved complaint no longer counts towards churn risk."""
    problem: list[Exception] = []

    def change(case: Case, state: ChurnState, trend: float | None, samples: int) -> tuple[Case, ChurnState] | None:
        if at < case.opened_at:
            problem[:] = [InvalidRequest(f"at: before the case was opened ({iso(case.opened_at)})")]
            return None
        try:
            updated = cases.set_status(case, status, by, at)
        except cases.InvalidTransition as exc:
            problem[:] = [exc]
            return None
        if status is CaseStatus.RESOLVED and case.intent is Intent.COMPLAINT:
            state = replace(state, open_complaints=max(0, state.open_complaints - 1))
        # The risk is only lowered here, and no alert raised: a standing alert may re-arm.
        assessment = churn.assess(state, trend, samples, at)
        alerting = state.alerting and assessment.score >= routing.churn.rearm_below
        return updated, replace(state, score=assessment.score, reasons=assessment.reasons, alerting=alerting)

    changed = store.change(case_id, change)
    if problem:
        raise InvalidRequest(str(problem[0]))
    if changed is None:
        raise CaseNotFound(f"no case {case_id}")
    return changed


def list_alerts(store: AlertRepository, params: dict[str, str]) -> dict[str, Any]:
    raw = (params.get("status") or "").strip().lower()
    known = tuple(status.value for status in AlertStatus)
    statuses = [AlertStatus(parse_status(raw, known, ""))] if raw else list(AlertStatus)
    alert_type = (params.get("type") or "").strip() or None
    found, cursor = store.listing(
        statuses, alert_type, page_size(params.get("limit"), default=50), params.get("cursor")
    )
    return {"alerts": [alert.to_dict() for alert in found], "next_cursor": cursor}
