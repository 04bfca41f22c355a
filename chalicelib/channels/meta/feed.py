"""The Facebook Page feed (comments, visitor posts, reactions), Page ratings and Page mentions.

Meta has sent these values in several shapes over the years, and old Pages still get the old ones:
the author as `from {id, name}` (since v2.11) or as `sender_id`/`sender_name` (before, and still in
some reactions and mentions); ids as strings or as JSON numbers, some above 2**53 (read from the
parsed JSON as ints, so their digits are kept); `verb` `edited` (Meta's docs) or `edit` (what visitor
posts and reactions really carry). Each reader takes whichever is there.

The Page's own comments are the brand answering: a reply to a comment answers that comment, and a
comment directly under a post (its `parent_id` is the post's id, or absent) answers the post, for
a visitor's post is a customer writing on the Page. Both are queued as outbound replies naming what
they answer (`parent_id`) and no recipient. The webhook cannot tell a visitor's post from the Page's
own: every Page-feed post id is `<page_id>_<n>`, the comment's value carries no author of the post
(the newer `post` object only its status and URL), and the Page's own posts are never queued. So
the Page's comment under its own post is queued too: it waits on a post that never lands (as a
reply does for a comment not here yet), answers no case, makes no customer, counts as nobody's
contact, and expires with the stage's retention. Looking the post's author up in the Graph API
would cost a call per Page comment for no better outcome.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.common import ReaderBase, attachment_id
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Interaction, Kind

# Feed items that are a post on the Page: a visitor's post is the customer writing; the Page's own
# posts (its statuses, photos, albums, shares, videos) are skipped as `own`.
_FEED_POST_ITEMS = frozenset({"post", "status", "photo", "video", "share", "album", "link", "note", "story"})
# Facebook Page recommendations are yes/no; they are mapped onto the 1-5 scale of other reviews.
_RECOMMENDATION_RATING = {"positive": 5.0, "negative": 1.0}
# Meta's documented verbs. Its docs say `edited`, while visitor posts and reactions carry `edit`
# (and `update` is listed beside them): all three are edits.
_VERBS = {
    "add": Action.CREATED,
    "edited": Action.EDITED,
    "edit": Action.EDITED,
    "update": Action.EDITED,
    "remove": Action.DELETED,
    "delete": Action.DELETED,
}
# Documented verbs that are nobody writing: the Page moderating (hiding, blocking, muting).
_MODERATION_VERBS = frozenset({"hide", "unhide", "block", "unblock", "mute"})


class FeedReader(ReaderBase):
    def _page_change(self, change: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None) -> None:
        field = change.get("field")
        if field not in ("feed", "ratings", "mention"):
            # Messenger fields are routed to the messaging reader before this; anything else is a
            # field we have never read: kept whole for a replay.
            self.result.skip("unknown", detail=f"{path}.field: not handled: {str(field)[:40]!r}")
            return
        value = p.obj(change, "value", path)
        vpath = f"{path}.value"
        action = self._action(value, vpath)
        if action is None:
            return
        item = p.opt_text(value, "item", vpath)
        if field == "mention":
            self._page_mention(value, vpath, entry, page_id, action)
        elif field == "ratings" and item in ("rating", None):
            self._rating(value, vpath, entry, page_id, action)
        elif item == "comment":
            self._feed_comment(value, vpath, entry, page_id, action)
        elif item in ("reaction", "like"):
            self._feed_reaction(value, vpath, entry, page_id, action, item)
        elif field == "feed" and item in _FEED_POST_ITEMS:
            self._feed_post(value, vpath, entry, page_id, action, item)
        elif field == "feed" and item == "event":
            # Page events are created by the Page's admins (the value has no author, only a
            # `story` such as "Page added an event."): the brand's own content.
            self.result.skip("own")
        else:
            self.result.skip("unknown", detail=f"{vpath}.item: not handled: {str(item)[:40]!r}")

    def _action(self, value: dict[str, Any], path: str) -> Action | None:
        """The verb as an action, or None once the item is counted: moderation verbs (hide, block,
        mute...) are the Page's doing and `follow` is nobody writing; a verb Meta does not document
        is a shape we have never seen."""
        verb = value.get("verb", "add")
        if not isinstance(verb, str):
            verb = None
        action = _VERBS.get(verb) if verb else None
        if action is not None:
            return action
        if verb in _MODERATION_VERBS:
            self.result.skip("unsupported")
        elif verb == "follow":
            self.result.skip("not_an_interaction")
        else:
            self.result.skip("unknown", detail=f"{path}.verb: not handled: {str(verb)[:40]!r}")
        return None

    def _sender(self, value: dict[str, Any], path: str) -> Author | None:
        """`from {id, name}`, or the older `sender_id`/`sender_name`; None when neither is there."""
        sender = p.opt_obj(value, "from", path)
        if sender is not None:
            return Author(
                user_id=p.text(sender, "id", f"{path}.from"),
                handle=p.opt_text(sender, "username", f"{path}.from"),
                display_name=p.opt_text(sender, "name", f"{path}.from"),
            )
        if value.get("sender_id") is not None:
            return Author(
                user_id=p.text(value, "sender_id", path),
                display_name=p.opt_text(value, "sender_name", path),
            )
        return None

    def _required_sender(self, value: dict[str, Any], path: str) -> Author:
        author = self._sender(value, path)
        if author is None:
            raise MalformedPayload(f"{path}: expected `from` or `sender_id`, found neither")
        return author

    def _feed_times(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], action: Action
    ) -> tuple[datetime, datetime | None]:
        """`created_time` is seconds (or ISO 8601 in some values); an edit is told apart from
        earlier edits by `entry.time`, when it was delivered."""
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

    def _post_id(self, value: dict[str, Any], path: str) -> str | None:
        post = p.as_obj(value.get("post"))
        return (
            p.opt_text(value, "post_id", path)
            or p.opt_text(post, "id", f"{path}.post")
            or p.opt_text(value, "open_graph_story_id", path)
        )

    def _feed_comment(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        author = self._required_sender(value, path)
        occurred, edited_at = self._feed_times(value, path, entry, action)
        post_id = self._post_id(value, path)
        parent_id = p.opt_text(value, "parent_id", path)
        is_reply = parent_id is not None and parent_id != post_id
        own = bool(page_id) and author.user_id == page_id
        if own:
            # The Page's comment answers what it is under: the comment it replies to, or the post
            # itself (a visitor's post). Whether the post is the Page's own, the webhook does not
            # say (see the module docstring), so a top-level comment is queued either way.
            parent_id = parent_id or post_id
            if parent_id is None or action is not Action.CREATED:
                self.result.skip("own")  # the Page editing or removing its comments: nobody answered
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
                attachments=_feed_attachments(value, "comment"),
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _feed_post(
        self,
        value: dict[str, Any],
        path: str,
        entry: dict[str, Any],
        page_id: str | None,
        action: Action,
        item: str,
    ) -> None:
        author = self._required_sender(value, path)
        if page_id and author.user_id == page_id:
            self.result.skip("own")  # the Page's own statuses, photos, albums, shares and videos
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
                attachments=_feed_attachments(value, item),
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _feed_reaction(
        self,
        value: dict[str, Any],
        path: str,
        entry: dict[str, Any],
        page_id: str | None,
        action: Action,
        item: str,
    ) -> None:
        post_id = p.opt_text(value, "post_id", path)
        comment_id = p.opt_text(value, "comment_id", path)
        if post_id is None and comment_id is None:
            if item == "like":
                # A like of the Page itself (only `user_id`): someone following the Page, nothing written.
                self.result.skip("not_an_interaction")
                return
            raise MalformedPayload(f"{path}: a reaction needs post_id or comment_id")
        author = self._required_sender(value, path)
        if page_id and author.user_id == page_id:
            self.result.skip("own")
            return
        if action is Action.DELETED:
            self.result.skip("reaction_removed")
            return
        target = comment_id or post_id
        reaction = p.opt_text(value, "reaction_type", path) or "like"
        occurred, _ = self._feed_times(value, path, entry, Action.CREATED)
        self.result.add(
            Interaction(
                platform="facebook",
                kind=Kind.REACTION,
                external_id=f"{target}:reaction:{author.user_id}:{reaction}",
                account_id=page_id,
                thread_id=post_id,
                parent_id=target,
                author=author,
                text="",
                reaction=reaction,
                occurred_at=occurred,
                received_at=self.received_at,
            )
        )

    def _page_mention(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        """Someone mentioned the Page in a post or comment elsewhere. The value names the post (and
        comment), sometimes the words (`message`), rarely who wrote them (`sender_id`): what it
        leaves out is fetched by the processor through the Graph API (the comment, or the post), as
        for an Instagram mention."""
        sender = self._sender(value, path)
        if sender is not None and page_id and sender.user_id == page_id:
            self.result.skip("own")  # the Page mentioning itself
            return
        post_id = p.opt_text(value, "post_id", path)
        comment_id = p.opt_text(value, "comment_id", path)
        external_id = comment_id or post_id
        if external_id is None:
            raise MalformedPayload(f"{path}: a mention needs post_id or comment_id")
        occurred, edited_at = self._feed_times(value, path, entry, action)
        text = p.opt_text(value, "message", path) or ""
        self.result.add(
            Interaction(
                platform="facebook",
                kind=Kind.MENTION,
                action=action,
                external_id=external_id,
                account_id=page_id,
                thread_id=post_id,
                parent_id=post_id if comment_id else None,
                author=sender,
                text=text,
                text_pending=sender is None or not text,  # what Meta left out is fetched
                occurred_at=occurred,
                edited_at=edited_at,
                received_at=self.received_at,
            )
        )

    def _rating(
        self, value: dict[str, Any], path: str, entry: dict[str, Any], page_id: str | None, action: Action
    ) -> None:
        occurred, edited_at = self._feed_times(value, path, entry, action)
        rating = p.rating(value, "rating", path)
        if rating is None:
            recommendation = value.get("recommendation_type")
            if isinstance(recommendation, str):  # `positive` in the docs, `POSITIVE` on the wire
                rating = _RECOMMENDATION_RATING.get(recommendation.lower())
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


def _feed_attachments(value: dict[str, Any], item: str) -> tuple[Attachment, ...]:
    """What a post or comment carries besides its text: photos (with their ids where Meta gives
    them: `photo_id`, an album's `photo_ids`), videos (`video_id`), shared links (`share_id`).
    Meta's CDN URLs in `photo`, `photos` and `link` are never kept: they expire and carry tokens."""
    found: list[Attachment] = []
    photo_ids = value.get("photo_ids")
    if isinstance(photo_ids, list) and photo_ids:
        found.extend(Attachment("photo", attachment_id(photo)) for photo in photo_ids)
    elif item == "photo" or value.get("photo_id") is not None or value.get("photo"):
        found.append(Attachment("photo", attachment_id(value.get("photo_id"))))
    photos = value.get("photos")
    if isinstance(photos, list):
        found.extend(Attachment("photo") for _ in photos)
    if item == "video" or value.get("video_id") is not None or value.get("video"):
        found.append(Attachment("video", attachment_id(value.get("video_id"))))
    if item == "share":
        found.append(Attachment("share", attachment_id(value.get("share_id"))))
    elif value.get("link") and item not in ("photo", "video", "album"):
        found.append(Attachment("link"))
    return tuple(found)
