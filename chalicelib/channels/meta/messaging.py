"""Messenger and Instagram Direct: both use the `messaging` shape.

A messaging item is one event in a conversation between a customer and the brand account: a
message, an edit, a reaction, a button pressed (postback), or an event that carries nothing the
customer wrote (read, delivery, opt-in, referral, handover). Items arrive under `entry[].messaging`,
under `entry[].standby` while another app owns the thread, and, from the dashboard's "Test" button,
as a `changes[]` item whose `value` is one messaging item (`MESSAGING_FIELDS`).

The brand's own messages come back as echoes: they are queued as outbound, because they answer the
customer they were sent to.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.common import ReaderBase, attachment_id, sent_from_socialcrm
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.models.reply import ReplyState, ReplyStatus

# What a customer did, in the order they are looked for: an item carries one of them.
_INTERACTION_KEYS = ("message", "message_edit", "reaction", "postback")
# Events Meta documents that carry nothing a customer wrote: receipts, opt-ins, referrals without a
# message (the shortlink, ad or plugin that opened the thread), account linking, game scores,
# thread handover between apps, Meta's policy notices and the retired payments events. Anything else
# is a kind we have never seen (`unknown`), kept whole for a replay.
_NOT_INTERACTIONS = frozenset(
    {
        "read",
        "delivery",
        "optin",
        "referral",
        "account_linking",
        "game_play",
        "pass_thread_control",
        "take_thread_control",
        "request_thread_control",
        "app_roles",
        "policy_enforcement",
        "checkout_update",
        "payment",
        "pre_checkout",
    }
)
# Webhook fields (Messenger and Instagram) whose `changes[].value` is one messaging item. Meta's
# dashboard "Test" button sends them this way (entry.id "0", entry.time in seconds); chatwoot reports
# postbacks reaching production so too. The Meta router sends such changes to `_messaging_change`.
MESSAGING_FIELDS = frozenset(
    {
        "messages",
        "message_echoes",
        "message_edit",
        "message_edits",
        "message_reactions",
        "message_reads",
        "message_deliveries",
        "messaging_seen",
        "messaging_postbacks",
        "messaging_optins",
        "messaging_referral",
        "messaging_referrals",
        "messaging_handover",
        "messaging_handovers",
        "messaging_account_linking",
        "messaging_game_plays",
        "messaging_policy_enforcement",
        "standby",
    }
)
# No Meta platform stamped anything before 2004: an earlier time (the dashboard test's 233445667) is
# not when the event happened, and the time we received it is the best we know.
_EARLIEST_MS = 1_072_915_200_000
_USER_REF = "user_ref:"


class MessagingReader(ReaderBase):
    def _messaging_change(self, change: dict[str, Any], path: str, platform: str, account_id: str | None) -> None:
        """A messaging item delivered as a change: its `value` is read as any messaging item."""
        value = p.obj(change, "value", path)
        if not set(value) - {"page_id"}:
            # The dashboard test of 2018 names only the Page: a ping, nothing anyone wrote.
            self.result.skip("not_an_interaction")
            return
        self._messaging(value, f"{path}.value", platform, account_id)

    def _messaging(self, event: dict[str, Any], path: str, platform: str, account_id: str | None) -> None:
        """One messaging item of the account `account_id` (the entry's id): what the customer did is
        queued; the brand's echoes are queued as its replies; everything else is counted by reason."""
        kind = next((key for key in _INTERACTION_KEYS if key in event), None)
        if kind is None and ("delivery" in event or "read" in event):
            self._receipt(event, path, platform)
            return
        if kind is None:
            if _NOT_INTERACTIONS.intersection(event):
                self.result.skip("not_an_interaction")  # receipts, opt-ins, referrals, handovers...
            else:
                self.result.skip("unknown", detail=f"{path}: an event of a kind not known")
            return
        if event.get("is_self") is True:
            # Instagram self-messaging: the account pressing its own button or writing to itself.
            self.result.skip("own")
            return
        sender_id = _party(p.obj(event, "sender", path), f"{path}.sender")
        recipient_id = _party(p.as_obj(event.get("recipient")))
        stamp = _stamp(event)
        occurred = self._occurred(stamp)
        item = p.obj(event, kind, path)
        item_path = f"{path}.{kind}"
        if kind == "message" and item.get("is_echo") is True:
            self._echo(item, item_path, platform, sender_id, recipient_id, occurred)
            return
        if account_id and sender_id == account_id:
            # The brand's own reaction, edit or button press is nobody answering anyone; its replies
            # arrive as echoes, read above.
            self.result.skip("own")
            return
        account = recipient_id or account_id
        if kind == "message":
            self._message(item, item_path, platform, sender_id, account, occurred)
        elif kind == "message_edit":
            self._edit(item, item_path, platform, sender_id, account, occurred)
        elif kind == "reaction":
            self._reaction(item, item_path, platform, sender_id, account, occurred, stamp)
        else:
            self._postback(item, item_path, platform, sender_id, account, occurred, stamp)

    def _occurred(self, stamp: int | None) -> datetime:
        """The event's time; where Meta gave none that can be true, the time we received it."""
        if stamp is None or stamp < _EARLIEST_MS:
            return self.received_at
        try:
            return p.from_millis(stamp, "timestamp")
        except MalformedPayload:  # beyond the year 9999
            return self.received_at

    def _inbound(
        self,
        platform: str,
        sender_id: str,
        account: str | None,
        occurred: datetime,
        *,
        kind: Kind,
        external_id: str,
        action: Action = Action.CREATED,
        parent_id: str | None = None,
        text: str = "",
        reaction: str | None = None,
        attachments: tuple[Attachment, ...] = (),
        edited_at: datetime | None = None,
    ) -> None:
        """Queue what the customer did; in a DM the conversation is the customer's."""
        self.result.add(
            Interaction(
                platform=platform,
                kind=kind,
                action=action,
                external_id=external_id,
                account_id=account,
                thread_id=sender_id,
                parent_id=parent_id,
                author=Author(user_id=sender_id),
                text=text,
                reaction=reaction,
                attachments=attachments,
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _message(
        self, message: dict[str, Any], path: str, platform: str, sender_id: str, account: str | None, occurred: datetime
    ) -> None:
        """A customer's message: its text (a quick reply's is the button's label) and attachments.
        A deletion names the deleted message; `is_unsupported` is media Instagram will not pass on,
        which the customer did send: it stays visible as an `unsupported_type` attachment."""
        deleted = message.get("is_deleted") is True
        attachments = () if deleted else _attachments(message)
        if message.get("is_unsupported") is True and not attachments:
            attachments = (Attachment("unsupported_type"),)
        self._inbound(
            platform,
            sender_id,
            account,
            occurred,
            kind=Kind.MESSAGE,
            action=Action.DELETED if deleted else Action.CREATED,
            external_id=p.text(message, "mid", path),
            parent_id=_replied_to(message),
            text=_text(message, "text"),
            attachments=attachments,
        )

    def _edit(
        self, edit: dict[str, Any], path: str, platform: str, sender_id: str, account: str | None, occurred: datetime
    ) -> None:
        """An edit keeps the message's id; the item's time tells this edit from earlier ones
        (`num_edit` arrives as a number or a string and is not needed)."""
        self._inbound(
            platform,
            sender_id,
            account,
            occurred,
            kind=Kind.MESSAGE,
            action=Action.EDITED,
            external_id=p.text(edit, "mid", path),
            text=_text(edit, "text"),
            edited_at=occurred,
        )

    def _reaction(
        self,
        reaction: dict[str, Any],
        path: str,
        platform: str,
        sender_id: str,
        account: str | None,
        occurred: datetime,
        stamp: int | None,
    ) -> None:
        """A reaction has no id of its own: it is told apart by message, customer and time. An
        unreact carries only the message's id and is not queued."""
        if reaction.get("action") == "unreact":
            self.result.skip("reaction_removed")
            return
        mid = p.text(reaction, "mid", path)
        name = _text(reaction, "reaction") or _text(reaction, "emoji") or "other"
        self._inbound(
            platform,
            sender_id,
            account,
            occurred,
            kind=Kind.REACTION,
            external_id=f"{mid}:reaction:{sender_id}:{_millis(stamp, occurred)}",
            parent_id=mid,
            reaction=name,
        )

    def _postback(
        self,
        postback: dict[str, Any],
        path: str,
        platform: str,
        sender_id: str,
        account: str | None,
        occurred: datetime,
        stamp: int | None,
    ) -> None:
        """A postback is the customer pressing a button (a Get Started, a menu item, a template's
        button): a message whose text is the button's title. The payload is the developer's, not
        the customer's words. Before 2017 there was no title, and before v11 no mid; an empty
        postback (seen in standby) is still a button pressed."""
        external_id = attachment_id(postback.get("mid")) or f"postback:{sender_id}:{_millis(stamp, occurred)}"
        self._inbound(
            platform,
            sender_id,
            account,
            occurred,
            kind=Kind.MESSAGE,
            external_id=external_id,
            text=_text(postback, "title"),
        )

    def _echo(
        self,
        message: dict[str, Any],
        path: str,
        platform: str,
        page: str,
        customer: str | None,
        occurred: datetime,
    ) -> None:
        """The brand's own message, echoed back (with or without an `app_id`: a reply from another
        tool or the Page inbox is still the brand's): it answers the customer it was sent to, with
        what it attached. An echo of the account writing to itself answers nobody."""
        if message.get("is_self") is True:
            self.result.skip("own")
            return
        if not customer:
            self.result.skip("echo")
            return
        self.result.add(
            Interaction(
                platform=platform,
                direction=Direction.OUTBOUND,
                kind=Kind.MESSAGE,
                external_id=p.text(message, "mid", path),
                account_id=page,
                thread_id=customer,
                author=Author(user_id=page),
                recipient_id=customer,
                text=_text(message, "text"),
                attachments=_attachments(message),
                occurred_at=occurred,
                received_at=self.received_at,
                reply_id=sent_from_socialcrm(p.opt_text(message, "metadata", path)),
            )
        )

    def _receipt(self, event: dict[str, Any], path: str, platform: str) -> None:
        """A delivery or read receipt: the customer (`sender`) received or read what the account
        (`recipient`) sent them: everything up to the `watermark` (Messenger), or the message `mid`
        (Instagram reads). Queued as a status of the brand's messages to them; the replies socialcrm
        sent move forward, nothing else changes."""
        kind = "delivery" if "delivery" in event else "read"
        receipt = p.obj(event, kind, path)
        customer = _party(p.obj(event, "sender", path), f"{path}.sender")
        page = _party(p.as_obj(event.get("recipient")))
        raw = receipt.get("watermark")
        watermark = None
        if isinstance(raw, int) and not isinstance(raw, bool):
            watermark = p.from_millis(raw, f"{path}.{kind}.watermark")
        mids = [str(mid) for mid in receipt.get("mids") or () if isinstance(mid, str)]
        mid = p.opt_text(receipt, "mid", f"{path}.{kind}")
        if mid:
            mids.append(mid)
        if watermark is None and not mids:
            self.result.skip("not_an_interaction")  # nothing to tell which messages it covers
            return
        stamp = _stamp(event)
        # When: the event's time; without one, the watermark's (never our clock: a redelivery
        # must say the same).
        at = self._occurred(stamp) if stamp is not None else watermark or self.received_at
        state = ReplyState.DELIVERED if kind == "delivery" else ReplyState.READ
        # With a watermark, the watermark says what it covers (its `mids` are among those).
        for each in [None] if watermark is not None else mids:
            self.result.statuses.append(
                ReplyStatus(
                    platform=platform,
                    platform_message_id=each,
                    state=state,
                    at=at,
                    account_id=page or None,
                    recipient_id=customer,
                    watermark=watermark,
                )
            )


def _party(party: dict[str, Any], path: str | None = None) -> str:
    """Who sent or received an item: the PSID or IGSID, or for a Chat Plugin guest (who has none)
    the plugin's `user_ref`, marked so it is never taken for a PSID. With a path, one is required."""
    found = attachment_id(party.get("id"))
    if found is None and (ref := attachment_id(party.get("user_ref"))) is not None:
        found = _USER_REF + ref
    if found is None and path is not None:
        raise MalformedPayload(f"{path}: expected an id or a user_ref")
    return found or ""


def _stamp(event: dict[str, Any]) -> int | None:
    """The item's `timestamp` in milliseconds, as Meta stamps it; its dashboard test format sends
    seconds (as a string), told apart by size. None when absent or not a number."""
    try:
        value = p.number(event, "timestamp", "")
    except MalformedPayload:
        return None
    return int(value) if value > 1e11 else int(value * 1000)


def _millis(stamp: int | None, occurred: datetime) -> int:
    return stamp if stamp is not None else int(occurred.timestamp() * 1000)


def _text(parent: dict[str, Any], key: str) -> str:
    """Text the platform gives; any other type is no text rather than a reason to lose the item."""
    value = parent.get(key)
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _replied_to(message: dict[str, Any]) -> str | None:
    """The message replied to (`reply_to.mid`) or, on Instagram, the story (`reply_to.story.id`)."""
    reply_to = p.as_obj(message.get("reply_to"))
    return attachment_id(reply_to.get("mid")) or attachment_id(p.as_obj(reply_to.get("story")).get("id"))


def _attachments(message: dict[str, Any]) -> tuple[Attachment, ...]:
    """Messenger and Instagram attachments: their type, and the id Meta gives, never the CDN URL.
    A Messenger sticker arrives as an `image` carrying a `sticker_id` (also on the message): it is a
    sticker, and its id names the sticker, not an image. A list that is not a list is read as well
    as it can be: attachments never cost the customer's message."""
    values = message.get("attachments")
    if isinstance(values, dict):
        values = [values]
    found = [_attachment(value) for value in values] if isinstance(values, list) else []
    sticker = attachment_id(message.get("sticker_id"))
    if sticker is not None and not any(item.type == "sticker" for item in found):
        found.append(Attachment("sticker", sticker))
    return tuple(found)


def _attachment(value: Any) -> Attachment:
    if not isinstance(value, dict):
        return Attachment(value if isinstance(value, str) and value else "unknown")
    kind = value.get("type")
    payload = p.as_obj(value.get("payload"))
    sticker = attachment_id(payload.get("sticker_id"))
    if sticker is not None:
        return Attachment("sticker", sticker)
    media_id = next(
        (
            attachment_id(payload.get(key))
            for key in ("attachment_id", "reel_video_id", "ig_post_media_id", "id")
            if attachment_id(payload.get(key)) is not None
        ),
        None,
    )
    if media_id is None:
        # A media template (echoed when the brand sends one) names its media in its one element.
        elements = payload.get("elements")
        if isinstance(elements, list) and elements:
            media_id = attachment_id(p.as_obj(elements[0]).get("attachment_id"))
    return Attachment(kind if isinstance(kind, str) and kind else "unknown", media_id)
