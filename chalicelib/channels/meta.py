"""Meta webhooks: Messenger, Page feed and ratings, Instagram and the WhatsApp Cloud API.

All four share one app secret, one handshake and one signature scheme, and arrive on one route;
the `object` field tells them apart. Items we cannot use (read receipts, delivery statuses, the
Page's own echoes) are acknowledged and counted, never queued as customer interactions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import (
    HandshakeRejected,
    InvalidSignature,
    MalformedPayload,
    ParseResult,
    WebhookRequest,
)
from chalicelib.channels.signing import hex_signature, matches
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.ports import SecretReader

SIGNATURE_HEADER = "x-hub-signature-256"

OBJECTS = ("page", "instagram", "whatsapp_business_account")

_FEED_POST_ITEMS = frozenset({"post", "status", "photo", "video", "share"})
_MESSAGING_KINDS = ("message", "message_edit", "reaction", "postback")
_WHATSAPP_MEDIA = frozenset({"image", "video", "audio", "document", "sticker"})
# Facebook Page recommendations are yes/no; they are mapped onto the 1-5 scale of other reviews.
_RECOMMENDATION_RATING = {"positive": 5.0, "negative": 1.0}
# restfb reports `edit` where Meta's docs say `edited`; both are accepted.
_VERBS = {"add": Action.CREATED, "edited": Action.EDITED, "edit": Action.EDITED, "remove": Action.DELETED}


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


class _Reader:
    """Walks one delivery; each item is read on its own so one odd item cannot sink the rest."""

    def __init__(self, received_at: datetime, result: ParseResult) -> None:
        self.received_at = received_at
        self.result = result

    def _each(self, entry: dict[str, Any], key: str, path: str, handler: Any, *args: Any) -> None:
        for index, item in enumerate(p.items(entry, key, path)):
            self.result.guard(f"{path}.{key}[{index}]", handler, item, *args)

    def _changes(self, entry: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
        """Meta's examples show both `changes[]` and a bare `field`/`value` on the entry."""
        found = []
        for index, change in enumerate(p.items(entry, "changes", path)):
            found.append((change, f"{path}.changes[{index}]"))
        if "field" in entry and "value" in entry:
            found.append((entry, path))
        return found

    # Page: Messenger conversations, feed comments and posts, ratings.

    def page_entry(self, entry: dict[str, Any], path: str) -> None:
        page_id = p.opt_text(entry, "id", path)
        for key in ("messaging", "standby"):
            self._each(entry, key, path, self._messaging, "messenger", page_id)
        for change, change_path in self._changes(entry, path):
            self.result.guard(change_path, self._page_change, change, entry, page_id)

    def _page_change(self, change: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None) -> None:
        field = change.get("field")
        value = p.obj(change, "value", path)
        vpath = f"{path}.value"
        if field not in ("feed", "ratings"):
            self.result.skip("unsupported")
            return
        item = p.opt_text(value, "item", vpath)
        action = self._action(value)
        if action is None:
            self.result.skip("unsupported")
        elif field == "ratings" and item in ("rating", None):
            self._rating(value, vpath, entry, page_id, action)
        elif item == "comment":
            self._feed_comment(value, vpath, entry, page_id, action)
        elif item in _FEED_POST_ITEMS and field == "feed":
            self._feed_post(value, vpath, entry, page_id, action)
        elif item in ("reaction", "like"):
            self._feed_reaction(value, vpath, entry, page_id, action)
        else:
            self.result.skip("unsupported")

    def _sender(self, value: dict[str, Any], path: str) -> Author:
        sender = p.obj(value, "from", path)
        return Author(
            user_id=p.text(sender, "id", f"{path}.from"),
            handle=p.opt_text(sender, "username", f"{path}.from"),
            display_name=p.opt_text(sender, "name", f"{path}.from"),
        )

    def _action(self, value: dict[str, Any]) -> Action | None:
        """None for verbs that are not a customer writing, editing or deleting (hide, block...)."""
        return _VERBS.get(str(value.get("verb", "add")))

    def _feed_times(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], action: Action
    ) -> tuple[datetime, datetime | None]:
        """`created_time` is seconds; an edit is told apart from earlier edits by `entry.time`."""
        created = value.get("created_time")
        if isinstance(created, str) and not created.lstrip("-").isdigit():
            occurred = p.from_iso(created.replace("+0000", "+00:00"), f"{path}.created_time")
        elif created is not None:
            occurred = p.from_seconds(p.number(value, "created_time", path), f"{path}.created_time")
        else:
            occurred = self._entry_time(entry, path)
        edited_at = None
        if action is not Action.CREATED:
            edited_at = self._entry_time(entry, path) if "time" in entry else occurred
        return occurred, edited_at

    def _entry_time(self, entry: dict[str, Any], path: str) -> datetime:
        if entry.get("time") is None:
            return self.received_at
        return p.from_epoch_guess(p.number(entry, "time", path), f"{path}.time")

    def _feed_comment(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        author = self._sender(value, path)
        occurred, edited_at = self._feed_times(value, path, entry, action)
        post_id = p.opt_text(value, "post_id", path) or p.opt_text(value, "open_graph_story_id", path)
        parent_id = p.opt_text(value, "parent_id", path)
        is_reply = parent_id is not None and parent_id != post_id
        own = bool(page_id) and author.user_id == page_id
        if own and (not is_reply or action is not Action.CREATED):
            self.result.skip("own")  # the Page posting or editing its own comments: nobody answered
            return
        self.result.add(
            Interaction(
                platform="facebook",
                direction=Direction.OUTBOUND if own else Direction.INBOUND,
                kind=Kind.REPLY if is_reply else Kind.COMMENT,
                action=action,
                external_id=p.text(value, "comment_id", path),
                account_id=page_id,
                thread_id=post_id,
                parent_id=parent_id,
                author=author,
                text=p.opt_text(value, "message", path) or "",
                attachments=_feed_attachments(value),
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _feed_post(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        author = self._sender(value, path)
        if page_id and author.user_id == page_id:
            self.result.skip("own")
            return
        occurred, edited_at = self._feed_times(value, path, entry, action)
        post_id = p.text(value, "post_id", path)
        self.result.add(
            Interaction(
                platform="facebook",
                kind=Kind.COMMENT,
                action=action,
                external_id=post_id,
                account_id=page_id,
                thread_id=post_id,
                author=author,
                text=p.opt_text(value, "message", path) or "",
                attachments=_feed_attachments(value),
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _feed_reaction(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        author = self._sender(value, path)
        if page_id and author.user_id == page_id:
            self.result.skip("own")
            return
        if action is Action.DELETED:
            self.result.skip("reaction_removed")
            return
        target = p.opt_text(value, "comment_id", path) or p.text(value, "post_id", path)
        reaction = p.opt_text(value, "reaction_type", path) or "like"
        occurred, _ = self._feed_times(value, path, entry, Action.CREATED)
        self.result.add(
            Interaction(
                platform="facebook",
                kind=Kind.REACTION,
                external_id=f"{target}:reaction:{author.user_id}:{reaction}",
                account_id=page_id,
                thread_id=p.opt_text(value, "post_id", path),
                parent_id=target,
                author=author,
                text="",
                reaction=reaction,
                occurred_at=occurred,
                received_at=self.received_at,
            )
        )

    def _rating(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        occurred, edited_at = self._feed_times(value, path, entry, action)
        rating = p.rating(value, "rating", path)
        if rating is None:
            rating = _RECOMMENDATION_RATING.get(str(value.get("recommendation_type")))
        self.result.add(
            Interaction(
                platform="facebook",
                kind=Kind.REVIEW,
                action=action,
                external_id=p.text(value, "open_graph_story_id", path),
                account_id=page_id,
                author=Author(
                    user_id=p.text(value, "reviewer_id", path),
                    display_name=p.opt_text(value, "reviewer_name", path),
                ),
                text=p.opt_text(value, "review_text", path) or "",
                rating=rating,
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    # Messenger and Instagram Direct share the `messaging` shape.

    def _messaging(self, event: dict[str, Any], path: str, platform: str, account_id: str | None) -> None:
        if not any(key in event for key in _MESSAGING_KINDS):
            self.result.skip("not_an_interaction")  # read, delivery, optin, referral, handover...
            return
        sender = p.obj(event, "sender", path)
        sender_id = p.text(sender, "id", f"{path}.sender")
        recipient = p.opt_obj(event, "recipient", path) or {}
        account = p.opt_text(recipient, "id", f"{path}.recipient") or account_id
        occurred = p.from_millis(p.number(event, "timestamp", path), f"{path}.timestamp")
        interaction = partial(
            Interaction,
            platform=platform,
            account_id=account,
            thread_id=sender_id,
            author=Author(user_id=sender_id),
            occurred_at=occurred,
            received_at=self.received_at,
        )
        if "message" in event:
            message = p.obj(event, "message", path)
            mpath = f"{path}.message"
            if message.get("is_echo") is True:
                self._echo(
                    message, mpath, platform, sender_id, p.opt_text(recipient, "id", f"{path}.recipient"), occurred
                )
                return
            reply_to = p.opt_obj(message, "reply_to", mpath) or {}
            deleted = message.get("is_deleted") is True
            self.result.add(
                interaction(
                    kind=Kind.MESSAGE,
                    action=Action.DELETED if deleted else Action.CREATED,
                    external_id=p.text(message, "mid", mpath),
                    parent_id=p.opt_text(reply_to, "mid", f"{mpath}.reply_to")
                    or p.opt_text(reply_to, "story_id", f"{mpath}.reply_to"),
                    text=p.opt_text(message, "text", mpath) or "",
                    attachments=_messaging_attachments(message, mpath),
                )
            )
        elif "message_edit" in event:
            edit = p.obj(event, "message_edit", path)
            self.result.add(
                interaction(
                    kind=Kind.MESSAGE,
                    action=Action.EDITED,
                    external_id=p.text(edit, "mid", f"{path}.message_edit"),
                    text=p.opt_text(edit, "text", f"{path}.message_edit") or "",
                    edited_at=occurred,
                )
            )
        elif "reaction" in event:
            reaction = p.obj(event, "reaction", path)
            rpath = f"{path}.reaction"
            if reaction.get("action") == "unreact":
                self.result.skip("reaction_removed")
                return
            mid = p.text(reaction, "mid", rpath)
            name = p.opt_text(reaction, "reaction", rpath) or p.opt_text(reaction, "emoji", rpath) or "other"
            self.result.add(
                interaction(
                    kind=Kind.REACTION,
                    external_id=f"{mid}:reaction:{sender_id}:{int(occurred.timestamp() * 1000)}",
                    parent_id=mid,
                    text="",
                    reaction=name,
                )
            )
        else:
            postback = p.obj(event, "postback", path)
            ppath = f"{path}.postback"
            external_id = (
                p.opt_text(postback, "mid", ppath) or f"postback:{sender_id}:{int(occurred.timestamp() * 1000)}"
            )
            self.result.add(
                interaction(
                    kind=Kind.MESSAGE,
                    external_id=external_id,
                    text=p.opt_text(postback, "title", ppath) or "",
                )
            )

    def _echo(
        self, message: dict[str, Any], path: str, platform: str, page: str, customer: str | None, occurred: datetime
    ) -> None:
        """The brand's own reply, echoed back: it answers the customer it was sent to."""
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
                text=p.opt_text(message, "text", path) or "",
                occurred_at=occurred,
                received_at=self.received_at,
            )
        )

    # Instagram: comments, mentions and Direct messages.

    def instagram_entry(self, entry: dict[str, Any], path: str) -> None:
        account_id = p.opt_text(entry, "id", path)
        self._each(entry, "messaging", path, self._messaging, "instagram", account_id)
        for change, change_path in self._changes(entry, path):
            self.result.guard(change_path, self._instagram_change, change, entry, account_id)

    def _instagram_change(
        self, change: dict[str, Any], path: str, entry: dict[str, Any], account_id: str | None
    ) -> None:
        field = change.get("field")
        value = p.obj(change, "value", path)
        vpath = f"{path}.value"
        if field in ("comments", "live_comments"):
            sender = p.obj(value, "from", vpath)
            author = Author(
                user_id=p.text(sender, "id", f"{vpath}.from"),
                handle=p.opt_text(sender, "username", f"{vpath}.from"),
            )
            media = p.opt_obj(value, "media", vpath) or {}
            parent_id = p.opt_text(value, "parent_id", vpath)
            own = bool(account_id) and author.user_id == account_id
            if own and not parent_id:
                self.result.skip("own")  # a comment of the brand's own, answering nobody
                return
            self.result.add(
                Interaction(
                    platform="instagram",
                    direction=Direction.OUTBOUND if own else Direction.INBOUND,
                    kind=Kind.REPLY if parent_id else Kind.COMMENT,
                    external_id=p.text(value, "id", vpath),
                    account_id=account_id,
                    thread_id=p.opt_text(media, "id", f"{vpath}.media"),
                    parent_id=parent_id,
                    author=author,
                    text=p.opt_text(value, "text", vpath) or "",
                    occurred_at=self._entry_time(entry, path),
                    received_at=self.received_at,
                )
            )
        elif field == "mentions":
            media_id = p.opt_text(value, "media_id", vpath)
            comment_id = p.opt_text(value, "comment_id", vpath)
            if not (media_id or comment_id):
                raise MalformedPayload(f"{vpath}: a mention needs media_id or comment_id")
            self.result.add(
                Interaction(
                    platform="instagram",
                    kind=Kind.MENTION,
                    external_id=comment_id or media_id or "",
                    account_id=account_id,
                    thread_id=media_id,
                    parent_id=media_id if comment_id else None,
                    author=None,
                    text="",
                    text_pending=True,
                    occurred_at=self._entry_time(entry, path),
                    received_at=self.received_at,
                )
            )
        else:
            self.result.skip("unsupported")

    # WhatsApp Cloud API.

    def whatsapp_entry(self, entry: dict[str, Any], path: str) -> None:
        for change, change_path in self._changes(entry, path):
            self.result.guard(change_path, self._whatsapp_change, change)

    def _whatsapp_change(self, change: dict[str, Any], path: str) -> None:
        value = p.obj(change, "value", path)
        vpath = f"{path}.value"
        if change.get("field") != "messages":
            self.result.skip("unsupported")
            return
        metadata = p.opt_obj(value, "metadata", vpath) or {}
        account_id = p.opt_text(metadata, "phone_number_id", f"{vpath}.metadata")
        names: dict[str, str] = {}
        for contact in p.items(value, "contacts", vpath):
            if isinstance(contact, dict) and isinstance(contact.get("profile"), dict):
                name = contact["profile"].get("name")
                if contact.get("wa_id") is not None and isinstance(name, str):
                    names[str(contact["wa_id"])] = name
        for index, status in enumerate(p.items(value, "statuses", vpath)):
            self.result.guard(f"{vpath}.statuses[{index}]", self._whatsapp_status, status, account_id)
        self.result.skip("error", len(p.items(value, "errors", vpath)))
        for index, message in enumerate(p.items(value, "messages", vpath)):
            self.result.guard(f"{vpath}.messages[{index}]", self._whatsapp_message, message, account_id, names)

    def _whatsapp_status(self, status: dict[str, Any], path: str, account_id: str | None) -> None:
        """WhatsApp does not echo the brand's messages; a `sent` status is how we learn of one."""
        if status.get("status") != "sent" or not status.get("recipient_id"):
            self.result.skip("status")
            return
        recipient = p.text(status, "recipient_id", path)
        self.result.add(
            Interaction(
                platform="whatsapp",
                direction=Direction.OUTBOUND,
                kind=Kind.MESSAGE,
                external_id=p.text(status, "id", path),
                account_id=account_id,
                thread_id=recipient,
                author=Author(user_id=account_id or "business"),
                recipient_id=recipient,
                text="",
                occurred_at=p.from_seconds(p.number(status, "timestamp", path), f"{path}.timestamp"),
                received_at=self.received_at,
            )
        )

    def _whatsapp_message(
        self, message: dict[str, Any], path: str, account_id: str | None, names: dict[str, str]
    ) -> None:
        kind_name = p.opt_text(message, "type", path) or "unknown"
        if kind_name == "system":
            self.result.skip("system")
            return
        wa_id = p.text(message, "from", path)
        context = p.opt_obj(message, "context", path) or {}
        body = p.as_obj(message.get(kind_name))
        text, reaction, parent_id = "", None, p.opt_text(context, "id", f"{path}.context")
        attachments: tuple[Attachment, ...] = ()
        kind = Kind.MESSAGE
        if kind_name == "text":
            text = p.opt_text(body, "body", f"{path}.text") or ""
        elif kind_name == "button":
            text = p.opt_text(body, "text", f"{path}.button") or ""
        elif kind_name == "interactive":
            reply = p.as_obj(body.get("button_reply") or body.get("list_reply"))
            text = p.opt_text(reply, "title", f"{path}.interactive") or ""
        elif kind_name in _WHATSAPP_MEDIA:
            text = p.opt_text(body, "caption", f"{path}.{kind_name}") or ""
            attachments = (Attachment(kind_name, p.opt_text(body, "id", f"{path}.{kind_name}")),)
        elif kind_name == "reaction":
            emoji = p.opt_text(body, "emoji", f"{path}.reaction")
            if not emoji:
                self.result.skip("reaction_removed")
                return
            kind, reaction = Kind.REACTION, emoji
            parent_id = p.text(body, "message_id", f"{path}.reaction")
        else:
            attachments = (Attachment(kind_name),)
        self.result.add(
            Interaction(
                platform="whatsapp",
                kind=kind,
                external_id=p.text(message, "id", path),
                account_id=account_id,
                thread_id=wa_id,
                parent_id=parent_id,
                author=Author(user_id=wa_id, display_name=names.get(wa_id)),
                text=text,
                reaction=reaction,
                attachments=attachments,
                occurred_at=p.from_seconds(p.number(message, "timestamp", path), f"{path}.timestamp"),
                received_at=self.received_at,
            )
        )


def _feed_attachments(value: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    if value.get("photo") or value.get("photos"):
        found.append(Attachment("photo", _id(value.get("photo_id"))))
    if value.get("video"):
        found.append(Attachment("video", _id(value.get("video_id"))))
    if value.get("link"):
        found.append(Attachment("link"))
    return tuple(found)


def _messaging_attachments(message: dict[str, Any], path: str) -> tuple[Attachment, ...]:
    """Messenger and Instagram attachments: their type, and the id Meta gives (a sticker's, a
    story's, a reel's), never the CDN URL."""
    found = []
    for attachment in p.items(message, "attachments", path):
        if not isinstance(attachment, dict):
            continue
        payload = p.as_obj(attachment.get("payload"))
        media_id = next(
            (
                _id(payload.get(key))
                for key in ("sticker_id", "attachment_id", "reel_video_id", "ig_post_media_id", "id")
                if payload.get(key) is not None
            ),
            None,
        )
        found.append(Attachment(str(attachment.get("type") or "file"), media_id))
    return tuple(found)


def _id(value: Any) -> str | None:
    """Ids arrive as strings or as JSON numbers; anything else is no id."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None
