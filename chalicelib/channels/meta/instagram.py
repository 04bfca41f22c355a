"""Instagram comments, live comments and mentions (its Direct messages: messaging.py)."""

from __future__ import annotations

from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.common import ReaderBase
from chalicelib.models.interaction import Author, Direction, Interaction, Kind


class InstagramReader(ReaderBase):
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
