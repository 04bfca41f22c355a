"""The WhatsApp Cloud API: customers' messages, and the statuses of the business's own."""

from __future__ import annotations

from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.meta.common import ReaderBase
from chalicelib.models.interaction import Attachment, Author, Direction, Interaction, Kind

_WHATSAPP_MEDIA = frozenset({"image", "video", "audio", "document", "sticker"})


class WhatsAppReader(ReaderBase):
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
