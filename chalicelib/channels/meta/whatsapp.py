"""The WhatsApp Cloud API: customers' messages, the statuses of the business's own, and the messages
the business sends from the WhatsApp Business app (`smb_message_echoes`).

Who the customer is: their phone number (`from`, `wa_id`) while WhatsApp gives it, else their
business-scoped user id (`from_user_id`, `user_id`), so one customer keeps one identity across
messages; a username, where they set one, is their handle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.common import ReaderBase, attachment_id, sent_from_socialcrm
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind
from chalicelib.models.reply import ErrorClass, ReplyError, ReplyState, ReplyStatus

_MEDIA = frozenset({"image", "video", "audio", "document", "sticker"})

# Documented WhatsApp Business Account webhook fields that carry nothing a customer wrote: the
# account's, phone numbers' and templates' state, billing and security settings, the business's
# contact book (smb_app_state_sync), Click-to-WhatsApp conversion events (automatic_events) and
# marketing opt-outs (user_preferences). Any other field (`history`, `calls`, ...) may carry
# customer messages we do not read yet: it is `unknown`, so the delivery is kept for replay.
_NOT_AN_INTERACTION_FIELDS = frozenset(
    {
        "account_alerts",
        "account_review_update",
        "account_update",
        "automatic_events",
        "business_capability_update",
        "message_template_components_update",
        "message_template_quality_update",
        "message_template_status_update",
        "partner_solutions",
        "payment_configuration_update",
        "phone_number_name_update",
        "phone_number_quality_update",
        "security",
        "smb_app_state_sync",
        "template_category_update",
        "user_preferences",
    }
)


@dataclass(frozen=True)
class _Contact:
    """One entry of a value's `contacts`: who sent its messages, as WhatsApp describes them."""

    wa_id: str | None
    user_id: str | None
    name: str | None
    username: str | None


