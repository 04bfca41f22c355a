"""The ops API's case and alert operations: listing, reading, changing status, acknowledging."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from chalicelib.models.alert import AlertStatus
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import Intent
from chalicelib.ports import CaseRepository
from chalicelib.rules import cases, churn
from chalicelib.rules.routing import RoutingDocument
from chalicelib.services.customers import InvalidRequest, page_size
from chalicelib.services.notify import AlertRepository


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


def status_change(body: Any) -> CaseStatus:
    """Validate `{"status": "responded" | "resolved"}`. Who and when are the signed-in principal and
    the server's clock: a `by` or `at` in the body is refused, never believed."""
    if not isinstance(body, dict):
        raise InvalidRequest('body: a JSON object like {"status": "resolved"}')
    _refuse_who_and_when(body)
    return CaseStatus(parse_status(body.get("status"), ("responded", "resolved"), ""))


def _refuse_who_and_when(body: dict[str, Any]) -> None:
    if "by" in body:
        raise InvalidRequest("by: not accepted: who did it is whoever is signed in")
    if "at" in body:
        raise InvalidRequest("at: not accepted: when is the server's clock")


def ack_request(body: Any) -> None:
    """An acknowledgement's body, if any, must not say who or when either."""
    if body is None:
        return
    if not isinstance(body, dict):
        raise InvalidRequest("body: nothing, or an empty JSON object")
    _refuse_who_and_when(body)


def change_status(
    store: CaseRepository, routing: RoutingDocument, case_id: str, status: CaseStatus, by: str, at: datetime
) -> Case:
    """Set a case responded or resolved; a resolved complaint no longer counts towards churn risk."""
    problem: list[Exception] = []

    def change(case: Case, state: ChurnState, trend: float | None, samples: int) -> tuple[Case, ChurnState] | None:
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
