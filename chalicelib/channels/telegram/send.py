"""Replies through the Telegram Bot API: `sendMessage` in the chat the customer wrote in.

`POST {base}/bot<token>/sendMessage` with `{"chat_id", "text"}`, and `reply_parameters` quoting the
message answered (`allow_sending_without_reply`: a customer who deleted their message still gets the
answer). In a forum topic the reply goes to the topic (`message_thread_id`). The bot token is part
of the URL, as Telegram requires; `endpoint` (what logs and the sandbox may show) is therefore the
method name alone, and the URL itself must never be logged.

Ids: socialcrm names a Telegram message `<chat id>:<message id>` (channels/telegram.py: message ids
are unique only within a chat), so the message quoted is read back from that form, and the message
sent is named the same way, so its own record and any later update about it meet on one id.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.channels.outbound import (
    Answer,
    Credentials,
    OutboundRequest,
    SendOutcome,
    failed,
    json_body,
    json_object,
    retry_after,
    text_id,
    words,
)
from chalicelib.models.reply import ErrorClass, Reply

BOT_TOKEN = "telegram_bot_token"  # noqa: S105 - the secrets document's key, not a token

_MESSAGE_REF = re.compile(r"(-?[0-9]+):([0-9]+)")
_MESSAGE_ID = re.compile(r"[0-9]+")


class TelegramSender:
    platform = "telegram"

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        token = credentials.single(BOT_TOKEN)
        target = reply.target
        chat_id, topic = _chat(target.recipient_id, target.thread_id)
        body: dict[str, Any] = {"chat_id": chat_id, "text": reply.text}
        if topic is not None:
            body["message_thread_id"] = topic
        quoted = message_id(target.in_reply_to, chat_id)
        if quoted is not None:
            body["reply_parameters"] = {"message_id": quoted, "allow_sending_without_reply": True}
        url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        return OutboundRequest("POST", url, {"Content-Type": "application/json"}, json_body(body), "sendMessage")

    def outcome(self, answer: Answer) -> SendOutcome:
        """`{"ok": true, "result": Message}` names the message `<chat id>:<message id>`; `{"ok":
        false, "error_code", "description", "parameters": {"retry_after"}}` is classified by its
        code (the HTTP status when the body cannot be read)."""
        document = json_object(answer.body) or {}
        if 200 <= answer.status < 300 and document.get("ok") is not False:
            result = document.get("result")
            result = result if isinstance(result, dict) else {}
            chat = result.get("chat")
            chat_id = text_id(chat.get("id")) if isinstance(chat, dict) else None
            sent = text_id(result.get("message_id"))
            return SendOutcome(platform_message_id=f"{chat_id}:{sent}" if chat_id and sent else None)
        code = document.get("error_code")
        status = code if isinstance(code, int) and not isinstance(code, bool) and code >= 400 else answer.status
        if status < 400:
            status = 500  # `ok: false` with a 2xx and no code: Telegram did not take it; nothing says why
        error_class = _classify(status)
        message = words(document.get("description"), f"HTTP {status}")
        wait: float | None = None
        if error_class is ErrorClass.RETRY:
            parameters = document.get("parameters")
            hinted = parameters.get("retry_after") if isinstance(parameters, dict) else None
            if isinstance(hinted, int | float) and not isinstance(hinted, bool) and hinted >= 0:
                wait = float(hinted)
            else:
                wait = retry_after(answer.headers)
        return failed(str(status), error_class, message, wait)


def message_id(reference: str | None, chat_id: str) -> int | None:
    """The Telegram message id in an id of ours: `<chat>:<message>` of this chat, or bare digits.
    Anything else (a button press `callback:<id>`, a story, a message in another chat) is not a
    message this chat can quote: None, and the reply goes unquoted."""
    if not reference:
        return None
    found = _MESSAGE_REF.fullmatch(reference)
    if found is not None:
        return int(found.group(2)) if found.group(1) == chat_id else None
    return int(reference) if _MESSAGE_ID.fullmatch(reference) else None


def _chat(recipient: str, thread_id: str | None) -> tuple[str, int | None]:
    """The chat and, in a forum, the topic. A forum topic's thread is `<chat>:<topic id>`
    (channels/telegram.py), and may have been given as the recipient itself; a plain chat's thread
    is the chat id, with no topic."""
    found = _MESSAGE_REF.fullmatch(recipient)
    if found is not None:
        return found.group(1), int(found.group(2))
    found = _MESSAGE_REF.fullmatch(thread_id or "")
    return recipient, int(found.group(2)) if found is not None and found.group(1) == recipient else None


def _classify(status: int) -> ErrorClass:
    """429 flood control: wait `retry_after`. 401 / 404: Telegram's answers for a wrong or revoked
    bot token. 403: the user blocked the bot, or it was removed from the group. 400: the chat does
    not exist, the text is too long or empty; like 403, nothing a retry changes. 5xx: Telegram's."""
    if status == 429 or status >= 500:
        return ErrorClass.RETRY
    if status in (401, 404):
        return ErrorClass.REAUTH
    return ErrorClass.PERMANENT
