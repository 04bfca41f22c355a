"""Ops API: alerts as the notifier handled them, and acknowledging one.

Services are imported inside the routes: every route shares the webhook Lambda, whose cold start
must not pay for the alerting code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint, NotFoundError

from chalicelib.api.ops import ops_authorizer, principal_of
from chalicelib.dependencies import alert_store
from chalicelib.ports import BadCursor
from chalicelib.services.customers import InvalidRequest

alerts = Blueprint(__name__)


@alerts.route("/alerts", methods=["GET"], authorizer=ops_authorizer)
def list_alerts() -> dict[str, Any]:
    from chalicelib.services import case_ops

    try:
        return case_ops.list_alerts(alert_store(), dict(alerts.current_request.query_params or {}))
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None


@alerts.route("/alerts/{alert_id}/ack", methods=["POST"], authorizer=ops_authorizer)
def ack_alert(alert_id: str) -> dict[str, Any]:
    request = alerts.current_request
    try:
        body = request.json_body if request.raw_body else {}
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    by = (body or {}).get("by") if isinstance(body, dict) else None
    by = by or principal_of(request)
    if not isinstance(by, str) or not by.strip():
        raise BadRequestError("by: who takes the alert")
    from chalicelib.services.notify import AlertNotFound, acknowledge

    try:
        return acknowledge(alert_store(), alert_id, by.strip()[:200], datetime.now(UTC)).to_dict()
    except AlertNotFound as exc:
        raise NotFoundError(str(exc)) from None
