"""The one shape every platform's post, comment, message and review is normalised into.

Plain frozen dataclasses rather than pydantic: the webhook route builds these on the hot path and
pydantic's import alone would cost the cold start more than the whole route does.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from chalicelib.models.text import well_formed

SCHEMA_VERSION = 1

BUILTIN_PLATFORMS = frozenset({"messenger", "instagram", "whatsapp", "facebook", "x", "telegram", "trustpilot"})


class Kind(StrEnum):
    MESSAGE = "message"
    COMMENT = "comment"
    REPLY = "reply"
    MENTION = "mention"
    REVIEW = "review"
    REACTION = "reaction"


class Direction(StrEnum):
    """Who wrote it: the customer (inbound) or the brand, answering (outbound). Platforms echo the
    brand's replies back; they are not customer interactions, but they answer cases."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class Action(StrEnum):
    """What happened to the item on the platform: edits and deletions refer to an earlier item."""

    CREATED = "created"
    EDITED = "edited"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class Author:
    """The customer as the platform identifies them; `user_id` is scoped to the platform."""

    user_id: str
    handle: str | None = None
    display_name: str | None = None


@dataclass(frozen=True, slots=True)
class Attachment:
    """What a customer attached: its kind (`image`, `video`, `audio`, `file`, `sticker`, `location`,
    `story_mention`, `share`, ...) and the platform's id for the media where it gives one (a WhatsApp
    media id, a Telegram file id, an X media id, a sticker id, a story id), to fetch it later through
    the platform. Never a URL: platforms' media URLs carry access tokens and expire."""

    type: str
    media_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"type": self.type, "media_id": self.media_id}

    @classmethod
    def from_value(cls, value: Any) -> Attachment:
        """From a queued message: an object, or the bare type older messages carried."""
        if isinstance(value, str):
            return cls(well_formed(value))
        if not isinstance(value, dict):
            raise TypeError("attachments: expected objects")
        return cls(_str(value, "type"), _opt_str(value, "media_id"))


