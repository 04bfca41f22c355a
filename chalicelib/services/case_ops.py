"""The ops API's case and alert operations: listing, reading, changing status, assigning,
acknowledging."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from chalicelib.models.access import Principal, Role
from chalicelib.models.alert import AlertStatus
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import Intent
from chalicelib.ports import CaseRepository
from chalicelib.rules import cases, churn
from chalicelib.rules.cases import AssignmentRefused as AssignmentRefused  # raised by assign()
from chalicelib.rules.inbox import InboxSort
from chalicelib.rules.routing import RoutingDocument
from chalicelib.services import audit, inbox
from chalicelib.services.audit import AuditTrail
from chalicelib.services.customers import InvalidRequest, page_size
from chalicelib.services.inbox import CaseNotFound as CaseNotFound  # raised here too
from chalicelib.services.inbox import InboxRepository
from chalicelib.services.notify import AlertRepository


def parse_status(raw: str | None, allowed: tuple[str, ...], default: str) -> str:
    value = (raw or default).strip().lower()
    if value not in allowed:
        raise InvalidRequest(f"status: one of {', '.join(allowed)}")
    return value


def list_cases(
    store: InboxRepository, params: Mapping[str, str], me: str, now: datetime | None = None
) -> dict[str, Any]:
    """`GET /cases`: a view of the inbox (services/inbox.inbox_query says which parameters), each
    case whole with its row's fields (customer name, preview, sentiment, overdue now). Ordered by
    deadline unless `sort` says otherwise, as it always was."""
    query = inbox.inbox_query(params, me, sort=InboxSort.DUE)
    page = inbox.inbox(store, query, page_size(params.get("limit"), default=50), params.get("cursor"), now)
    whole = store.whole([each.case for each in page.rows])
    listed = [
        {**whole[each.case.case_id].to_dict(), **each.to_dict()} for each in page.rows if each.case.case_id in whole
    ]
    return {"cases": listed, "next_cursor": page.next_cursor}


@dataclass(frozen=True)
class Assignment:
    assignee: str | None  # a principal id, None: nobody
    team: str | None  # None: the case keeps its team


def assignment(body: Any, me: str) -> Assignment:
    """Validate `{"assignee": "<principal id>" | "me" | null, "team": "<team>"?}`; `me` is the
    caller's principal id. Who and when are never taken from the body."""
    if not isinstance(body, dict) or "assignee" not in body:
        raise InvalidRequest('body: a JSON object like {"assignee": "me"} or {"assignee": null, "team": "billing"}')
    _refuse_who_and_when(body)
    unknown = sorted(set(body) - {"assignee", "team"})
    if unknown:
        raise InvalidRequest(f"{unknown[0]}: not accepted: only assignee and team")
    raw, team = body["assignee"], body.get("team")
    if raw is not None and not isinstance(raw, str):
        raise InvalidRequest('assignee: a principal id, "me" or null')
    if team is not None and (not isinstance(team, str) or not team.strip()):
        raise InvalidRequest("team: a team name of the routing document")
    if raw is None:
        assignee = None
    elif raw.strip().lower() == "me":
        assignee = me
    else:
        assignee = inbox.principal_id(raw, "assignee")
    return Assignment(assignee, team.strip() if team is not None else None)


class AssignmentStore(Protocol):
    def amend(self, case_id: str, change: Callable[[Case], Case]) -> Case | None: ...


def assign(
    store: AssignmentStore,
    trail: AuditTrail,
    routing: Callable[[], RoutingDocument],
    case_id: str,
    request: Assignment,
    who: Principal,
    at: datetime,
) -> Case:
    """Assign a case (`POST /cases/{id}/assign`, and the console's buttons): to a person or to
    nobody, and to a team of the routing document (read only when a team is given). Who may do
    what is rules.cases.check_assignment's, decided on the case as it is written, so that of
    concurrent assignments the one written last stands and each is in the history, and an agent
    never takes a case from a colleague who took it a moment before. Audited (`case.assign`)
    when it changed anything.

    Raises InvalidRequest (an unknown team, a resolved case), AssignmentRefused (`conflict`: a
    colleague holds it), CaseNotFound; `routing` may raise RoutingError / RoutingUnavailable."""
    if request.team is not None:
        teams = routing().teams
        if request.team not in teams:
            raise InvalidRequest(f"team: one of {', '.join(teams)}")
    supervisor = who.role >= Role.SUPERVISOR
    before: list[Case] = []

    def change(case: Case) -> Case:
        before[:] = [case]
        cases.check_assignment(case, who.id, supervisor, request.assignee, request.team)
        return cases.assign(case, request.assignee, request.team, who.id, at)

    try:
        changed = store.amend(case_id, change)
    except cases.InvalidTransition as exc:
        raise InvalidRequest(str(exc)) from None
    if changed is None:
        raise CaseNotFound(f"no case {case_id}")
    if before and before[0] != changed:
        audit.record(trail, who, "case.assign", f"case:{case_id}", {"assignee": changed.assignee, "team": changed.team})
    return changed


def status_change(body: Any) -> CaseStatus:
    """Validate `{"status": "responded" | "resolved" | "open"}` (open: reopen a resolved case). Who
    and when are the signed-in principal and the server's clock: a `by` or `at` in the body is
    refused, never believed."""
    if not isinstance(body, dict):
        raise InvalidRequest('body: a JSON object like {"status": "resolved"}')
    _refuse_who_and_when(body)
    return CaseStatus(parse_status(body.get("status"), ("responded", "resolved", "open"), ""))


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
    """Set a case responded or resolved, or reopen a resolved one; a resolved complaint no longer
    counts towards churn risk, and a reopened one counts again."""
    problem: list[Exception] = []

    def change(case: Case, state: ChurnState, trend: float | None, samples: int) -> tuple[Case, ChurnState] | None:
        try:
            if status is CaseStatus.OPEN:
                updated = cases.reopen(case, by, at, routing.sla_minutes)
            else:
                updated = cases.set_status(case, status, by, at)
        except cases.InvalidTransition as exc:
            problem[:] = [exc]
            return None
        if status is CaseStatus.RESOLVED and case.intent is Intent.COMPLAINT:
            state = replace(state, open_complaints=max(0, state.open_complaints - 1))
        if status is CaseStatus.OPEN and case.intent is Intent.COMPLAINT:
            state = replace(state, open_complaints=state.open_complaints + 1)
        # No alert is raised here (a reopened complaint raises the risk for the next message to
        # judge); a standing alert may re-arm.
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
