"""Replies through Meta's Graph API: Messenger and Instagram Direct (the Send API), Facebook and
Instagram comment replies (public, or private through the Send API), and the WhatsApp Cloud API.

Pure, as every sender (channels/outbound.py): the documented request for a reply, and the reading
of Meta's answer. The base URL is configuration and includes the Graph version
(`https://graph.facebook.com/v21.0`; the sandbox's address locally).

What goes where:
- a DM (`message`): `POST /{account}/messages` with `recipient.id`, `messaging_type: RESPONSE`, or
  `MESSAGE_TAG` + `tag: HUMAN_AGENT` when the reply carries that tag (a person's reply between 24 h
  and 7 days: rules/replies.py decides, the sender only writes what was decided);
- a comment (`comment`, `reply`, `mention`) answered in public: `POST /{comment}/comments` on
  Facebook (a visitor's post too: its id takes the comment's place), `POST /{comment}/replies` on
  Instagram, each `{"message"}`; answered in private (or a `private_reply` target): the Send API
  with `recipient.comment_id` (one private reply per comment, within 7 days), always `RESPONSE`;
- WhatsApp: `POST /{phone-number-id}/messages`, free text (`text.body`) or an approved template.

Every Send API message carries `metadata: "socialcrm:<reply id>"` (WhatsApp:
`biz_opaque_callback_data`), which Meta hands back in the echo (WhatsApp: in every status), so the
echo of a reply is matched to it instead of becoming a second outbound interaction, and a send whose
answer was lost can still be recognised when its echo arrives.

Tokens: the Page's token by Page or Instagram account id (`meta_page_tokens`), the WhatsApp token by
phone number id (`whatsapp_tokens`), as `Authorization: Bearer`: never in the URL, where proxies and
access logs would keep it.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from chalicelib.channels.outbound import (
    Answer,
    Credentials,
    OutboundRequest,
    SendOutcome,
    Unsendable,
    credential_text,
    failed,
    json_body,
    json_object,
    retry_after,
    text_id,
    words,
)
from chalicelib.models.reply import ErrorClass, Reply, Visibility

PAGE_TOKENS = "meta_page_tokens"
WHATSAPP_TOKENS = "whatsapp_tokens"
METADATA_PREFIX = "socialcrm:"
HUMAN_AGENT = "HUMAN_AGENT"

# What is answered on a post: a comment, a reply under one, or a post or comment naming the brand.
COMMENT_KINDS = frozenset({"comment", "reply", "mention"})
# A comment answered privately, as services/replies.py may name the target: the same as a comment
# target with private visibility.
PRIVATE_REPLY = "private_reply"

# A WhatsApp user known by their phone number has a wa_id of digits; a user known only by their
# business-scoped user id (channels/meta/whatsapp.py keeps `from_user_id` as the customer's id
# when there is no `from`) has an id such as "US.13491208655302741918": a country prefix and a dot.
_WA_ID = re.compile(r"\+?[0-9]{5,20}")

# Meta's error codes, by what follows (Graph API error reference; Messenger Platform and WhatsApp
# Cloud API error codes). Codes not named here are permanent unless Meta marks them transient or the
# HTTP status is 5xx / 429.
#   190 token expired or invalidated, 102 session, 463 / 467 expired or invalid access token;
#   131031 the WhatsApp Business account is locked: a person must act before anything can go.
_REAUTH_CODES = frozenset({102, 190, 463, 467, 131031})
#   10 permission (with subcode 2018278 / 2018108: outside the messaging window), 100 invalid
#   parameter (an unknown recipient, a deleted comment), 551 the person is unavailable, 368 blocked
#   for policy; WhatsApp: 131047 re-engagement (outside the 24 h window: only a template may go),
#   131026 undeliverable, 131051 unsupported message type, 132000 / 132001 template parameters /
#   template not found. 200-299 (permissions) are checked as a range below.
_PERMANENT_CODES = frozenset({10, 100, 368, 551, 131026, 131047, 131051, 132000, 132001})
#   1 / 2 unknown or temporary failure; 4, 17, 32, 613 and 80001-80014 rate limits (app, user, page,
#   custom, per-API); WhatsApp: 130429 throughput, 131056 pair rate (one user, too fast), 131000 /
#   131016 something went wrong / service unavailable.
_RETRY_CODES = frozenset({1, 2, 4, 17, 32, 613, 130429, 131000, 131016, 131056}) | frozenset(range(80001, 80015))
# WhatsApp's pair rate allows about one message every 6 seconds to the same user; its error says
# so in words only, so the wait is ours when no Retry-After came with it.
PAIR_RATE_CODE = 131056
PAIR_RATE_WAIT_SECONDS = 6.0


class _GraphSender:
    """Messenger, Instagram and Facebook differ only in how a public comment reply is posted."""

    platform = ""
    comment_edge = "comments"

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        target = reply.target
        token = credential_text(
            credentials.by_account(PAGE_TOKENS, target.account_id), f"{PAGE_TOKENS}[{target.account_id}]"
        )
        base = base_url.rstrip("/")
        if target.kind in COMMENT_KINDS or target.kind == PRIVATE_REPLY:
            comment = target.in_reply_to
            if not comment:
                raise Unsendable(f"a {target.kind} reply needs the id of what it answers (in_reply_to)")
            if reply.visibility is Visibility.PUBLIC and target.kind != PRIVATE_REPLY:
                edge = self.comment_edge
                return _post(
                    f"{base}/{_segment(comment)}/{edge}", {"message": reply.text}, token, f"/{{comment-id}}/{edge}"
                )
            # A private reply: a message to whoever wrote the comment, once, within 7 days. No tag:
            # the HUMAN_AGENT tag is for conversations, and a private reply is not sent inside one.
            body: dict[str, Any] = {
                "recipient": {"comment_id": comment},
                "messaging_type": "RESPONSE",
                "message": _message(reply),
            }
        else:
            body = {"recipient": {"id": target.recipient_id}, **_messaging_type(reply), "message": _message(reply)}
        return _post(f"{base}/{_segment(target.account_id)}/messages", body, token, "/{account-id}/messages")

    def outcome(self, answer: Answer) -> SendOutcome:
        """Send API: `{"recipient_id", "message_id"}`; comment edges: `{"id"}`. A 2xx means Meta
        took it: its id when readable, else none (the caller treats the reply's id as unknown)."""
        if 200 <= answer.status < 300:
            document = json_object(answer.body) or {}
            return SendOutcome(platform_message_id=text_id(document.get("message_id")) or text_id(document.get("id")))
        return graph_failure(answer)


class MessengerSender(_GraphSender):
    """A Facebook Page's Messenger conversations (and private replies to the Page's comments)."""

    platform = "messenger"


class FacebookSender(_GraphSender):
    """Comments and visitor posts on a Facebook Page: a public comment under them, or a private
    reply in Messenger."""

    platform = "facebook"


class InstagramSender(_GraphSender):
    """Instagram Direct, and comments on the account's media: public replies go to the comment's
    `replies` edge (only top-level comments can be answered there), private ones to the Send API."""

    platform = "instagram"
    comment_edge = "replies"


class WhatsAppSender:
    """The WhatsApp Cloud API: free text within the 24-hour window, an approved template outside it
    (rules/replies.py decides which; a reply with a template sends the template, not its text)."""

    platform = "whatsapp"

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        target = reply.target
        phone_number_id = target.account_id
        token = credential_text(
            credentials.by_account(WHATSAPP_TOKENS, phone_number_id), f"{WHATSAPP_TOKENS}[{phone_number_id}]"
        )
        # A user known only by their business-scoped id goes in `recipient`: in `to` Meta accepts
        # it and silently drops the message (REPLIES.md, second-hand).
        address = "to" if _WA_ID.fullmatch(target.recipient_id) else "recipient"
        body: dict[str, Any] = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            address: target.recipient_id,
        }
        if reply.template is not None:
            template: dict[str, Any] = {"name": reply.template.name, "language": {"code": reply.template.language}}
            if reply.template.parameters:
                parameters = [{"type": "text", "text": value} for value in reply.template.parameters]
                template["components"] = [{"type": "body", "parameters": parameters}]
            body |= {"type": "template", "template": template}
        else:
            body |= {"type": "text", "text": {"body": reply.text, "preview_url": False}}
        if target.in_reply_to:
            body["context"] = {"message_id": target.in_reply_to}
        body["biz_opaque_callback_data"] = METADATA_PREFIX + reply.reply_id
        base = base_url.rstrip("/")
        return _post(f"{base}/{_segment(phone_number_id)}/messages", body, token, "/{phone-number-id}/messages")

    def outcome(self, answer: Answer) -> SendOutcome:
        """`{"messaging_product", "contacts": [...], "messages": [{"id": "wamid..."}]}`: the wamid
        is what every later status names. A 2xx without one is still taken (id unknown)."""
        if 200 <= answer.status < 300:
            document = json_object(answer.body) or {}
            messages = document.get("messages")
            first = messages[0] if isinstance(messages, list) and messages else None
            return SendOutcome(platform_message_id=text_id(first.get("id")) if isinstance(first, dict) else None)
        return graph_failure(answer)