class WhatsAppReader(ReaderBase):
    def _whatsapp_change(self, change: dict[str, Any], path: str) -> None:
        field = change.get("field")
        if not isinstance(field, str):
            raise MalformedPayload(f"{path}.field: expected a string")
        if field == "messages":
            self._whatsapp_messages(p.obj(change, "value", path), f"{path}.value")
        elif field == "smb_message_echoes":
            self._whatsapp_echoes(p.obj(change, "value", path), f"{path}.value")
        elif field in _NOT_AN_INTERACTION_FIELDS:
            self.result.skip("not_an_interaction")  # the account's business, not a customer's words
        else:
            self.result.skip("unknown", detail=f"{path}.field: not handled: {str(field)[:40]!r}")

    def _whatsapp_messages(self, value: dict[str, Any], path: str) -> None:
        account_id = _account_id(value, path)
        contacts = _contacts(value)
        for index, status in enumerate(p.items(value, "statuses", path)):
            self.result.guard(f"{path}.statuses[{index}]", self._whatsapp_status, status, account_id)
        # Errors beside the messages (e.g. 131000 for a payload Meta could not build): about the
        # delivery, not written by anyone; a message they concern is still read below.
        self.result.skip("error", len(p.items(value, "errors", path)))
        for index, message in enumerate(p.items(value, "messages", path)):
            self.result.guard(f"{path}.messages[{index}]", self._whatsapp_message, message, account_id, contacts)

    def _whatsapp_status(self, status: dict[str, Any], path: str, account_id: str | None) -> None:
        """WhatsApp does not echo the brand's API messages; a `sent` status is how we learn of one
        (queued as the brand's reply). Every status is also queued as what became of the message
        (sent, delivered, read, played, failed: out of order, so only ever moving it forward), for
        the replies socialcrm sent; `biz_opaque_callback_data` names the reply it set at send."""
        state = _STATUS_STATES.get(str(status.get("status")))
        if state is None:
            self.result.skip("status")  # a status of a kind not documented: nothing to move
            return
        recipient = p.opt_text(status, "recipient_id", path) or p.opt_text(status, "recipient_user_id", path)
        reply_id = sent_from_socialcrm(p.opt_text(status, "biz_opaque_callback_data", path))
        if recipient is None and reply_id is None:
            self.result.skip("status")  # names neither a reply of ours nor a person: nothing to move
            return
        if state is not ReplyState.SENT or reply_id is not None:
            self.result.statuses.append(
                ReplyStatus(
                    platform="whatsapp",
                    platform_message_id=p.text(status, "id", path),
                    state=state,
                    at=_timestamp(status, path),
                    reply_id=reply_id,
                    account_id=account_id,
                    recipient_id=recipient,
                    error=_status_error(status, path) if state is ReplyState.FAILED else None,
                )
            )
        if state is not ReplyState.SENT:
            return
        recipient = p.opt_text(status, "recipient_id", path) or p.opt_text(status, "recipient_user_id", path)
        if not recipient:
            if reply_id is None:
                self.result.skip("status")  # answers nobody we could name
            return
        if status.get("recipient_type") == "group" or recipient.endswith("@g.us"):
            # The brand wrote to a WhatsApp group: its own post, not an answer to one customer,
            # and a group is no customer.
            self.result.skip("own")
            return
        if _category(status) in _TEMPLATE_CATEGORIES:
            # A template the business sent first (a campaign, an order update, a login code):
            # nobody's answer. Counted as one, every campaign recipient would become a customer
            # and a marketing blast would mark open complaints answered.
            self.result.skip("template")
            return
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
                occurred_at=_timestamp(status, path),
                received_at=self.received_at,
                reply_id=reply_id,
            )
        )

    def _whatsapp_message(
        self, message: dict[str, Any], path: str, account_id: str | None, contacts: list[_Contact]
    ) -> None:
        kind_name = p.opt_text(message, "type", path) or "unknown"
        if kind_name == "system":
            self.result.skip("system")  # number or identity changes, written by WhatsApp
            return
        if kind_name == "request_welcome":
            self.result.skip("not_an_interaction")  # the customer opened the chat; nothing written yet
            return
        author = _sender(message, path, contacts)
        occurred = _timestamp(message, path)
        interaction = partial(
            Interaction,
            platform="whatsapp",
            kind=Kind.MESSAGE,
            account_id=account_id,
            thread_id=author.user_id,
            author=author,
            occurred_at=occurred,
            received_at=self.received_at,
        )
        if kind_name == "reaction":
            reaction = p.as_obj(message.get("reaction"))
            emoji = p.opt_text(reaction, "emoji", f"{path}.reaction")
            if not emoji:  # "" before 2024, no `emoji` key since
                self.result.skip("reaction_removed")
                return
            self.result.add(
                interaction(
                    kind=Kind.REACTION,
                    external_id=p.text(message, "id", path),
                    parent_id=p.text(reaction, "message_id", f"{path}.reaction"),
                    text="",
                    reaction=emoji,
                )
            )
        elif kind_name in ("edit", "revoke"):
            self.result.add(_revision(interaction, message, path, kind_name, occurred))
        else:
            text, attachments = _content(message, path)
            self.result.add(
                interaction(
                    external_id=p.text(message, "id", path),
                    parent_id=_context_id(message),
                    text=text,
                    attachments=attachments,
                )
            )

    def _whatsapp_echoes(self, value: dict[str, Any], path: str) -> None:
        account_id = _account_id(value, path)
        metadata = p.opt_obj(value, "metadata", path) or {}
        business = _digits(p.opt_text(metadata, "display_phone_number", f"{path}.metadata"))
        for index, echo in enumerate(p.items(value, "message_echoes", path)):
            self.result.guard(f"{path}.message_echoes[{index}]", self._whatsapp_echo, echo, account_id, business)

    def _whatsapp_echo(self, echo: dict[str, Any], path: str, account_id: str | None, business: str) -> None:
        """A message the business sent, edited or deleted in the WhatsApp Business app: the brand
        answering the customer it was sent to, like a `sent` status for API messages."""
        kind_name = p.opt_text(echo, "type", path) or "unknown"
        customer = _echo_customer(echo, path, business)
        if customer is None:
            self.result.skip("echo")  # answers nobody we could name
            return
        if kind_name == "reaction":
            self.result.skip("own")  # the brand reacting to a message is not a reply
            return
        occurred = _timestamp(echo, path)
        interaction = partial(
            Interaction,
            platform="whatsapp",
            direction=Direction.OUTBOUND,
            kind=Kind.MESSAGE,
            account_id=account_id,
            thread_id=customer,
            recipient_id=customer,
            author=Author(user_id=account_id or "business"),
            occurred_at=occurred,
            received_at=self.received_at,
        )
        if kind_name in ("edit", "revoke"):
            self.result.add(_revision(interaction, echo, path, kind_name, occurred))
            return
        text, attachments = _content(echo, path)
        self.result.add(
            interaction(
                external_id=p.text(echo, "id", path),
                parent_id=_context_id(echo),
                text=text,
                attachments=attachments,
            )
        )


