"""Ops API: the audit trail of who did what, for supervisors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint

from chalicelib.api.auth import ops_authorizer, requires
from chalicelib.dependencies import audit_trail
from chalicelib.models.access import Role
from chalicelib.ports import BadCursor
from chalicelib.services import audit
from chalicelib.services.customers import InvalidRequest

trail = Blueprint(__name__)


@trail.route("/audit", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def list_audit() -> dict[str, Any]:
    try:
        return audit.listing(audit_trail(), dict(trail.current_request.query_params or {}), datetime.now(UTC).date())
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None
