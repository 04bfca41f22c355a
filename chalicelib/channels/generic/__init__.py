"""Our own signed webhook for sources without a dedicated channel (forums, shops, chat widgets).

Signature: `X-SocialCRM-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<source>.<raw body>")>`
with `X-SocialCRM-Timestamp: <unix seconds>`, at most five minutes from now so a captured delivery
cannot be replayed later. The source is signed too, so a delivery captured for one source is
refused at another; and each source may have its own secret (`generic_secrets: {source: secret}`
beside the default `generic_secret`), so one leaked integration does not open the others. (The
first form, "<timestamp>.<raw body>", signed no source; it is not accepted any more.) A replay
within the five minutes is the same delivery again: its events keep their ids, so nothing new is
stored. The body is validated strictly: it is our contract, so a sender that gets it wrong is told
exactly where.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, MalformedPayload, ParseResult, WebhookRequest
from chalicelib.channels.signing import hex_signature, matches
from chalicelib.models.interaction import BUILTIN_PLATFORMS, Action, Author, Interaction, Kind
from chalicelib.ports import SecretNotSet, SecretReader

TIMESTAMP_HEADER = "x-socialcrm-timestamp"
SIGNATURE_HEADER = "x-socialcrm-signature"
MAX_SKEW_SECONDS = 300
MAX_ID_LENGTH = 256
# Facebook's own comment limit; at four UTF-8 bytes a character it still fits one SQS message.
MAX_TEXT_LENGTH = 60_000
MAX_TITLE_LENGTH = 1_000

_SOURCE = re.compile(r"[a-z][a-z0-9_-]{1,31}")
_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


class GenericChannel:
    name = "generic"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        source = check_source(request.path.get("source", ""))
        try:
            secret = source_secret(secrets, source)
        except SecretNotSet:
            raise InvalidSignature(f"source {source!r} has no secret: it cannot post") from None
        verify(
            request.body,
            source,
            request.headers.get(TIMESTAMP_HEADER),
            request.headers.get(SIGNATURE_HEADER),
            secret,
            now,
        )

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, check_source(request.path.get("source", "")), received_at)


def source_secret(secrets: SecretReader, source: str) -> str:
    """The source's own secret where `generic_secrets` has one, else the shared `generic_secret`.
    Raises SecretNotSet when neither is set: that source cannot post."""
    try:
        return secrets.entry("generic_secrets", source)
    except SecretNotSet:
        return secrets.get("generic_secret")


def sign(secret: str, timestamp: str, source: str, raw_body: bytes) -> str:
    """The signature a sender computes over the timestamp header exactly as sent, a dot, the source
    as in the URL, a dot, the body."""
    return hex_signature(secret, f"{timestamp}.{source}.".encode("ascii") + raw_body)


def verify(raw_body: bytes, source: str, timestamp: str | None, signature: str | None, secret: str, now: float) -> None:
    if not timestamp or not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} must be the current unix time in seconds")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is more than {MAX_SKEW_SECONDS} seconds from now")
    if not matches(sign(secret, timestamp, source, raw_body), signature):
        raise InvalidSignature(f"{SIGNATURE_HEADER} is missing or does not match")


def check_source(source: str) -> str:
    if not _SOURCE.fullmatch(source):
        raise MalformedPayload("source: 2-32 characters of a-z, 0-9, '_' or '-', starting with a letter")
    if source in BUILTIN_PLATFORMS:
        raise MalformedPayload(f"source: {source!r} has its own webhook route")
    return source


def parse(raw_body: bytes, source: str, received_at: datetime) -> ParseResult:
    document = p.load_object(raw_body)
    events = p.items(document, "events", "", required=True)
    result = ParseResult()
    seen: dict[str, tuple[int, Interaction]] = {}
    for index, event in enumerate(events):
        interaction = _event(event, f"events[{index}]", source, received_at)
        earlier = seen.setdefault(interaction.idempotency_key, (index, interaction))
        if earlier[0] != index and earlier[1].to_dict() != interaction.to_dict():
            # Our own contract: the sender is told, rather than one of the two kept at random.
            clash = f"{interaction.external_id[:60]!r} is also events[{earlier[0]}]'s, with other content"
            raise MalformedPayload(f"events[{index}].id: {clash}")
        result.add(interaction)  # the same event twice is counted as a duplicate
    return result


def _event(event: Any, path: str, source: str, received_at: datetime) -> Interaction:
    if not isinstance(event, dict):
        raise MalformedPayload(f"{path}: expected an object")
    author = p.obj(event, "author", path)
    kind = str(event.get("kind"))
    if kind not in Kind.__members__.values():
        raise MalformedPayload(f"{path}.kind: expected one of {', '.join(k.value for k in Kind)}")
    action = str(event.get("action", Action.CREATED.value))
    if action not in Action.__members__.values():
        raise MalformedPayload(f"{path}.action: expected one of {', '.join(a.value for a in Action)}")
    text = event.get("text")
    if not isinstance(text, str):
        raise MalformedPayload(f"{path}.text: expected a string")
    if len(text) > MAX_TEXT_LENGTH:
        raise MalformedPayload(f"{path}.text: at most {MAX_TEXT_LENGTH} characters")
    title = p.opt_text(event, "title", path)
    if title is not None and len(title) > MAX_TITLE_LENGTH:
        raise MalformedPayload(f"{path}.title: at most {MAX_TITLE_LENGTH} characters")
    language = p.opt_text(event, "language", path)
    if language is not None and not _LANGUAGE.fullmatch(language):
        raise MalformedPayload(f"{path}.language: expected a language code such as 'en' or 'pt-BR'")
    edited_at = None
    if action == Action.EDITED.value:
        edited_at = p.from_iso(p.text(event, "edited_at", path), f"{path}.edited_at")
    return Interaction(
        platform=source,
        kind=Kind(kind),
        action=Action(action),
        external_id=_id(event, "id", path),
        thread_id=_opt_id(event, "thread_id", path),
        parent_id=_opt_id(event, "parent_id", path),
        author=Author(
            user_id=_id(author, "id", f"{path}.author"),
            handle=p.opt_text(author, "handle", f"{path}.author"),
            display_name=p.opt_text(author, "name", f"{path}.author"),
        ),
        title=title,
        text=text,
        language_hint=language,
        rating=p.rating(event, "rating", path),
        occurred_at=p.from_iso(p.text(event, "created_at", path), f"{path}.created_at"),
        edited_at=edited_at,
        received_at=received_at,
    )


def _id(parent: dict[str, Any], key: str, path: str) -> str:
    value = p.text(parent, key, path)
    if len(value) > MAX_ID_LENGTH:
        raise MalformedPayload(f"{path}.{key}: at most {MAX_ID_LENGTH} characters")
    return value


def _opt_id(parent: dict[str, Any], key: str, path: str) -> str | None:
    return _id(parent, key, path) if parent.get(key) is not None else None
