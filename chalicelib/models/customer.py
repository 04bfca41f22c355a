"""What the store gives back: customers, their identities and their stored interactions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from chalicelib.models.aggregates import Aggregates
from chalicelib.models.interaction import Attachment, iso


@dataclass(frozen=True)
class Identity:
    platform: str
    user_id: str
    customer_id: str
    handle: str | None
    display_name: str | None
    first_seen_at: datetime
    last_seen_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "platform": self.platform,
            "user_id": self.user_id,
            "handle": self.handle,
            "display_name": self.display_name,
            "first_seen_at": iso(self.first_seen_at),
            "last_seen_at": iso(self.last_seen_at),
        }


@dataclass(frozen=True)
class Customer:
    customer_id: str
    created_at: datetime
    display_name: str | None
    handle: str | None
    aggregates: Aggregates
    version: int = 0
    segments: tuple[str, ...] = ()
    churn_score: float = 0.0
    churn_reasons: tuple[str, ...] = ()
    churn_alerting: bool = False

    def to_dict(self) -> dict[str, Any]:
        a = self.aggregates
        return {
            "customer_id": self.customer_id,
            "created_at": iso(self.created_at),
            "display_name": self.display_name,
            "handle": self.handle,
            "segments": list(self.segments),
            "churn": {
                "score": self.churn_score,
                "reasons": list(self.churn_reasons),
                "alerting": self.churn_alerting,
            },
            "aggregates": {
                "interaction_count": a.interaction_count,
                "platform_counts": dict(a.platform_counts),
                "sentiment_trend": a.sentiment_score,
                "sentiment_samples": a.sentiment_samples,
                "first_contact_at": iso(a.first_contact_at) if a.first_contact_at else None,
                "last_contact_at": iso(a.last_contact_at) if a.last_contact_at else None,
                "last_platform": a.last_platform,
            },
        }


@dataclass(frozen=True)
class StoredInteraction:
    """An interaction as kept: text possibly redacted, with its analysis."""

    customer_id: str
    platform: str
    kind: str
    action: str
    external_id: str
    occurred_at: datetime
    text: str | None
    title: str | None = None
    account_id: str | None = None
    thread_id: str | None = None
    parent_id: str | None = None
    rating: float | None = None
    reaction: str | None = None
    attachments: tuple[Attachment, ...] = ()
    edited_at: datetime | None = None
    deleted_at: datetime | None = None
    redacted: bool = False
    text_truncated: bool = False
    pii_types: tuple[str, ...] = ()
    analysis: dict[str, Any] = field(default_factory=dict)
    direction: str = "inbound"
    intent: dict[str, Any] | None = None
    route: dict[str, Any] | None = None
    case_id: str | None = None
    reply_id: str | None = None  # an outbound interaction sent from socialcrm: which reply

    def to_dict(self) -> dict[str, Any]:
        sentiment = self.analysis.get("sentiment")
        sent = {"reply_id": self.reply_id} if self.reply_id else {}
        return {
            **sent,
            "platform": self.platform,
            "direction": self.direction,
            "kind": self.kind,
            "action": self.action,
            "external_id": self.external_id,
            "account_id": self.account_id,
            "thread_id": self.thread_id,
            "parent_id": self.parent_id,
            "title": self.title,
            "text": self.text,
            "text_redacted": self.redacted,
            "text_truncated": self.text_truncated,
            "translated_text": self.analysis.get("translated_text"),
            "rating": self.rating,
            "reaction": self.reaction,
            "attachments": [attachment.to_dict() for attachment in self.attachments],
            "occurred_at": iso(self.occurred_at),
            "edited_at": iso(self.edited_at) if self.edited_at else None,
            "deleted_at": iso(self.deleted_at) if self.deleted_at else None,
            "language": self.analysis.get("language"),
            "sentiment": sentiment,
            "entities": self.analysis.get("entities", []),
            "key_phrases": self.analysis.get("key_phrases", []),
            "targeted_sentiment": self.analysis.get("targeted_sentiment", []),
            "pii_types": list(self.pii_types),
            "intent": self.intent,
            "route": self.route,
            "case_id": self.case_id,
        }


@dataclass(frozen=True)
class RecentInteraction:
    """What the cross-customer indexes hold about an interaction."""

    customer_id: str
    platform: str
    kind: str
    external_id: str
    occurred_at: datetime
    account_id: str | None
    language: str | None
    sentiment_label: str | None
    polarity: float | None


@dataclass(frozen=True)
class StoredText:
    """The words kept of an interaction: redacted where the stage says so, and what was found."""

    text: str | None
    title: str | None
    redacted: bool = False
    pii_types: tuple[str, ...] = ()
