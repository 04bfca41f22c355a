"""A reply an agent sends from socialcrm to a customer, on the platform and thread they wrote on,
and what is known of its fate. Plain types: the API, the sender, the store and the platform senders
(channels/) all speak them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.models.interaction import iso, parse_iso


class ReplyState(StrEnum):
    """Moves only forward: queued -> sent -> delivered -> read, or to failed. `unknown` is a send
    whose outcome could not be learnt (the platform may have taken it: a timeout after the request
    left); it is never sent again, and an echo or status that names it moves it on."""

    QUEUED = "queued"
    UNKNOWN = "unknown"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"


# How far along each state is: a status may only move a reply to a higher rank (statuses arrive out
# of order: a `delivered` after a `read` changes nothing). `failed` ranks above `sent` (WhatsApp
# reports a failure after `sent`) but a delivery or read of the message proves it reached them.
RANK = {
    ReplyState.QUEUED: 0,
    ReplyState.UNKNOWN: 1,
    ReplyState.SENT: 2,
    ReplyState.FAILED: 3,
    ReplyState.DELIVERED: 4,
    ReplyState.READ: 5,
}


class ErrorClass(StrEnum):
    PERMANENT = "permanent"  # the platform refused it for good (window, blocked, unknown recipient)
    RETRY = "retry"  # try again later (rate limit, outage); `retry_after` says when when known
    REAUTH = "reauth"  # the channel's credentials no longer work: a person must re-authorise it


class Visibility(StrEnum):
    PUBLIC = "public"  # a comment reply, a reply tweet, a review reply: everyone sees it
    PRIVATE = "private"  # a DM, or a private reply to a comment


@dataclass(frozen=True)
class ReplyError:
    code: str  # the platform's code (e.g. "131047", "10/2018278", "429")
    error_class: ErrorClass
    message: str  # the platform's words, as it said them (no customer text: platforms echo none)

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "class": self.error_class.value, "message": self.message}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyError:
        return cls(str(data["code"]), ErrorClass(str(data["class"])), str(data["message"]))


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp message template: what may go outside the 24-hour window."""

    name: str
    language: str
    parameters: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "parameters": list(self.parameters)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Template:
        return cls(str(data["name"]), str(data["language"]), tuple(str(p) for p in data.get("parameters") or ()))


@dataclass(frozen=True)
class Target:
    """Where on the platform the reply goes, taken from the case's latest inbound interaction.

    `kind` is what is answered: `message` (a DM / chat: to `recipient_id`), `comment` (a Facebook or
    Instagram comment, or a visitor post: `in_reply_to` is its id), `mention` (a tweet: reply tweet
    to `in_reply_to`), `review` (Trustpilot: `in_reply_to` is the review id). `account_id` is the
    brand's channel account the customer wrote to (page id, Instagram account id, WhatsApp phone
    number id, bot, X user id, business unit, generic source). `in_reply_to` on a message is the
    message quoted (Telegram `reply_parameters`, WhatsApp `context`)."""

    kind: str
    account_id: str
    recipient_id: str
    in_reply_to: str | None = None
    thread_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "account_id": self.account_id,
            "recipient_id": self.recipient_id,
            "in_reply_to": self.in_reply_to,
            "thread_id": self.thread_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Target:
        def opt(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            str(data["kind"]), str(data["account_id"]), str(data["recipient_id"]), opt("in_reply_to"), opt("thread_id")
        )