def _revision(
    interaction: partial[Interaction], message: dict[str, Any], path: str, kind_name: str, occurred: datetime
) -> Interaction:
    """An edit or a revoke (deletion) of an earlier message: it changes that message, under that
    message's id; when it happened tells later revisions apart."""
    if kind_name == "revoke":
        revoke = p.obj(message, "revoke", path)
        return interaction(
            action=Action.DELETED,
            external_id=p.text(revoke, "original_message_id", f"{path}.revoke"),
            text="",
            edited_at=occurred,
        )
    edit = p.obj(message, "edit", path)
    epath = f"{path}.edit"
    edited = p.opt_obj(edit, "message", epath) or {}
    text, attachments = _content(edited, f"{epath}.message") if edited else ("", ())
    return interaction(
        action=Action.EDITED,
        external_id=p.text(edit, "original_message_id", epath),
        parent_id=_context_id(edited) or _context_id(message),
        text=text,
        attachments=attachments,
        edited_at=occurred,
    )


def _content(message: dict[str, Any], path: str) -> tuple[str, tuple[Attachment, ...]]:
    """What a message says and carries. Only the sender's own words become text: a caption, a
    reply's chosen title, a template button's label, an order's note. Shared locations and contact
    cards (a third party's personal data), and types WhatsApp could not deliver (`unsupported`,
    `unknown`, with their `errors`), are attachments named as WhatsApp types them. Media keep
    WhatsApp's media id, never their URL."""
    kind_name = p.opt_text(message, "type", path) or "unknown"
    body = p.as_obj(message.get(kind_name))
    bpath = f"{path}.{kind_name}"
    if kind_name == "text":
        return p.opt_text(body, "body", bpath) or "", ()
    if kind_name == "button":  # a template's quick-reply button
        return p.opt_text(body, "text", bpath) or "", ()
    if kind_name == "interactive":
        reply = p.as_obj(body.get("button_reply") or body.get("list_reply"))
        title = p.opt_text(reply, "title", bpath)
        # A list row's `description` is the business's; a reply without a title (a Flow's form,
        # or one Meta could not read) is kept as its type.
        return (title, ()) if title else ("", (Attachment("interactive"),))
    if kind_name in _MEDIA:
        media_type = "voice" if kind_name == "audio" and body.get("voice") is True else kind_name
        caption = p.opt_text(body, "caption", bpath) or ""
        return caption, (Attachment(media_type, attachment_id(body.get("id"))),)
    if kind_name == "order":
        return p.opt_text(body, "text", bpath) or "", (Attachment("order"),)
    return "", (Attachment(kind_name),)


def _sender(message: dict[str, Any], path: str, contacts: list[_Contact]) -> Author:
    """The customer: `from` (their number) when WhatsApp gives it, else `from_user_id` (their
    business-scoped id). A message with neither (a reply to a contact request, in Meta's example)
    is from the value's only contact; with several contacts it is nobody's we could tell."""
    wa_id = p.opt_text(message, "from", path) or None
    user_id = p.opt_text(message, "from_user_id", path) or None
    if wa_id is None and user_id is None:
        if len(contacts) != 1:
            raise MalformedPayload(f"{path}: no sender (from, from_user_id) and not one contact to take it from")
        contact = contacts[0]
        wa_id, user_id = contact.wa_id, contact.user_id
    else:
        contact = next(
            (c for c in contacts if (wa_id and c.wa_id == wa_id) or (user_id and c.user_id == user_id)),
            _Contact(None, None, None, None),
        )
    identity = wa_id or user_id
    if identity is None:
        raise MalformedPayload(f"{path}: the only contact has neither wa_id nor user_id")
    return Author(user_id=identity, handle=contact.username, display_name=contact.name)


