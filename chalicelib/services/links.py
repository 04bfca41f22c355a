"""One person across platforms: the links people make between customers, the links the pipeline
suggests, and what the console shows over a customer and the customers linked to them.

A link joins two customers' views and nothing else: no data is moved, merged or deleted, so
unlinking undoes it exactly, and each customer's export and erasure stay their own (erasing one
takes the link away and leaves the other whole). That is why an **agent** may link and unlink: it
is the agent reading the conversations who recognises the same person writing from two platforms,
the change is reversible at any time, and every link, unlink and dismissal is in the audit trail
(`customer.link`, `customer.unlink`, `customer.suggestion.dismiss`, subject `customer:<id>`, the
other's id in the detail). Links are pairwise and shown one level deep (rules/linking.py says why).

Suggestions come from the pipeline (services/directory.py): the same e-mail address or phone
number in two customers' messages. A person confirms one by linking the two (which removes it on
both sides) or dismisses it; nothing is linked by itself.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.models.access import Principal
from chalicelib.models.case import Case
from chalicelib.models.customer import Customer, StoredInteraction
from chalicelib.models.directory import Link, SelfLink, Suggestion
from chalicelib.services import audit
from chalicelib.services.audit import AuditTrail
from chalicelib.services.customers import CustomerReader, InvalidRequest, ReplyStates

MAX_ID = 200


class LinkKeeper(Protocol):
    def link(self, customer_id: str, other_id: str, by: str, at: datetime) -> tuple[Link, bool]: ...

    def unlink(self, customer_id: str, other_id: str) -> bool: ...

    def links(self, customer_id: str) -> list[Link]: ...

    def suggestions(self, customer_id: str, dismissed: bool = False) -> list[Suggestion]: ...

    def dismiss(self, customer_id: str, other_id: str, by: str, at: datetime) -> bool: ...

    def interactions(
        self, customer_id: str, limit: int, before: str | None = None
    ) -> list[tuple[str, StoredInteraction]]: ...


class CaseLister(Protocol):
    def cases(self, customer_id: str) -> list[Case]: ...


def parse_link(body: Any) -> str:
    """`{"customer_id": "<the other customer>"}`; who links and when are the caller and the clock."""
    if not isinstance(body, dict) or not isinstance(body.get("customer_id"), str):
        raise InvalidRequest('body: a JSON object like {"customer_id": "<the customer to link>"}')
    if "by" in body or "at" in body:
        raise InvalidRequest("by, at: not accepted: who links is whoever is signed in, when is the server's clock")
    other = body["customer_id"].strip()
    if not other or len(other) > MAX_ID:
        raise InvalidRequest(f"customer_id: 1 to {MAX_ID} characters")
    return str(other)


def link(
    keeper: LinkKeeper, reader: CustomerReader, trail: AuditTrail, who: Principal, customer_id: str, other_id: str
) -> tuple[dict[str, Any], bool]:
    """Link two customers into one view: (the link as `links_view` lists it, whether it is new).
    Linking again changes nothing and is not audited again. Raises SelfLink, UnknownCustomer or
    CustomerBeingErased (models/directory.py: each carries the HTTP status to answer)."""
    if customer_id == other_id:
        raise SelfLink("a customer cannot be linked to themselves")
    made, created = keeper.link(customer_id, other_id, who.id, datetime.now(UTC))
    if created:
        audit.record(trail, who, "customer.link", f"customer:{customer_id}", {"customer_id": other_id})
    return _entry(reader, made.other_id, made.to_dict()), created


def unlink(keeper: LinkKeeper, trail: AuditTrail, who: Principal, customer_id: str, other_id: str) -> bool:
    """Undo a link, both halves at once; False if the two were not linked."""
    removed = keeper.unlink(customer_id, other_id)
    if removed:
        audit.record(trail, who, "customer.unlink", f"customer:{customer_id}", {"customer_id": other_id})
    return removed


def dismiss(keeper: LinkKeeper, trail: AuditTrail, who: Principal, customer_id: str, other_id: str) -> bool:
    """Dismiss a suggested link on both sides; False if there was none standing."""
    dismissed = keeper.dismiss(customer_id, other_id, who.id, datetime.now(UTC))
    if dismissed:
        audit.record(trail, who, "customer.suggestion.dismiss", f"customer:{customer_id}", {"customer_id": other_id})
    return dismissed


def links_view(keeper: LinkKeeper, reader: CustomerReader, customer_id: str) -> dict[str, Any] | None:
    """`{"links": [{customer_id, display_name, handle, linked_at, linked_by}], "suggestions":
    [{customer_id, display_name, handle, reasons: [{kind, seen_at}]}]}`; None if no such customer."""
    if reader.customer(customer_id) is None:
        return None
    return {
        "links": [_entry(reader, made.other_id, made.to_dict()) for made in keeper.links(customer_id)],
        "suggestions": [
            _entry(reader, suggestion.other_id, suggestion.to_dict()) for suggestion in keeper.suggestions(customer_id)
        ],
    }


def linked_history(
    reader: CustomerReader,
    keeper: LinkKeeper,
    cases: CaseLister,
    customer_id: str,
    limit: int = 20,
    cursor: str | None = None,
    replies: ReplyStates | None = None,
) -> dict[str, Any] | None:
    """The customer's and their linked customers' interactions merged, newest first, `limit` at a
    time, each with the `customer_id` it belongs to; on the first page (no cursor) also every case
    of theirs, newest first. None if no such customer. `customers`: who is included."""
    customer = reader.customer(customer_id)
    if customer is None:
        return None
    before = _decode(cursor)
    people = [customer, *_linked(reader, keeper, customer_id)]
    pages = {person.customer_id: keeper.interactions(person.customer_id, limit, before) for person in people}
    merged = sorted(
        ((key, owner, interaction) for owner, page in pages.items() for key, interaction in page),
        key=lambda entry: entry[0],
        reverse=True,
    )
    shown = merged[:limit]
    more = len(merged) > limit or any(len(page) == limit for page in pages.values())
    states = {
        owner: replies(owner) if replies is not None and any(i.reply_id for _, o, i in shown if o == owner) else {}
        for owner in pages
    }
    interactions = []
    for _, owner, interaction in shown:
        item = {"customer_id": owner, **interaction.to_dict()}
        if interaction.reply_id:
            item["reply_state"] = states[owner].get(interaction.reply_id)
        interactions.append(item)
    history: dict[str, Any] = {
        "customer_id": customer_id,
        "customers": [_person(person) for person in people],
        "interactions": interactions,
        "next_cursor": _encode(shown[-1][0]) if more and shown else None,
    }
    if cursor is None:
        found = [case for person in people for case in cases.cases(person.customer_id)]
        history["cases"] = [case.to_dict() for case in sorted(found, key=lambda c: c.opened_at, reverse=True)]
    return history


def _linked(reader: CustomerReader, keeper: LinkKeeper, customer_id: str) -> list[Customer]:
    found = (reader.customer(made.other_id) for made in keeper.links(customer_id))
    return [customer for customer in found if customer is not None]


def _person(customer: Customer) -> dict[str, Any]:
    return {"customer_id": customer.customer_id, "display_name": customer.display_name, "handle": customer.handle}


def _entry(reader: CustomerReader, other_id: str, document: dict[str, Any]) -> dict[str, Any]:
    """A link or suggestion with the other customer's names (None if they are gone meanwhile)."""
    other = reader.customer(other_id)
    names = {"display_name": other.display_name if other else None, "handle": other.handle if other else None}
    return {"customer_id": other_id, **names, **document}


def _encode(key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": key}).encode()).decode().rstrip("=")


def _decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        document = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidRequest("cursor: not one this API returned") from None
    key = document.get("before") if isinstance(document, dict) else None
    if not isinstance(key, str) or not key.startswith("INTERACTION#"):
        raise InvalidRequest("cursor: not one this API returned")
    return key