def graph_failure(answer: Answer) -> SendOutcome:
    """A Graph API error, `{"error": {"message", "type", "code", "error_subcode", "is_transient",
    "fbtrace_id", "error_data"?}}`, classified by its code; an answer without one (a proxy's HTML
    page) by its HTTP status. The code is "<code>" or "<code>/<subcode>"."""
    found = (json_object(answer.body) or {}).get("error")
    error: dict[str, Any] = found if isinstance(found, dict) else {}
    wait = retry_after(answer.headers)
    code = _int(error.get("code"))
    if code is None:
        error_class = _by_status(answer.status)
        message = words(error.get("message"), f"HTTP {answer.status}")
        return failed(str(answer.status), error_class, message, wait if error_class is ErrorClass.RETRY else None)
    subcode = _int(error.get("error_subcode"))
    error_class = _classify(code, error.get("type"), error.get("is_transient") is True, answer.status)
    message = words(error.get("message"), f"HTTP {answer.status}")
    data = error.get("error_data")
    details = data.get("details") if isinstance(data, dict) else None
    if isinstance(details, str) and details.strip() and details.strip() not in message:
        message = words(f"{message}: {details.strip()}", message)  # WhatsApp says what was wrong here
    if error_class is not ErrorClass.RETRY:
        wait = None
    elif wait is None and code == PAIR_RATE_CODE:
        wait = PAIR_RATE_WAIT_SECONDS
    return failed(f"{code}/{subcode}" if subcode else str(code), error_class, message, wait)