@dataclass(frozen=True, slots=True)
class Interaction:
    """One customer event. `external_id` stays the same across edits of the same item.

    `author` is None only while `text_pending` is set (Instagram mentions arrive as bare ids; who
    wrote what is fetched from the Graph API before the interaction is stored), and in deletions,
    which are found by their id alone.
    """

    platform: str
    kind: Kind
    external_id: str
    author: Author | None
    text: str
    occurred_at: datetime
    received_at: datetime
    action: Action = Action.CREATED
    account_id: str | None = None
    thread_id: str | None = None
    parent_id: str | None = None
    title: str | None = None
    language_hint: str | None = None
    rating: float | None = None
    reaction: str | None = None
    attachments: tuple[Attachment, ...] = ()
    edited_at: datetime | None = None
    text_pending: bool = False
    text_truncated: bool = False
    direction: Direction = Direction.INBOUND
    recipient_id: str | None = None  # outbound: the customer answered, when the platform says
    # Outbound, sent from socialcrm: which reply (models/reply.py) it is, when known (the sender's
    # own record of it, or an echo that carries the metadata socialcrm sent), and who sent it.
    reply_id: str | None = None
    sent_by: str | None = None
    schema_version: int = field(default=SCHEMA_VERSION)

    @property
    def idempotency_key(self) -> str:
        """Same key for every delivery of the same event; a new key for each edit or deletion.

        Platforms redeliver freely (WhatsApp even to every subscribed app), so the processor
        writes this key conditionally before doing anything that costs money.
        """
        key = f"{self.platform}:{self.external_id}"
        if self.action is Action.EDITED:
            key += f":edited:{self._edit_marker()}"
        elif self.action is Action.DELETED:
            key += ":deleted"
        return key

    def _edit_marker(self) -> str:
        """The edit's time in ms; without one (Trustpilot updates), a digest of what it says,
        so that redeliveries of one edit share a key and different edits do not."""
        if self.edited_at is not None:
            return str(int(self.edited_at.timestamp() * 1000))
        content = "\x1f".join((self.title or "", self.text, str(self.rating)))
        return "c" + hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        sent = {"reply_id": self.reply_id, "sent_by": self.sent_by} if self.reply_id or self.sent_by else {}
        return {
            **sent,
            "schema_version": self.schema_version,
            "idempotency_key": self.idempotency_key,
            "platform": self.platform,
            "direction": self.direction.value,
            "kind": self.kind.value,
            "action": self.action.value,
            "external_id": self.external_id,
            "account_id": self.account_id,
            "recipient_id": self.recipient_id,
            "thread_id": self.thread_id,
            "parent_id": self.parent_id,
            "author": None
            if self.author is None
            else {
                "user_id": self.author.user_id,
                "handle": self.author.handle,
                "display_name": self.author.display_name,
            },
            "title": self.title,
            "text": self.text,
            "text_pending": self.text_pending,
            "text_truncated": self.text_truncated,
            "language_hint": self.language_hint,
            "rating": self.rating,
            "reaction": self.reaction,
            "attachments": [attachment.to_dict() for attachment in self.attachments],
            "occurred_at": iso(self.occurred_at),
            "edited_at": iso(self.edited_at) if self.edited_at else None,
            "received_at": iso(self.received_at),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Interaction:
        """Decode a queued message. Raises KeyError, TypeError, ValueError or OverflowError for
        anything that is not one (a field missing or of the wrong type, a bad date-time)."""
        author = data.get("author")
        if author is not None and not isinstance(author, dict):
            raise TypeError("author: expected an object")
        edited_at = _opt_str(data, "edited_at")
        rating = data.get("rating")
        return cls(
            platform=_str(data, "platform"),
            direction=Direction(data.get("direction", Direction.INBOUND.value)),
            recipient_id=_opt_str(data, "recipient_id"),
            reply_id=_opt_str(data, "reply_id"),
            sent_by=_opt_str(data, "sent_by"),
            kind=Kind(data["kind"]),
            action=Action(data.get("action", Action.CREATED.value)),
            external_id=_str(data, "external_id"),
            account_id=_opt_str(data, "account_id"),
            thread_id=_opt_str(data, "thread_id"),
            parent_id=_opt_str(data, "parent_id"),
            author=None
            if author is None
            else Author(
                user_id=_str(author, "user_id"),
                handle=_opt_str(author, "handle"),
                display_name=_opt_str(author, "display_name"),
            ),
            title=_opt_str(data, "title"),
            text=_str(data, "text"),
            text_pending=_bool(data, "text_pending"),
            text_truncated=_bool(data, "text_truncated"),
            language_hint=_opt_str(data, "language_hint"),
            rating=_rating(rating),
            reaction=_opt_str(data, "reaction"),
            attachments=_attachments(data),
            occurred_at=parse_iso(_str(data, "occurred_at")),
            edited_at=parse_iso(edited_at) if edited_at else None,
            received_at=parse_iso(_str(data, "received_at")),
            schema_version=int(data.get("schema_version", SCHEMA_VERSION)),
        )


def _str(data: dict[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str):
        raise TypeError(f"{key}: expected a string")
    return well_formed(value)


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise TypeError(f"{key}: expected true or false")
    return value


def _rating(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError("rating: expected a finite number")
    return float(value)


def _attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    values = data.get("attachments", ())
    if not isinstance(values, list | tuple):
        raise TypeError("attachments: expected a list")
    return tuple(Attachment.from_value(value) for value in values)


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{key}: expected a string or null")
    return None if value is None else well_formed(value)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(value: str) -> datetime:
    """ISO 8601 to an aware UTC datetime; a value without an offset is taken as UTC.

    Raises ValueError for text that is not a date-time and OverflowError for one that cannot be
    expressed in UTC (year 1 or 9999 with an offset).
    """
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
