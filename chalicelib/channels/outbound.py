"""The one interface every platform's sender implements: turn a reply into the platform's documented
HTTP request, and the platform's answer into an outcome. Pure (no HTTP, no AWS): the adapter
(adapters/platforms.py) makes the call, the service (services/replies.py) decides what follows.

Each platform's sender lives beside its parser, in its channel's package: channels/meta/send.py (the
Graph API's Messenger, Instagram, Facebook comment replies and WhatsApp), telegram/send.py,
x/send.py, trustpilot/send.py and generic/send.py; channels/senders.py lists them in SENDERS by
platform name.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from chalicelib.models.reply import ErrorClass, Reply, ReplyError


class MissingCredentials(LookupError):
    """The secrets document has no credentials for this channel account: nothing can be sent
    (a permanent failure of the reply, and a configuration problem for ops)."""


class Unsendable(ValueError):
    """The reply's target lacks what the platform's request needs (a comment reply without the
    comment's id, a review reply without the review's): nothing can be sent, whatever is retried
    (a permanent failure of the reply; the route should have refused it as `not_answerable`)."""


@dataclass(frozen=True)
class OutboundRequest:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes = b""
    # What the log and the sandbox may say about the call: the endpoint without ids or tokens.
    endpoint: str = ""


@dataclass(frozen=True)
class Answer:
    """What the platform answered: status, headers (lower-case names) and body; `request`, the
    request it answers, as the adapter made it: a platform whose success names nothing (Trustpilot's
    empty 201, a generic source's bare 200) is then still known by what was asked."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    request: OutboundRequest | None = None


@dataclass(frozen=True)
class SendOutcome:
    """Sent (with the platform's id for the message), or failed with a classified error;
    `retry_after` in seconds when the platform said how long to wait."""

    platform_message_id: str | None = None
    error: ReplyError | None = None
    retry_after: float | None = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def sent(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Credentials:
    """The secrets a sender may use, as the secrets document holds them: maps by channel account
    (`meta_page_tokens`, `whatsapp_tokens`, `x_user_credentials`, `trustpilot_clients`,
    `generic_outbound`) and single strings (`telegram_bot_token`). A sender asks for its own."""

    document: Mapping[str, object]

    def by_account(self, key: str, account: str) -> object:
        table = self.document.get(key)
        if isinstance(table, Mapping) and account in table:
            return table[account]
        raise MissingCredentials(f"no {key} for channel account {account}")

    def single(self, key: str) -> str:
        value = self.document.get(key)
        if isinstance(value, str) and value:
            return value
        raise MissingCredentials(f"no {key}")


class Sender(Protocol):
    platform: str

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        """The platform's documented request for this reply. Raises MissingCredentials, or
        Unsendable when the target lacks an id the request needs."""
        ...

    def outcome(self, answer: Answer) -> SendOutcome:
        """The platform's answer, classified: its message id, or the error with its class."""
        ...


def failed(code: str, error_class: ErrorClass, message: str, retry_after: float | None = None) -> SendOutcome:
    return SendOutcome(error=ReplyError(code, error_class, message), retry_after=retry_after)


# Helpers the senders share: the one JSON encoding, and readings of an answer that never raise,
# whatever the platform (or a proxy in front of it) sent back.

MAX_MESSAGE_LENGTH = 500  # the platform's words kept with a failed reply


def json_body(document: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON: what every JSON sender posts (and what a generic source's signature covers)."""
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_object(body: bytes) -> dict[str, Any] | None:
    """The answer's JSON object, or None for anything else (HTML error pages, empty bodies, lists)."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """`Retry-After` in seconds: delta-seconds, or an HTTP date when `now` (Unix seconds) is given;
    None when absent or unreadable. Never negative."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    if now is None:
        return None
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def words(value: object, fallback: str) -> str:
    """The platform's words for a failure, bounded; `fallback` when it said nothing readable."""
    if isinstance(value, str) and value.strip():
        text = value.strip()
        return text if len(text) <= MAX_MESSAGE_LENGTH else text[: MAX_MESSAGE_LENGTH - 1] + "…"
    return fallback


def text_id(value: object) -> str | None:
    """An id the platform gave as a string or an integer; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    return value if isinstance(value, str) and value else None


def credential_text(value: object, what: str, field_name: str | None = None) -> str:
    """A credential that must be a non-empty string (or `field_name` of a map of them, such as X's
    four keys); raises MissingCredentials naming the key, never its value."""
    if field_name is not None:
        value = value.get(field_name) if isinstance(value, Mapping) else None
        what = f"{what}.{field_name}"
    if isinstance(value, str) and value:
        return value
    raise MissingCredentials(f"{what} is not set")
