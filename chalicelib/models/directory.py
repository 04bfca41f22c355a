"""Finding customers and seeing one person across platforms: what search finds, the links people
make between customers, the links the pipeline suggests, and figures over linked customers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.models.interaction import iso


@dataclass(frozen=True)
class CustomerMatch:
    """A search result row: who, where they write from, when they last did, and what matched
    (the kinds only: `name`, `handle`, `user`, `email`, `phone`)."""

    customer_id: str
    display_name: str | None
    handle: str | None
    platforms: tuple[str, ...]
    last_contact_at: datetime | None
    matched: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "display_name": self.display_name,
            "handle": self.handle,
            "platforms": list(self.platforms),
            "last_contact_at": iso(self.last_contact_at) if self.last_contact_at else None,
            "matched": list(self.matched),
        }


@dataclass(frozen=True)
class Link:
    """One half of a link, as kept in `customer_id`'s partition; the other half is the mirror."""

    customer_id: str
    other_id: str
    linked_at: datetime
    linked_by: str

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.other_id, "linked_at": iso(self.linked_at), "linked_by": self.linked_by}


@dataclass(frozen=True)
class SuggestionReason:
    kind: str  # `email` or `phone`: what both customers wrote (never the value)
    seen_at: datetime  # when the message that made it a reason was written

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "seen_at": iso(self.seen_at)}


@dataclass(frozen=True)
class Suggestion:
    """`other_id` wrote an e-mail address or phone number `customer_id` wrote too."""

    customer_id: str
    other_id: str
    reasons: tuple[SuggestionReason, ...]
    dismissed_at: datetime | None = None
    dismissed_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "customer_id": self.other_id,
            "reasons": [reason.to_dict() for reason in self.reasons],
        }
        if self.dismissed_at is not None:
            document.update(dismissed_at=iso(self.dismissed_at), dismissed_by=self.dismissed_by)
        return document


@dataclass(frozen=True)
class Combined:
    """Figures over a customer and the customers linked to them (rules/linking.py)."""

    customer_ids: tuple[str, ...]
    interaction_count: int = 0
    platform_counts: dict[str, int] = field(default_factory=dict)
    first_contact_at: datetime | None = None
    last_contact_at: datetime | None = None
    sentiment_trend: float | None = None
    sentiment_samples: int = 0
    churn_score: float = 0.0
    churn_reasons: tuple[str, ...] = ()
    churn_customer_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "customer_ids": list(self.customer_ids),
            "interaction_count": self.interaction_count,
            "platform_counts": dict(self.platform_counts),
            "platforms": sorted(self.platform_counts),
            "first_contact_at": iso(self.first_contact_at) if self.first_contact_at else None,
            "last_contact_at": iso(self.last_contact_at) if self.last_contact_at else None,
            "sentiment_trend": self.sentiment_trend,
            "sentiment_samples": self.sentiment_samples,
            "churn": {
                "score": self.churn_score,
                "reasons": list(self.churn_reasons),
                "customer_id": self.churn_customer_id,
            },
        }


class LinkRefused(ValueError):
    """A link that cannot be made (the API answers with `status`)."""

    status = 400


class SelfLink(LinkRefused):
    status = 400


class UnknownCustomer(LinkRefused):
    status = 404


class CustomerBeingErased(LinkRefused):
    status = 409
