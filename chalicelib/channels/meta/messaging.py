"""Messenger and Instagram Direct: both use the `messaging` shape."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.meta.common import ReaderBase, attachment_id
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind

_MESSAGING_KINDS = ("message", "message_edit", "reaction", "postback")


class MessagingReader(ReaderBase):
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
                attachment_id(payload.get(key))
                for key in ("sticker_id", "attachment_id", "reel_video_id", "ig_post_media_id", "id")
                if payload.get(key) is not None
            ),
            None,
        )
        found.append(Attachment(str(attachment.get("type") or "file"), media_id))
    return tuple(found)