def _contacts(value: dict[str, Any]) -> list[_Contact]:
    """Names and handles only: an odd entry is ignored rather than costing the messages."""
    found = []
    entries = value.get("contacts")
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        profile = p.as_obj(entry.get("profile"))
        name, username = profile.get("name"), profile.get("username")
        # Meta's examples write "@name", real deliveries "name": kept bare, as other platforms' handles.
        handle = username.removeprefix("@") if isinstance(username, str) else ""
        found.append(
            _Contact(
                wa_id=attachment_id(entry.get("wa_id")),
                user_id=attachment_id(entry.get("user_id")),
                name=name if isinstance(name, str) and name else None,
                username=handle or None,
            )
        )
    return found


def _echo_customer(echo: dict[str, Any], path: str, business: str) -> str | None:
    """The customer an echo went to: `to` (or `to_user_id`), as Meta documents it. Should `to` be
    the business's own number (fixtures exist with `from` and `to` the other way round), the
    customer is `from`; the business never becomes its own customer."""
    to = p.opt_text(echo, "to", path) or p.opt_text(echo, "to_user_id", path) or None
    if to is not None and business and _digits(to) == business:
        sender = p.opt_text(echo, "from", path) or None
        return sender if sender is not None and _digits(sender) != business else None
    return to


def _account_id(value: dict[str, Any], path: str) -> str | None:
    metadata = p.opt_obj(value, "metadata", path) or {}
    return p.opt_text(metadata, "phone_number_id", f"{path}.metadata")


def _context_id(message: dict[str, Any]) -> str | None:
    """The message replied to. Forwarded flags and referred products carry no id: no parent."""
    return attachment_id(p.as_obj(message.get("context")).get("id"))


def _timestamp(item: dict[str, Any], path: str) -> datetime:
    """WhatsApp timestamps are Unix seconds, as digits in a string."""
    return p.from_seconds(p.number(item, "timestamp", path), f"{path}.timestamp")


def _digits(number: str | None) -> str:
    """Phone numbers compared by their digits: display numbers may carry "+", spaces or dashes."""
    return "".join(char for char in number or "" if char.isdigit())


# Conversation categories of messages the business starts with a template (Meta's pricing
# categories, and the older conversation-based ones); `service` (and the older `user_initiated`)
# is a reply within the customer's own conversation. A status without a category counts as a reply.
_TEMPLATE_CATEGORIES = frozenset(
    {"marketing", "marketing_lite", "utility", "authentication", "authentication_international", "business_initiated"}
)


_STATUS_STATES = {
    "sent": ReplyState.SENT,
    "delivered": ReplyState.DELIVERED,
    "read": ReplyState.READ,
    "played": ReplyState.READ,  # a voice message listened to: read, as far as a reply goes
    "failed": ReplyState.FAILED,
}


def _status_error(status: dict[str, Any], path: str) -> ReplyError:
    """The failure as WhatsApp states it: its code and its own words (never the message's text)."""
    errors = p.items(status, "errors", path)
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    raw = first.get("code")
    # A number (or its digits); anything else (a list, an object) names no known failure.
    code = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    if isinstance(raw, str) and raw.strip().isdigit():
        code = int(raw)
    details = first.get("error_data") if isinstance(first.get("error_data"), dict) else {}
    words = (details or {}).get("details") or first.get("message") or first.get("title") or "failed"
    permanent_codes = {131026, 131047, 131051, 131052, 131053, 130472, 131021, 131008, 131009, 132000, 132001}
    error_class = ErrorClass.RETRY if code in (130429, 131056, 131000, 131016, 1, 2) else ErrorClass.PERMANENT
    if code not in permanent_codes and code in (190, 131031):
        error_class = ErrorClass.REAUTH
    return ReplyError(str(code) if code is not None else "failed", error_class, str(words)[:500])


def _category(status: dict[str, Any]) -> str | None:
    pricing, conversation = status.get("pricing"), status.get("conversation")
    if isinstance(pricing, dict) and isinstance(pricing.get("category"), str):
        return str(pricing["category"]).lower()
    origin = conversation.get("origin") if isinstance(conversation, dict) else None
    if isinstance(origin, dict) and isinstance(origin.get("type"), str):
        return str(origin["type"]).lower()
    return None
