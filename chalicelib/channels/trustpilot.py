"""Trustpilot review webhooks. Trustpilot documents no signature, so the route is protected by a
secret `token` query parameter compared in constant time; one POST may carry several reviews.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, ParseResult, WebhookRequest
from chalicelib.channels.signing import matches
from chalicelib.models.interaction import Action, Author, Interaction, Kind
from chalicelib.ports import SecretReader

# Only the creation event's name is documented; the others follow its pattern.
_EVENTS = {
    "service-review-created": Action.CREATED,
    "service-review-updated": Action.EDITED,
    "service-review-deleted": Action.DELETED,
}


def verify(presented: str | None, token: str) -> None:
    if not matches(token, presented):
        raise InvalidSignature("the token query parameter is missing or wrong")


class TrustpilotChannel:
    name = "trustpilot"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        verify(request.query.get("token"), secrets.get("trustpilot_token"))

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, received_at)


def parse(raw_body: bytes, received_at: datetime) -> ParseResult:
    document = p.load_object(raw_body)
    events = p.items(document, "events", "", required=True)
    result = ParseResult()
    for index, event in enumerate(events):
        result.guard(f"events[{index}]", _event, event, received_at, result)
    return result


def _event(event: dict[str, Any], path: str, received_at: datetime, result: ParseResult) -> None:
    name = str(event.get("eventName"))
    action = _EVENTS.get(name)
    if action is None:
        result.skip("unsupported", detail=f"{path}.eventName: not handled: {name[:60]!r}")
        return
    result.add(_review(p.obj(event, "eventData", path), f"{path}.eventData", action, received_at))


def _review(data: dict[str, Any], path: str, action: Action, received_at: datetime) -> Interaction:
    consumer = p.obj(data, "consumer", path)
    created = p.from_iso(p.text(data, "createdAt", path), f"{path}.createdAt")
    # Without `updatedAt` an edit's idempotency key falls back to a digest of its content.
    updated = p.opt_text(data, "updatedAt", path) if action is not Action.CREATED else None
    edited_at = p.from_iso(updated, f"{path}.updatedAt") if updated else None
    return Interaction(
        platform="trustpilot",
        kind=Kind.REVIEW,
        action=action,
        external_id=p.text(data, "id", path),
        account_id=p.opt_text(data, "businessUnitId", path) or p.opt_text(data, "locationId", path),
        author=Author(
            user_id=p.text(consumer, "id", f"{path}.consumer"),
            display_name=p.opt_text(consumer, "name", f"{path}.consumer"),
        ),
        title=p.opt_text(data, "title", path),
        text=p.opt_text(data, "text", path) or "",
        language_hint=p.opt_text(data, "language", path),
        rating=p.rating(data, "stars", path),
        occurred_at=created,
        edited_at=edited_at,
        received_at=received_at,
    )
