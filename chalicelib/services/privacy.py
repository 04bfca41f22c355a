"""A customer's data, handed over or erased on request (LGPD art. 18; GDPR arts. 15, 17, 20).

The export is everything the table keeps about the customer, in the shapes the ops API uses, as
one JSON document (portable, machine-readable). Erasure deletes it all, leaving per identity only a
suppression record (a hash of it, and when the erasure was requested) so that what the person wrote
before then, reaching us late, cannot make them a customer again; what was already sent
(EventBridge events, SNS e-mails) is outside the table and outside its reach.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.models.alert import Alert
from chalicelib.models.case import Case
from chalicelib.models.directory import Link, Suggestion
from chalicelib.models.interaction import iso
from chalicelib.models.note import Note
from chalicelib.models.reply import Reply
from chalicelib.services.customers import MAX_PAGE, CustomerReader


class CustomerRecordKeeper(Protocol):
    def cases(self, customer_id: str) -> list[Case]: ...

    def alerts(self, customer_id: str) -> list[Alert]: ...

    def replies(self, customer_id: str) -> list[Reply]: ...

    def notes(self, customer_id: str) -> list[Note]: ...

    def links(self, customer_id: str) -> list[Link]: ...

    def suggestions(self, customer_id: str) -> list[Suggestion]: ...

    def search_kinds(self, customer_id: str) -> dict[str, int]: ...

    def erase(self, customer_id: str) -> dict[str, int] | None: ...


def export(reader: CustomerReader, records: CustomerRecordKeeper, customer_id: str) -> dict[str, Any] | None:
    customer = reader.customer(customer_id)
    if customer is None:
        return None
    interactions: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page, cursor = reader.interactions(customer_id, MAX_PAGE, cursor)
        interactions.extend(interaction.to_dict() for interaction in page)
        if cursor is None:
            break
    return {
        "exported_at": iso(datetime.now(UTC)),
        "customer": customer.to_dict(),
        "identities": [identity.to_dict() for identity in reader.identities(customer_id)],
        "interactions": interactions,
        "cases": [case.to_dict() for case in records.cases(customer_id)],
        "alerts": [alert.to_dict() for alert in records.alerts(customer_id)],
        "replies": [reply.to_dict() for reply in records.replies(customer_id)],
        "notes": [note.to_dict() for note in records.notes(customer_id)],  # agents' notes on their cases
        # The customers linked to them (ids only), the links suggested for them with the kinds of
        # their reasons, and how many search index entries of each kind find them (the keyed hashes
        # stand for values shown above; the values themselves are not kept).
        "links": [link.other_id for link in records.links(customer_id)],
        "suggestions": [suggestion.to_dict() for suggestion in records.suggestions(customer_id)],
        "search_index": records.search_kinds(customer_id),
    }


def erase(records: CustomerRecordKeeper, customer_id: str) -> dict[str, Any] | None:
    erased = records.erase(customer_id)
    return None if erased is None else {"customer_id": customer_id, "erased": erased}
