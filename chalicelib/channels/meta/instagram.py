"""Instagram comments, live comments and mentions (its Direct messages: messaging.py).

A comment value has taken several shapes: `{from {id, username}, media {id, media_product_type},
id, parent_id?, text}` today (the media may be a FEED post, a REELS, a LIVE video or an AD, with
`ad_id`/`ad_title`); `comment_id` instead of `id` in the docs for Facebook Login; and only
`{text, id}` before October 2021. Each is read for what it holds.
"""

from __future__ import annotations

from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.common import ReaderBase
from chalicelib.models.interaction import Author, Direction, Interaction, Kind

# Known fields that carry nothing a customer wrote: a story's reach and replies counts.
_NOT_INTERACTIONS = frozenset({"story_insights"})


class InstagramReader(ReaderBase):
    def _instagram_change(
        self, change: dict[str, Any], path: str, entry: dict[str, Any], account_id: str | None
    ) -> None:
        field = change.get("field")
        if not isinstance(field, str):
            field = None
        if field in ("comments", "live_comments"):
            self._instagram_comment(p.obj(change, "value", path), f"{path}.value", entry, path, account_id)
        elif field == "mentions":
            self._instagram_mention(p.obj(change, "value", path), f"{path}.value", entry, path, account_id)
        elif field in _NOT_INTERACTIONS:
            self.result.skip("not_an_interaction")
        else:
            # Direct-message fields are routed to the messaging reader before this; anything else
            # is a field we have never read: kept whole for a replay.
            self.result.skip("unknown", detail=f"{path}.field: not handled: {str(field)[:40]!r}")

    def _instagram_comment(
        self, value: dict[str, Any], vpath: str, entry: dict[str, Any], path: str, account_id: str | None
    ) -> None:
        """A comment or live comment. Without `from` (the pre-2021 value) the customer's text is
        still queued, as pending: the processor fetches who wrote it (`GET /{comment-id}?fields=from`)
        as it does for mentions. The brand's own comment answering a comment is an outbound reply;
        its other own comments answer nobody and are skipped."""
        sender = p.opt_obj(value, "from", vpath)
        author = None
        if sender is not None:
            author = Author(
                user_id=p.text(sender, "id", f"{vpath}.from"),
                handle=p.opt_text(sender, "username", f"{vpath}.from"),
            )
        external_id = p.opt_text(value, "id", vpath) or p.opt_text(value, "comment_id", vpath)
        if not external_id:
            raise MalformedPayload(f"{vpath}: a comment needs id or comment_id")
        media = p.opt_obj(value, "media", vpath) or {}
        parent_id = p.opt_text(value, "parent_id", vpath)
        own = author is not None and bool(account_id) and author.user_id == account_id
        if own and not parent_id:
            self.result.skip("own")  # a comment of the brand's own, answering nobody
            return
        self.result.add(
            Interaction(
                platform="instagram",
                direction=Direction.OUTBOUND if own else Direction.INBOUND,
                kind=Kind.REPLY if parent_id else Kind.COMMENT,
                external_id=external_id,
                account_id=account_id,
                thread_id=p.opt_text(media, "id", f"{vpath}.media"),
                parent_id=parent_id,
                author=author,
                text=p.opt_text(value, "text", vpath) or "",
                text_pending=author is None,
                occurred_at=self._entry_time(entry, path),
                received_at=self.received_at,
            )
        )

    def _instagram_mention(
        self, value: dict[str, Any], vpath: str, entry: dict[str, Any], path: str, account_id: str | None
    ) -> None:
        """The account was @mentioned in a comment (`comment_id` and its `media_id`) or a caption
        (`media_id` only). Only ids arrive: text and author are fetched by the processor."""
        media_id = p.opt_text(value, "media_id", vpath)
        comment_id = p.opt_text(value, "comment_id", vpath)
        external_id = comment_id or media_id
        if not external_id:
            raise MalformedPayload(f"{vpath}: a mention needs media_id or comment_id")
        self.result.add(
            Interaction(
                platform="instagram",
                kind=Kind.MENTION,
                external_id=external_id,
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
