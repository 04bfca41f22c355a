"""The ops API: customers, identities and timelines, behind the ops authorizer.

The authorizer runs as its own Lambda in front of API Gateway: it raises `Unauthorized` for a
missing or wrong token, which API Gateway answers with 401, and allows every ops route for a good
one, so API Gateway can cache the answer per token for `ttl_seconds`.
"""

from __future__ import annotations

from typing import Any

from chalice.app import AuthRequest, AuthResponse, BadRequestError, Blueprint, NotFoundError, UnauthorizedError

from chalicelib.dependencies import customer_records, customer_store, ops_access
from chalicelib.observability import logger
from chalicelib.ports import BadCursor
from chalicelib.services import privacy
from chalicelib.services.customers import InvalidRequest, customer_view, page_size, parse_segments, timeline

ops = Blueprint(__name__)


@ops.authorizer(ttl_seconds=300, header="Authorization")
def ops_authorizer(auth_request: AuthRequest) -> AuthResponse:
    principal = ops_access().principal(auth_request.token)
    if principal is None:
        logger.warning("ops request refused")
        raise UnauthorizedError("Unauthorized")  # the exact message API Gateway turns into 401
    return AuthResponse(routes=["*"], principal_id=principal)


def principal_of(request: Any) -> str | None:
    """Who the authorizer let in: a Cognito user, or `ops-token` for the shared token."""
    context = getattr(request, "context", None) or {}
    authorizer = context.get("authorizer") or {}
    principal = authorizer.get("principalId")
    return str(principal) if principal else None


@ops.route("/identities/{platform}/{user_id}", methods=["GET"], authorizer=ops_authorizer)
def identity(platform: str, user_id: str) -> dict[str, str]:
    customer_id = customer_store().customer_for(platform, user_id)
    if customer_id is None:
        raise NotFoundError(f"no customer has the {platform} identity {user_id}")
    return {"customer_id": customer_id}


@ops.route("/customers/{customer_id}", methods=["GET"], authorizer=ops_authorizer)
def customer(customer_id: str) -> dict[str, Any]:
    view = customer_view(customer_store(), customer_id)
    if view is None:
        raise NotFoundError(f"no customer {customer_id}")
    return view


@ops.route("/customers/{customer_id}/interactions", methods=["GET"], authorizer=ops_authorizer)
def interactions(customer_id: str) -> dict[str, Any]:
    params = ops.current_request.query_params
    limit, cursor = (params.get("limit"), params.get("cursor")) if params else (None, None)
    try:
        result = timeline(customer_store(), customer_id, page_size(limit), cursor)
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None
    if result is None:
        raise NotFoundError(f"no customer {customer_id}")
    return result


@ops.route("/customers/{customer_id}/export", methods=["GET"], authorizer=ops_authorizer)
def export(customer_id: str) -> dict[str, Any]:
    """Everything kept about the customer, as one JSON document (a data subject's access and
    portability request)."""
    document = privacy.export(customer_store(), customer_records(), customer_id)
    if document is None:
        raise NotFoundError(f"no customer {customer_id}")
    logger.info("customer exported", extra={"customer_id": customer_id, "by": principal_of(ops.current_request)})
    return document


@ops.route("/customers/{customer_id}", methods=["DELETE"], authorizer=ops_authorizer)
def erase(customer_id: str) -> dict[str, Any]:
    """Erase the customer (a data subject's erasure request): every item about them, at once."""
    report = privacy.erase(customer_records(), customer_id)
    if report is None:
        raise NotFoundError(f"no customer {customer_id}")
    logger.info("customer erased", extra={**report, "by": principal_of(ops.current_request)})
    return report


@ops.route("/customers/{customer_id}/segments", methods=["PUT"], authorizer=ops_authorizer)
def segments(customer_id: str) -> dict[str, Any]:
    """Replace the customer's segments (`{"segments": ["vip"]}`), which routing rules can match."""
    try:
        body = ops.current_request.json_body
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    try:
        wanted = parse_segments(body)
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    if not customer_store().set_segments(customer_id, wanted):
        raise NotFoundError(f"no customer {customer_id}")
    return {"customer_id": customer_id, "segments": sorted(wanted)}
