"""Ops API: answering a case on the customer's platform, and following the answer.

`POST /cases/{case_id}/replies` only validates, checks the platform's window and limits, keeps the
reply `queued` and puts it on the outbound queue (202); the sender calls the platform. Refusals
are 409 with what can still go. Services are imported inside the routes (the ops cold start)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint, NotFoundError, Response

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.api.errors import ServiceUnavailableError
from chalicelib.dependencies import audit_trail, case_store, reply_desk, reply_store
from chalicelib.models.access import Role
from chalicelib.models.reply import Reply
from chalicelib.ports import QueueUnavailable
from chalicelib.services import audit

replies = Blueprint(__name__)


@replies.route("/cases/{case_id}/replies", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def send_reply(case_id: str) -> Response:
    from chalicelib.services.replies import CaseNotFound, InvalidReply, ReplyRefused, parse_request
    from chalicelib.store.replies import CustomerGone

    try:
        body = replies.current_request.json_body
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    who = caller()

    def recorded(reply: Reply) -> None:
        """In the audit trail as soon as it is kept, before the queue can fail (a retried POST
        with the same client_reply_id is not a new reply, and would not be recorded then)."""
        detail = {"reply_id": reply.reply_id, "platform": reply.platform}
        audit.record(audit_trail(), who, "reply.create", f"case:{case_id}", detail)

    try:
        request = parse_request(body)
        reply, _ = reply_desk().compose(case_id, request, who.id, datetime.now(UTC), created=recorded)
    except InvalidReply as exc:
        raise BadRequestError(str(exc)) from None
    except (CaseNotFound, CustomerGone):
        raise NotFoundError(f"no case {case_id}") from None
    except ReplyRefused as refused:
        return Response(refused.to_dict(), status_code=409)
    except QueueUnavailable:
        # With a client_reply_id it is kept queued: the same request puts it on the queue again.
        # Without one it is failed, for the agent to send again.
        raise ServiceUnavailableError("the outbound queue is unavailable; send the same request again") from None
    return Response(reply.to_dict(), status_code=202)


@replies.route("/cases/{case_id}/replies", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def list_replies(case_id: str) -> dict[str, Any]:
    case = case_store().get(case_id)
    if case is None:
        raise NotFoundError(f"no case {case_id}")
    return {"replies": [reply.to_dict() for reply in reply_store().of_customer(case.customer_id, case_id)]}


@replies.route("/cases/{case_id}/reply-options", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def reply_options(case_id: str) -> dict[str, Any]:
    """What the composer shows before anyone types: the platform, its window and its limit."""
    from chalicelib.services.replies import CaseNotFound

    try:
        return reply_desk().options(case_id, datetime.now(UTC))
    except CaseNotFound:
        raise NotFoundError(f"no case {case_id}") from None


@replies.route("/replies/{reply_id}", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.AGENT)
def get_reply(reply_id: str) -> dict[str, Any]:
    found = reply_store().get(reply_id)
    if found is None:
        raise NotFoundError(f"no reply {reply_id}")
    return found.to_dict()
