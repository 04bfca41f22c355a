"""The Facebook Page feed (comments, visitor posts, reactions) and Page ratings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.meta.common import ReaderBase, attachment_id
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind

_FEED_POST_ITEMS = frozenset({"post", "status", "photo", "video", "share"})
# Facebook Page recommendations are yes/no; they are mapped onto the 1-5 scale of other reviews.
_RECOMMENDATION_RATING = {"positive": 5.0, "negative": 1.0}
# restfb reports `edit` where Meta's docs say `edited`; both are accepted.
_VERBS = {"add": Action.CREATED, "edited": Action.EDITED, "edit": Action.EDITED, "remove": Action.DELETED}


class FeedReader(ReaderBase):
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


def _feed_attachments(value: dict[str, Any]) -> tuple[Attachment, ...]:
    found = []
    if value.get("photo") or value.get("photos"):
        found.append(Attachment("photo", attachment_id(value.get("photo_id"))))
    if value.get("video"):
        found.append(Attachment("video", attachment_id(value.get("video_id"))))
    if value.get("link"):
        found.append(Attachment("link"))
    return tuple(found)
