"""Ops API: cases, behind the ops authorizer.

Services are imported inside the routes: the ops routes' cold start must not pay for all of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint, ConflictError, ForbiddenError, NotFoundError

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.api.errors import ServiceUnavailableError
from chalicelib.dependencies import audit_trail, case_store, inbox_store, routing
from chalicelib.models.access import Role
from chalicelib.ports import BadCursor
from chalicelib.services import audit
from chalicelib.services.customers import InvalidRequest

cases = Blueprint(__name__)


@cases.route("/cases", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def list_cases() -> dict[str, Any]:
    from chalicelib.services import case_ops

    try:
        return case_ops.list_cases(inbox_store(), dict(cases.current_request.query_params or {}), caller().id)
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None


@cases.route("/cases/{case_id}", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def get_case(case_id: str) -> dict[str, Any]:
    found = case_store().get(case_id)
    if found is None:
        raise NotFoundError(f"no case {case_id}")
    from chalicelib.dependencies import reply_store

    # The replies sent from socialcrm on the case, each once, with its state.
    replies = [reply.to_dict() for reply in reply_store().of_customer(found.customer_id, case_id)]
    return {**found.to_dict(), "replies": replies}


@cases.route("/cases/{case_id}/status", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def set_case_status(case_id: str) -> dict[str, Any]:
    request = cases.current_request
    try:
        body = request.json_body
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.rules.routing import RoutingError
    from chalicelib.services import case_ops

    who = caller()
    try:
        status = case_ops.status_change(body)
        changed = case_ops.change_status(case_store(), routing(), case_id, status, who.id, datetime.now(UTC))
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    except case_ops.CaseNotFound as exc:
        raise NotFoundError(str(exc)) from None
    except (RoutingError, RoutingUnavailable):
        # The SLA a reopened case gets comes from the routing document; without a valid one the
        # change waits (the source has logged why, and the alarm is raised).
        raise ServiceUnavailableError("the routing document is unavailable; try again later") from None
    audit.record(audit_trail(), who, "case.status", f"case:{case_id}", {"status": status.value})
    return changed.to_dict()


@cases.route("/cases/{case_id}/assign", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def assign_case(case_id: str) -> dict[str, Any]:
    """`{"assignee": "<principal id>" | "me" | null, "team": "<team>"?}`: agents take a case, let go
    of theirs or pass it to a team; supervisors assign anyone (rules.cases.check_assignment)."""
    request = cases.current_request
    try:
        body = request.json_body
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.rules.routing import RoutingError
    from chalicelib.services import case_ops

    who = caller()
    try:
        wanted = case_ops.assignment(body, who.id)
        changed = case_ops.assign(case_store(), audit_trail(), routing, case_id, wanted, who, datetime.now(UTC))
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    except case_ops.CaseNotFound as exc:
        raise NotFoundError(str(exc)) from None
    except case_ops.AssignmentRefused as exc:
        raise (ConflictError if exc.conflict else ForbiddenError)(str(exc)) from None
    except (RoutingError, RoutingUnavailable):
        # The teams a case may go to are the routing document's.
        raise ServiceUnavailableError("the routing document is unavailable; try again later") from None
    return changed.to_dict()


@cases.route("/cases/{case_id}/viewing", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def viewing_case(case_id: str) -> dict[str, Any]:
    """The caller has the case open for the next minute; who else has it open."""
    from chalicelib.services import inbox

    try:
        others = inbox.viewing(inbox_store(), case_id, caller().id)
    except inbox.CaseNotFound as exc:
        raise NotFoundError(str(exc)) from None
    return {"viewing": [viewer.to_dict() for viewer in others], "seconds": inbox.VIEWING_SECONDS}