def _classify(code: int, kind: object, transient: bool, status: int) -> ErrorClass:
    if code in _REAUTH_CODES or (code == 0 and kind == "AuthException"):
        return ErrorClass.REAUTH
    if code in _PERMANENT_CODES or 200 <= code <= 299:
        return ErrorClass.PERMANENT
    if code in _RETRY_CODES or transient:
        return ErrorClass.RETRY
    return _by_status(status)


def _by_status(status: int) -> ErrorClass:
    """An answer whose code we cannot read or do not know: an outage or a rate limit is worth
    waiting for, a refused token needs a person, anything else will not change by retrying."""
    if status == 429 or status >= 500:
        return ErrorClass.RETRY
    if status == 401:
        return ErrorClass.REAUTH
    return ErrorClass.PERMANENT


def _messaging_type(reply: Reply) -> dict[str, str]:
    if reply.tag == HUMAN_AGENT:
        return {"messaging_type": "MESSAGE_TAG", "tag": HUMAN_AGENT}
    return {"messaging_type": "RESPONSE"}


def _message(reply: Reply) -> dict[str, str]:
    return {"text": reply.text, "metadata": METADATA_PREFIX + reply.reply_id}


def _post(url: str, body: dict[str, Any], token: str, endpoint: str) -> OutboundRequest:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return OutboundRequest("POST", url, headers, json_body(body), endpoint)


def _segment(value: str) -> str:
    """An id as one path segment: ids come from webhooks, and an id with a '/' or '?' must not
    reach another Graph object than the one it names."""
    return quote(value, safe="")


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
