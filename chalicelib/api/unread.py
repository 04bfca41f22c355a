"""Ops API: webhook deliveries kept because items in them were not read, and their replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint

from chalicelib.api.auth import caller, ops_authorizer, requires
from chalicelib.api.errors import ServiceUnavailableError
from chalicelib.channels.registry import CHANNELS
from chalicelib.dependencies import audit_trail, delivery_archive, interaction_queue
from chalicelib.models.access import Role
from chalicelib.observability import logger
from chalicelib.ports import QueueUnavailable
from chalicelib.services import audit, unread
from chalicelib.services.customers import InvalidRequest

kept = Blueprint(__name__)


@kept.route("/unread", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.ADMIN)
def list_unread() -> dict[str, Any]:
    try:
        return unread.listing(delivery_archive(), dict(kept.current_request.query_params or {}))
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None


@kept.route("/unread/replay", methods=["POST"], authorizer=ops_authorizer)
@requires(Role.ADMIN)
def replay_unread() -> dict[str, Any]:
    request = kept.current_request
    try:
        keys = unread.keys_to_replay(request.json_body)
    except BadRequestError:
        raise BadRequestError("body: not valid JSON") from None
    except InvalidRequest as exc:
        raise BadRequestError(str(exc)) from None
    try:
        report = unread.replay(delivery_archive(), CHANNELS, interaction_queue(), keys, datetime.now(UTC))
    except QueueUnavailable:
        raise ServiceUnavailableError("the queue is unavailable; nothing more was replayed") from None
    for result in report["replayed"]:
        audit.record(
            audit_trail(), caller(), "unread.replay", f"delivery:{result['key']}", {"status": result["status"]}
        )
    logger.info("deliveries replayed", extra={"keys": len(keys), "by": caller().id})
    return report
