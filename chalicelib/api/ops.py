"""The ops API: customers, identities and timelines, a customer's export and erasure, segments.
Every route is behind the ops authorizer and declares the least role it needs."""

from __future__ import annotations

from typing import Any

from chalice.app import BadRequestError, Blueprint, NotFoundError

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.dependencies import audit_trail, customer_records, customer_store, link_store
from chalicelib.models.access import Role
from chalicelib.observability import logger
from chalicelib.ports import BadCursor
from chalicelib.services import audit, privacy
from chalicelib.services.customers import InvalidRequest, customer_view, page_size, parse_segments, timeline

ops = Blueprint(__name__)


@ops.route("/identities/{platform}/{user_id}", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def identity(platform: str, user_id: str) -> dict[str, str]:
    customer_id = customer_store().customer_for(platform, user_id)
    if customer_id is None:
        raise NotFoundError(f"no customer has the {platform} identity {user_id}")
    return {"customer_id": customer_id}


@ops.route("/customers/{customer_id}", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def customer(customer_id: str) -> dict[str, Any]:
    view = customer_view(customer_store(), customer_id, reply_states, link_store())
    if view is None:
        raise NotFoundError(f"no customer {customer_id}")
    return view


@ops.route("/customers/{customer_id}/interactions", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def interactions(customer_id: str) -> dict[str, Any]:
    params = ops.current_request.query_params
    limit, cursor = (params.get("limit"), params.get("cursor")) if params else (None, None)
    try:
        result = timeline(customer_store(), customer_id, page_size(limit), cursor, reply_states)
    except (InvalidRequest, BadCursor) as exc:
        raise BadRequestError(str(exc)) from None
    if result is None:
        raise NotFoundError(f"no customer {customer_id}")
    return result


@ops.route("/customers/{customer_id}/export", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.ADMIN)
def export(customer_id: str) -> dict[str, Any]:
    """Everything kept about the customer, as one JSON document (a data subject's access and
    portability request)."""
    document = privacy.export(customer_store(), customer_records(), customer_id)
    if document is None:
        raise NotFoundError(f"no customer {customer_id}")
    counts = {key: len(document[key]) for key in ("identities", "interactions", "cases", "alerts")}
    audit.record(audit_trail(), caller(), "customer.export", f"customer:{customer_id}", counts)
    logger.info("customer exported", extra={"customer_id": customer_id, "by": caller().id})
    return document


@ops.route("/customers/{customer_id}", methods=["DELETE"], authorizer=ops_authorizer)
@requires(Role.ADMIN)
def erase(customer_id: str) -> dict[str, Any]:
    """Erase the customer (a data subject's erasure request): every item about them, at once. The
    request is audited before anything is deleted, and again when it is done: an erasure that was
    started and never finished shows in the trail, to be run again."""
    subject = f"customer:{customer_id}"
    audit.record(audit_trail(), caller(), "customer.erase.requested", subject)
    report = privacy.erase(customer_records(), customer_id)
    if report is None:
        raise NotFoundError(f"no customer {customer_id}")
    audit.record(audit_trail(), caller(), "customer.erase", subject, report["erased"])
    logger.info("customer erased", extra={**report, "by": caller().id})
    return report


@ops.route("/customers/{customer_id}/segments", methods=["PUT"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
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
    audit.record(audit_trail(), caller(), "customer.segments", f"customer:{customer_id}", {"segments": sorted(wanted)})
    return {"customer_id": customer_id, "segments": sorted(wanted)}


def reply_states(customer_id: str) -> dict[str, str]:
    """The state of each reply sent to the customer from socialcrm, for their timeline."""
    from chalicelib.dependencies import reply_store

    return {reply.reply_id: reply.state.value for reply in reply_store().of_customer(customer_id)}