@dataclass(frozen=True)
class Reply:
    reply_id: str
    case_id: str
    customer_id: str
    platform: str
    target: Target
    visibility: Visibility
    text: str
    by: str  # the principal who sent it (audit id, e.g. "cognito:<sub>")
    created_at: datetime
    state: ReplyState = ReplyState.QUEUED
    client_reply_id: str | None = None
    template: Template | None = None
    tag: str | None = None  # "HUMAN_AGENT": a person's Messenger / Instagram reply after 24 h
    platform_message_id: str | None = None
    error: ReplyError | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    attempts: int = 0  # calls made to the platform for it (benchmarked: 1.0 without faults)
    history: tuple[dict[str, Any], ...] = field(default=())

    @property
    def channel_account(self) -> str:
        return self.target.account_id

    def to_dict(self) -> dict[str, Any]:
        """The reply as the API shows it (GET /replies/{id})."""
        return {
            "reply_id": self.reply_id,
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "platform": self.platform,
            "channel_account": self.channel_account,
            "visibility": self.visibility.value,
            "text": self.text,
            "template": self.template.to_dict() if self.template else None,
            "state": self.state.value,
            "platform_message_id": self.platform_message_id,
            "error": self.error.to_dict() if self.error else None,
            "by": self.by,
            "client_reply_id": self.client_reply_id,
            "created_at": iso(self.created_at),
            "sent_at": _opt_iso(self.sent_at),
            "delivered_at": _opt_iso(self.delivered_at),
            "read_at": _opt_iso(self.read_at),
        }

    def to_record(self) -> dict[str, Any]:
        """Everything kept, for the store and the outbound queue."""
        return {
            **self.to_dict(),
            "target": self.target.to_dict(),
            "tag": self.tag,
            "attempts": self.attempts,
            "history": list(self.history),
        }

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Reply:
        template = data.get("template")
        error = data.get("error")
        return cls(
            reply_id=str(data["reply_id"]),
            case_id=str(data["case_id"]),
            customer_id=str(data["customer_id"]),
            platform=str(data["platform"]),
            target=Target.from_dict(data["target"]),
            visibility=Visibility(str(data["visibility"])),
            text=str(data["text"]),
            by=str(data["by"]),
            created_at=parse_iso(str(data["created_at"])),
            state=ReplyState(str(data["state"])),
            client_reply_id=_opt(data, "client_reply_id"),
            template=Template.from_dict(template) if template else None,
            tag=_opt(data, "tag"),
            platform_message_id=_opt(data, "platform_message_id"),
            error=ReplyError.from_dict(error) if error else None,
            sent_at=_opt_time(data, "sent_at"),
            delivered_at=_opt_time(data, "delivered_at"),
            read_at=_opt_time(data, "read_at"),
            attempts=int(data.get("attempts") or 0),
            history=tuple(data.get("history") or ()),
        )


@dataclass(frozen=True)
class ReplyStatus:
    """What a platform said of a message the brand sent (an echo, a delivery or read receipt, a
    WhatsApp status): which message (`platform_message_id`, or the reply id socialcrm attached to
    it as metadata), what became of it and when. Queued by the webhook like an interaction."""

    platform: str
    platform_message_id: str | None
    state: ReplyState
    at: datetime
    reply_id: str | None = None  # the metadata socialcrm sent with it, when the platform echoes it
    account_id: str | None = None
    recipient_id: str | None = None
    watermark: datetime | None = None  # Messenger: every message before this was delivered / read
    error: ReplyError | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "reply_status",
            "platform": self.platform,
            "platform_message_id": self.platform_message_id,
            "state": self.state.value,
            "at": iso(self.at),
            "reply_id": self.reply_id,
            "account_id": self.account_id,
            "recipient_id": self.recipient_id,
            "watermark": _opt_iso(self.watermark),
            "error": self.error.to_dict() if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplyStatus:
        error = data.get("error")
        return cls(
            platform=str(data["platform"]),
            platform_message_id=_opt(data, "platform_message_id"),
            state=ReplyState(str(data["state"])),
            at=parse_iso(str(data["at"])),
            reply_id=_opt(data, "reply_id"),
            account_id=_opt(data, "account_id"),
            recipient_id=_opt(data, "recipient_id"),
            watermark=_opt_time(data, "watermark"),
            error=ReplyError.from_dict(error) if error else None,
        )


def _opt(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return None if value is None else str(value)


def _opt_time(data: dict[str, Any], key: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else parse_iso(str(value))


def _opt_iso(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


@dataclass(frozen=True)
class AnsweredMessage:
    """The customer's message a reply answers (the case's latest from them), as stored."""

    platform: str
    kind: str
    external_id: str
    account_id: str | None
    thread_id: str | None
    parent_id: str | None
    user_id: str
    occurred_at: datetime
    deleted: bool = False
