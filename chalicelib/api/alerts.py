"""Ops API: alerts as the notifier handled them, and acknowledging one.

Services are imported inside the routes: the ops routes' cold start must not pay for all of them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint, NotFoundError

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.dependencies import alert_store, audit_trail
from chalicelib.models.access import Role
from chalicelib.ports import BadCursor
from chalicelib.services import audit
from chalicelib.services.customers import InvalidRequest

alerts = Blueprint(__name__)


@alerts.route("/alerts", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def list_alerts() -> dict[str, Any]:
    from chalicelib.services import case_ops

    try:
        return case_ops.list_alerts(alert_store(), dict(alerts.current_request.query_params or {}))
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None


@alerts.route("/alerts/{alert_id}/ack", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def ack_alert(alert_id: str) -> dict[str, Any]:
    request = alerts.current_request
    try:
        body = request.json_body if request.raw_body else None
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    from chalicelib.services import case_ops
    from chalicelib.services.notify import AlertNotFound, acknowledge

    try:
        case_ops.ack_request(body)
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    who = caller()
    try:
        acked = acknowledge(alert_store(), alert_id, who.id, datetime.now(UTC))
    except AlertNotFound as exc:
        raise NotFoundError(str(exc)) from None
    audit.record(audit_trail(), who, "alert.ack", f"alert:{alert_id}")
    return acked.to_dict()
