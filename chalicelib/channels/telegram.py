"""Telegram Bot API updates: one Update per POST, authenticated by the secret-token header.

Telegram signs nothing; `setWebhook(secret_token=...)` makes it send that token back in a header,
which is compared in constant time. An edited message keeps its `chat_id:message_id` identity so
that the stored interaction is updated rather than duplicated.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import InvalidSignature, MalformedPayload, ParseResult, WebhookRequest
from chalicelib.channels.signing import matches
from chalicelib.models.interaction import Action, Attachment, Author, Interaction, Kind
from chalicelib.ports import SecretReader

SECRET_HEADER = "x-telegram-bot-api-secret-token"  # noqa: S105 - a header name

_MESSAGE_KEYS = {
    "message": Action.CREATED,
    "edited_message": Action.EDITED,
    "business_message": Action.CREATED,
    "edited_business_message": Action.EDITED,
}
_ATTACHMENT_KEYS = ("photo", "video", "voice", "audio", "document", "sticker", "animation", "location", "contact")


def verify(presented: str | None, secret_token: str) -> None:
    if not matches(secret_token, presented):
        raise InvalidSignature(f"{SECRET_HEADER} is missing or wrong")


class TelegramChannel:
    name = "telegram"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        verify(request.headers.get(SECRET_HEADER), secrets.get("telegram_secret_token"))

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, received_at)


def parse(raw_body: bytes, received_at: datetime) -> ParseResult:
    update = p.load_object(raw_body)
    if isinstance(update.get("update_id"), bool) or not isinstance(update.get("update_id"), int):
        raise MalformedPayload("update_id: expected an integer")
    result = ParseResult()
    key = next((k for k in _MESSAGE_KEYS if k in update), None)
    if key is None:
        result.skip("not_an_interaction")
        return result
    result.guard(key, _message, update[key], _MESSAGE_KEYS[key], received_at, result)
    return result


def _message(message: dict[str, Any], path: str, action: Action, received_at: datetime, result: ParseResult) -> None:
    sender = p.opt_obj(message, "from", path)
    if sender is None:
        result.skip("not_an_interaction")  # channel posts and anonymous group admins
        return
    if sender.get("is_bot") is True:
        result.skip("bot")
        return
    chat_id = p.text(p.obj(message, "chat", path), "id", f"{path}.chat")
    message_id = p.text(message, "message_id", path)
    reply = p.opt_obj(message, "reply_to_message", path)
    names = [p.opt_text(sender, "first_name", f"{path}.from"), p.opt_text(sender, "last_name", f"{path}.from")]
    text = p.opt_text(message, "text", path)
    if text is None:
        text = p.opt_text(message, "caption", path) or ""
    edited_at = None
    if action is Action.EDITED:
        edited_at = p.from_seconds(p.number(message, "edit_date", path), f"{path}.edit_date")
    result.add(
        Interaction(
            platform="telegram",
            kind=Kind.MESSAGE,
            action=action,
            external_id=f"{chat_id}:{message_id}",
            thread_id=chat_id,
            parent_id=f"{chat_id}:{p.text(reply, 'message_id', f'{path}.reply_to_message')}" if reply else None,
            author=Author(
                user_id=p.text(sender, "id", f"{path}.from"),
                handle=p.opt_text(sender, "username", f"{path}.from"),
                display_name=" ".join(name for name in names if name) or None,
            ),
            text=text,
            language_hint=p.opt_text(sender, "language_code", f"{path}.from"),
            attachments=_attachments(message),
            occurred_at=p.from_seconds(p.number(message, "date", path), f"{path}.date"),
            edited_at=edited_at,
            received_at=received_at,
        )
    )


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """What the message carries besides text, with Telegram's `file_id` to fetch it (a photo comes
    in several sizes, smallest first: the largest is the one to keep)."""
    found = []
    for key in _ATTACHMENT_KEYS:
        value = message.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            value = value[-1] if value else {}
        file_id = value.get("file_id") if isinstance(value, dict) else None
        found.append(Attachment(key, file_id if isinstance(file_id, str) and file_id else None))
    return tuple(found)
