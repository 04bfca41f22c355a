"""Trustpilot review webhooks. Trustpilot documents no signature, so the route is protected by a
secret `token` query parameter compared in constant time; one POST may carry several events.

Trustpilot sends an event when a consumer writes, changes or deletes a review, of the business
(service reviews) or of one of its products (product reviews). Only `service-review-created` has a
published body; the other names are known from integrations that receive them, and their bodies are
read as the same review object (a product review says `content` where a service review says `text`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, ParseResult, WebhookRequest
from chalicelib.channels.signing import matches
from chalicelib.models.interaction import Action, Author, Interaction, Kind
from chalicelib.ports import SecretReader

# Event names and what they do to the review. Names of product-review edits and deletions were
# never seen (Trustpilot's support pages say they exist); until one is, it is `unknown` and its
# delivery kept, so that its real shape is read before we rely on it.
_EVENTS = {
    "service-review-created": Action.CREATED,
    "service-review-updated": Action.EDITED,
    "service-review-deleted": Action.DELETED,
    "product-review-created": Action.CREATED,
}

# Known events that are not a consumer's review. The project's own sample carries an invitation
# event (no public source names it): the brand inviting someone to review, which we do not read.
_SKIPPED = {"service-review-invitation-sent": "unsupported"}


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
    name = p.text(event, "eventName", path)
    action = _EVENTS.get(name)
    if action is None:
        reason = _SKIPPED.get(name, "unknown")
        result.skip(reason, detail=f"{path}.eventName: not handled: {name[:60]!r}")
        return
    product = name.startswith("product-")
    result.add(_review(p.obj(event, "eventData", path), f"{path}.eventData", action, product, received_at))


def _review(data: dict[str, Any], path: str, action: Action, product: bool, received_at: datetime) -> Interaction:
    """A review: its id is kept across its edits and deletion. The brand account is the business
    unit, or else the location the review is about. A product review's thread is the product,
    as a comment's is its post; a service review is about the business itself and has none.
    The consumer's e-mail address, sent with product reviews, is personal data and is not read."""
    # Required even for a deletion: the processor routes an interaction without an author as one
    # whose text is still to be fetched, not as a deletion.
    consumer = p.obj(data, "consumer", path)
    created = p.opt_text(data, "createdAt", path)
    if created is None and action is not Action.DELETED:
        created = p.text(data, "createdAt", path)  # raises: a review needs its time
    # A deletion without its review's time happened, for us, when it arrived.
    occurred = p.from_iso(created, f"{path}.createdAt") if created else received_at
    # Without `updatedAt` an edit's idempotency key falls back to a digest of its content.
    updated = p.opt_text(data, "updatedAt", path) if action is not Action.CREATED else None
    edited_at = p.from_iso(updated, f"{path}.updatedAt") if updated else None
    text = p.opt_text(data, "content", path) if product else None
    return Interaction(
        platform="trustpilot",
        kind=Kind.REVIEW,
        action=action,
        external_id=p.text(data, "id", path),
        account_id=p.opt_text(data, "businessUnitId", path) or p.opt_text(data, "locationId", path),
        thread_id=p.opt_text(p.as_obj(data.get("product")), "id", f"{path}.product") if product else None,
        author=Author(
            user_id=p.text(consumer, "id", f"{path}.consumer"),
            display_name=p.opt_text(consumer, "name", f"{path}.consumer")
            or p.opt_text(consumer, "displayName", f"{path}.consumer"),
        ),
        title=p.opt_text(data, "title", path),
        text=text or p.opt_text(data, "text", path) or "",
        language_hint=p.opt_text(data, "language", path),
        rating=p.rating(data, "stars", path),
        occurred_at=occurred,
        edited_at=edited_at,
        received_at=received_at,
    )
