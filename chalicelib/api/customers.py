"""Ops API: finding customers, and one customer across platforms (links and suggested links).

A search query is customer data (a name, an address, a number): it is read from the query string,
which request logs never name, and no answer or log line repeats it. Services are imported inside
the routes: the ops routes' cold start must not pay for them."""

from __future__ import annotations

from typing import Any

from chalice.app import BadRequestError, Blueprint, ConflictError, NotFoundError, Response

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.api.errors import ServiceUnavailableError
from chalicelib.dependencies import audit_trail, customer_directory, customer_records, customer_store, link_store
from chalicelib.models.access import Role
from chalicelib.models.directory import LinkRefused
from chalicelib.services.customers import InvalidRequest, page_size

customers = Blueprint(__name__)


@customers.route("/customers", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def search() -> dict[str, Any]:
    """`?q=` a name (prefix, 2 characters or more), handle, platform user id, e-mail address or
    phone number; `limit=` 1-50 (default 20). Most recent contact first."""
    from chalicelib.services.directory import MAX_LIMIT, SearchUnavailable

    params = dict(customers.current_request.query_params or {})
    try:
        limit = page_size(params.get("limit"), default=20)
        if limit > MAX_LIMIT:
            raise InvalidRequest(f"limit: a whole number from 1 to {MAX_LIMIT}")
        found = customer_directory().search(params.get("q") or "", limit)
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    except SearchUnavailable as exc:
        raise ServiceUnavailableError(str(exc)) from None
    return {"customers": [match.to_dict() for match in found]}


@customers.route("/customers/{customer_id}/links", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def list_links(customer_id: str) -> dict[str, Any]:
    from chalicelib.services import links

    view = links.links_view(link_store(), customer_store(), customer_id)
    if view is None:
        raise NotFoundError(f"no customer {customer_id}")
    return view


@customers.route("/customers/{customer_id}/links", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def add_link(customer_id: str) -> Response:
    """Link two customers into one view (`{"customer_id": "<other>"}`): 201 with the link, or 200
    with it when they were linked already. Agents may (services/links.py says why)."""
    from chalicelib.services import links

    try:
        body = customers.current_request.json_body
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    try:
        other_id = links.parse_link(body)
        made, created = links.link(link_store(), customer_store(), audit_trail(), caller(), customer_id, other_id)
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    except LinkRefused as exc:
        raise _refusal(exc) from None
    return Response(body=made, status_code=201 if created else 200)


@customers.route("/customers/{customer_id}/links/{other_id}", methods=["DELETE"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def remove_link(customer_id: str, other_id: str) -> dict[str, Any]:
    from chalicelib.services import links

    if not links.unlink(link_store(), audit_trail(), caller(), customer_id, other_id):
        raise NotFoundError(f"customers {customer_id} and {other_id} are not linked")
    return {"customer_id": customer_id, "unlinked": other_id}


@customers.route("/customers/{customer_id}/suggestions/{other_id}", methods=["DELETE"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def dismiss_suggestion(customer_id: str, other_id: str) -> dict[str, Any]:
    from chalicelib.services import links

    if not links.dismiss(link_store(), audit_trail(), caller(), customer_id, other_id):
        raise NotFoundError(f"no suggestion to link customers {customer_id} and {other_id}")
    return {"customer_id": customer_id, "dismissed": other_id}


@customers.route("/customers/{customer_id}/history", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def history(customer_id: str) -> dict[str, Any]:
    """The customer's and their linked customers' interactions, newest first (`limit`, `cursor`),
    and on the first page their cases."""
    from chalicelib.api.ops import reply_states
    from chalicelib.services import links

    params = dict(customers.current_request.query_params or {})
    try:
        result = links.linked_history(
            customer_store(),
            link_store(),
            customer_records(),
            customer_id,
            page_size(params.get("limit")),
            params.get("cursor"),
            reply_states,
        )
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    if result is None:
        raise NotFoundError(f"no customer {customer_id}")
    return result


def _refusal(exc: LinkRefused) -> Exception:
    if exc.status == 404:
        return NotFoundError(str(exc))
    if exc.status == 409:
        return ConflictError(str(exc))
    return BadRequestError(str(exc))
