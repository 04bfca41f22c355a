"""Meta webhooks: Messenger, Page feed and ratings, Instagram and the WhatsApp Cloud API.

All four share one app secret, one handshake and one signature scheme, and arrive on one route;
the `object` field tells them apart. Items we cannot use (read receipts, delivery statuses, the
Page's own echoes) are acknowledged and counted, never queued as customer interactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import (
    HandshakeRejected,
    InvalidSignature,
    MalformedPayload,
    ParseResult,
    WebhookRequest,
)
from chalicelib.channels.meta.feed import FeedReader
from chalicelib.channels.meta.instagram import InstagramReader
from chalicelib.channels.meta.messaging import MESSAGING_FIELDS, MessagingReader
from chalicelib.channels.meta.whatsapp import WhatsAppReader
from chalicelib.channels.signing import hex_signature, matches
from chalicelib.ports import SecretReader

SIGNATURE_HEADER = "x-hub-signature-256"

OBJECTS = ("page", "instagram", "whatsapp_business_account")


def handshake(params: Mapping[str, str], verify_token: str) -> str:
    """Answer Meta's subscription check with the bare challenge, or refuse it."""
    if params.get("hub.mode") != "subscribe" or not matches(verify_token, params.get("hub.verify_token")):
        raise HandshakeRejected("hub.mode must be 'subscribe' and hub.verify_token must match")
    challenge = params.get("hub.challenge")
    if not challenge:
        raise HandshakeRejected("hub.challenge is missing")
    return challenge


def verify(raw_body: bytes, signature: str | None, app_secret: str) -> None:
    if not matches(hex_signature(app_secret, raw_body), signature):
        raise InvalidSignature(f"{SIGNATURE_HEADER} is missing or does not match the body")


class MetaChannel:
    name = "meta"

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        verify(request.body, request.headers.get(SIGNATURE_HEADER), secrets.get("meta_app_secret"))

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        return parse(request.body, received_at)


def parse(raw_body: bytes, received_at: datetime) -> ParseResult:
    document = p.load_object(raw_body)
    kind = document.get("object")
    if kind not in OBJECTS:
        raise MalformedPayload(f"object: expected one of {', '.join(OBJECTS)}, got {str(kind)[:40]!r}")
    entries = p.items(document, "entry", "", required=True)
    result = ParseResult()
    reader = _Reader(received_at, result)
    for index, entry in enumerate(entries):
        path = f"entry[{index}]"
        if not isinstance(entry, dict):
            raise MalformedPayload(f"{path}: expected an object")
        if kind == "page":
            reader.page_entry(entry, path)
        elif kind == "instagram":
            reader.instagram_entry(entry, path)
        else:
            reader.whatsapp_entry(entry, path)
    return result


class _Reader(MessagingReader, FeedReader, InstagramReader, WhatsAppReader):
    """One delivery: Page entries carry Messenger conversations and feed changes, Instagram entries
    Direct messages and comment changes, WhatsApp entries messages and statuses."""

    def page_entry(self, entry: dict[str, Any], path: str) -> None:
        page_id = p.opt_text(entry, "id", path)
        for key in ("messaging", "standby"):
            self._each(entry, key, path, self._messaging, "messenger", page_id)
        for change, change_path in self._changes(entry, path):
            if _messaging_field(change):
                self.result.guard(change_path, self._messaging_change, change, "messenger", page_id)
            else:
                self.result.guard(change_path, self._page_change, change, entry, page_id)

    def instagram_entry(self, entry: dict[str, Any], path: str) -> None:
        account_id = p.opt_text(entry, "id", path)
        for key in ("messaging", "standby"):  # standby: while another app owns the conversation
            self._each(entry, key, path, self._messaging, "instagram", account_id)
        for change, change_path in self._changes(entry, path):
            if _messaging_field(change):
                self.result.guard(change_path, self._messaging_change, change, "instagram", account_id)
            else:
                self.result.guard(change_path, self._instagram_change, change, entry, account_id)

    def whatsapp_entry(self, entry: dict[str, Any], path: str) -> None:
        for change, change_path in self._changes(entry, path):
            self.result.guard(change_path, self._whatsapp_change, change)


def _messaging_field(change: Any) -> bool:
    """Messenger and Instagram Direct fields arrive in `entry[].messaging[]`, but the dashboard's
    Test button (and, by some reports, Meta itself for postbacks) sends them as a `changes[]` item
    whose `value` is the messaging item: those are read by the messaging reader, as messages."""
    field = change.get("field") if isinstance(change, dict) else None
    return isinstance(field, str) and field in MESSAGING_FIELDS
