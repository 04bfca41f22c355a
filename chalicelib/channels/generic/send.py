"""Replies to a generic source (a forum, a shop, a chat widget that posts to our generic webhook):
socialcrm posts the reply to the source's own outbound URL, signed as the source signs what it
posts to us, so one integration verifies both directions with one routine.

`POST <url>` with `{"reply_id", "source", "recipient_id", "in_reply_to", "thread_id", "text",
"created_at"}` and the headers of channels/generic.py: `X-SocialCRM-Timestamp: <unix seconds>` and
`X-SocialCRM-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<source>.<body>")>`, computed by
generic.sign itself. The secret: the outbound entry's own `secret`, else the source's inbound secret
(`generic_secrets`), else the shared `generic_secret` (generic.source_secret's order).

Signing the inbound form cannot hand anyone a delivery to post back to us: whoever receives the
reply already holds the secret it is signed with, and the body has no `events`, so generic.parse
refuses it whole (tests/unit/test_senders.py checks both).

The URL comes from the secrets document (`generic_outbound: {source: {"url", "secret"?}}`): the
`base_url` every sender is given is not used here. The answer: any 2xx is taken, named by the
`id` of a JSON answer, else by the reply's own id; 429 and 5xx wait (Retry-After); 401 and 403 mean
the source refuses our signature (re-authorise: check the secrets); any other 4xx is permanent.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from chalicelib.channels.generic import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, source_secret
from chalicelib.channels.outbound import (
    Answer,
    Credentials,
    MissingCredentials,
    OutboundRequest,
    SendOutcome,
    credential_text,
    failed,
    json_body,
    json_object,
    retry_after,
    text_id,
    words,
)
from chalicelib.models.interaction import iso
from chalicelib.models.reply import ErrorClass, Reply
from chalicelib.ports import SecretNotSet

OUTBOUND = "generic_outbound"


class GenericSender:
    """One sender for every generic source: `reply.platform` is the source's name."""

    platform = "generic"

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        """`base_url` is ignored: each source has its own URL, in the secrets document."""
        source = reply.platform
        entry = credentials.by_account(OUTBOUND, source)
        url = credential_text(entry, f"{OUTBOUND}[{source}]", "url")
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
            raise MissingCredentials(f"{OUTBOUND}[{source}].url is not an http(s) URL")
        own = entry.get("secret") if isinstance(entry, Mapping) else None
        secret = own if isinstance(own, str) and own else _inbound_secret(credentials, source)
        target = reply.target
        body = json_body(
            {
                "reply_id": reply.reply_id,
                "source": source,
                "recipient_id": target.recipient_id,
                "in_reply_to": target.in_reply_to,
                "thread_id": target.thread_id,
                "text": reply.text,
                "created_at": iso(reply.created_at),
            }
        )
        timestamp = str(int(self._clock()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, source, body),
        }
        return OutboundRequest("POST", url, headers, body, "generic outbound URL")

    def outcome(self, answer: Answer) -> SendOutcome:
        document = json_object(answer.body) or {}
        if 200 <= answer.status < 300:
            return SendOutcome(platform_message_id=text_id(document.get("id")) or _reply_id(answer))
        said = next(
            (
                value
                for key in ("message", "error", "detail")
                if isinstance(value := document.get(key), str) and value.strip()
            ),
            None,
        )
        message = words(said, f"HTTP {answer.status}")
        if answer.status == 429 or answer.status >= 500:
            return failed(str(answer.status), ErrorClass.RETRY, message, retry_after(answer.headers, self._clock()))
        if answer.status in (401, 403):
            return failed(str(answer.status), ErrorClass.REAUTH, message)
        return failed(str(answer.status), ErrorClass.PERMANENT, message)


class _SecretsOf:
    """The credentials read as generic.source_secret reads secrets, so its fallback order is the
    one both directions use."""

    def __init__(self, credentials: Credentials) -> None:
        self._document = credentials.document

    def get(self, key: str) -> str:
        value = self._document.get(key)
        if isinstance(value, str) and value:
            return value
        raise SecretNotSet(key)

    def entry(self, key: str, name: str) -> str:
        table = self._document.get(key)
        value = table.get(name) if isinstance(table, Mapping) else None
        if isinstance(value, str) and value:
            return value
        raise SecretNotSet(f"{key}.{name}")


def _inbound_secret(credentials: Credentials, source: str) -> str:
    try:
        return source_secret(_SecretsOf(credentials), source)
    except SecretNotSet:
        raise MissingCredentials(
            f"no secret for generic source {source}: {OUTBOUND}, generic_secrets, generic_secret"
        ) from None


def _reply_id(answer: Answer) -> str | None:
    """The reply's own id, read back from the request this answers (a source that answers a bare
    200 has still taken this reply, and the id is ours)."""
    sent = json_object(answer.request.body) if answer.request is not None else None
    return text_id(sent.get("reply_id")) if sent else None
