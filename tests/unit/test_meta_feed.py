"""Page feed, Page mentions, ratings and Instagram comments: the rules the captures do not pin down
(a customer where the captures only show the Page, shapes seen in docs but not captured)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels import meta
from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Kind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAGE = "104000000000001"
IG = "17841400000000001"
BIG = 16378016298936068  # above 2**53: a float would turn it into ...064


def page(*values: dict[str, Any], field: str = "feed", time: int = 1763812900) -> ParseResult:
    changes = [{"field": field, "value": value} for value in values]
    document = {"object": "page", "entry": [{"id": PAGE, "time": time, "changes": changes}]}
    return meta.parse(json.dumps(document).encode(), NOW)


def instagram(*changes: dict[str, Any], account: str = IG) -> ParseResult:
    document = {"object": "instagram", "entry": [{"id": account, "time": 1763812900, "changes": list(changes)}]}
    return meta.parse(json.dumps(document).encode(), NOW)


def comment(**fields: Any) -> dict[str, Any]:
    value = {
        "item": "comment",
        "verb": "add",
        "post_id": f"{PAGE}_900",
        "parent_id": f"{PAGE}_900",
        "comment_id": "900_1",
        "created_time": 1763812800,
        "from": {"id": "7100000000000001", "name": "Ana"},
        "message": "hello",
    }
    value.update(fields)
    return {key: item for key, item in value.items() if item is not None}


def ignored(result: ParseResult) -> dict[str, int]:
    return dict(result.ignored)


def test_old_comments_name_their_author_by_sender_id_and_keep_every_digit() -> None:
    raw = (
        b'{"object":"page","entry":[{"id":"104000000000001","time":1763812900,"changes":[{"field":"feed","value":'
        b'{"item":"comment","verb":"add","comment_id":"900_1","post_id":"104000000000001_900",'
        b'"parent_id":"104000000000001_900","sender_id":16378016298936068,"sender_name":"Zolt\\u00e1n",'
        b'"created_time":1763812800,"message":"hi"}}]}]}'
    )
    (interaction,) = meta.parse(raw, NOW).interactions
    assert interaction.author == Author(user_id=str(BIG), display_name="Zoltán")
    assert interaction.kind is Kind.COMMENT
    assert interaction.occurred_at == datetime(2025, 11, 22, 12, 0, tzinfo=UTC)


def test_a_comment_with_a_photo_keeps_the_photo_not_its_url() -> None:
    url = "https://scontent.xx.fbcdn.net/v/photo.jpg?oh=TOKEN"
    (interaction,) = page(comment(photo=url, message=None)).interactions
    assert interaction.text == ""
    assert interaction.attachments == (Attachment("photo"),)
    assert url not in json.dumps(interaction.to_dict())


def test_the_pages_reply_is_outbound_and_its_edits_are_its_own() -> None:
    reply = comment(comment_id="900_2", parent_id="900_1", **{"from": {"id": PAGE, "name": "Acme"}})
    edit = comment(comment_id="900_2", parent_id="900_1", verb="edited", **{"from": {"id": PAGE}})
    removal = comment(comment_id="900_2", parent_id="900_1", verb="remove", **{"from": {"id": PAGE}})
    result = page(reply, edit, removal)
    (interaction,) = result.interactions
    assert (interaction.direction, interaction.kind, interaction.parent_id) == (Direction.OUTBOUND, Kind.REPLY, "900_1")
    assert ignored(result) == {"own": 2}


@pytest.mark.parametrize("parent_id", [f"{PAGE}_900", None], ids=["parent-is-the-post", "no-parent"])
def test_the_pages_comment_under_a_post_answers_the_post(parent_id: str | None) -> None:
    """A visitor's post opens a case; the Page's comment directly under it is the answer. The
    webhook does not say whose the post is, so it is queued whoever wrote the post (a Page's own
    post never lands, and the reply waiting for it expires)."""
    top_level = comment(comment_id="900_3", parent_id=parent_id, **{"from": {"id": PAGE, "name": "Acme"}})
    (interaction,) = page(top_level).interactions
    assert (interaction.direction, interaction.kind, interaction.action) == (
        Direction.OUTBOUND,
        Kind.COMMENT,
        Action.CREATED,
    )
    assert (interaction.parent_id, interaction.thread_id, interaction.recipient_id) == (
        f"{PAGE}_900",
        f"{PAGE}_900",
        None,
    )
    post = {"item": "post", "verb": "add", "post_id": f"{PAGE}_900", "from": {"id": "7100000000000001"}}
    (visitor_post,) = page(post).interactions  # the post it answers: its pointer is the same
    assert (visitor_post.external_id, visitor_post.thread_id) == (interaction.parent_id, interaction.thread_id)


def test_the_pages_comment_under_nothing_it_could_answer_is_its_own() -> None:
    lost = comment(comment_id="900_4", parent_id=None, post_id=None, **{"from": {"id": PAGE}})
    edit = comment(comment_id="900_3", verb="edited", **{"from": {"id": PAGE}})
    result = page(lost, edit)
    assert (result.interactions, ignored(result)) == ([], {"own": 2})


@pytest.mark.parametrize("verb", ["edit", "edited", "update"])
def test_a_visitor_post_edit_is_an_edit_told_apart_by_the_delivery_time(verb: str) -> None:
    post = {
        "item": "post",
        "verb": verb,
        "post_id": f"{PAGE}_77",
        "sender_id": BIG,
        "created_time": 1763812000,
        "message": "edited words",
    }
    (interaction,) = page(post, time=1763812950).interactions
    assert (interaction.action, interaction.kind, interaction.external_id) == (
        Action.EDITED,
        Kind.COMMENT,
        f"{PAGE}_77",
    )
    assert interaction.author == Author(user_id=str(BIG))
    assert interaction.edited_at == datetime.fromtimestamp(1763812950, tz=UTC)
    assert interaction.occurred_at == datetime.fromtimestamp(1763812000, tz=UTC)


@pytest.mark.parametrize(
    ("verb", "reason"),
    [
        ("hide", "unsupported"),
        ("unhide", "unsupported"),
        ("block", "unsupported"),
        ("mute", "unsupported"),
        ("follow", "not_an_interaction"),
        ("share", "unknown"),
        (7, "unknown"),
    ],
)
def test_verbs_that_are_nobody_writing_are_counted_and_undocumented_ones_kept_as_unknown(
    verb: Any, reason: str
) -> None:
    result = page(comment(verb=verb))
    assert (result.interactions, ignored(result)) == ([], {reason: 1})
    assert result.unread == ({"unknown": 1} if reason == "unknown" else {})


def test_visitor_posts_keep_their_media_ids_and_the_pages_own_posts_are_skipped() -> None:
    visitor = {"from": {"id": "71", "name": "Ana"}, "created_time": 1763812800, "verb": "add"}
    photo = {**visitor, "item": "photo", "post_id": f"{PAGE}_1", "photo_id": BIG, "link": "https://x/p.jpg"}
    album = {**visitor, "item": "album", "post_id": f"{PAGE}_2", "album_id": 5, "photo_ids": [BIG, 12]}
    video = {**visitor, "item": "video", "post_id": f"{PAGE}_3", "video_id": "333"}
    share = {**visitor, "item": "share", "post_id": f"{PAGE}_4", "share_id": 44, "link": "http://example.org/"}
    status = {**visitor, "item": "status", "post_id": f"{PAGE}_5", "photos": ["https://x/1.png", "https://x/2.png"]}
    own = {**status, "post_id": f"{PAGE}_6", "from": {"id": PAGE}, "published": 1}
    result = page(photo, album, video, share, status, own)
    assert [i.attachments for i in result.interactions] == [
        (Attachment("photo", str(BIG)),),
        (Attachment("photo", str(BIG)), Attachment("photo", "12")),
        (Attachment("video", "333"),),
        (Attachment("share", "44"),),
        (Attachment("photo"), Attachment("photo")),
    ]
    assert ignored(result) == {"own": 1}


def test_likes_and_reactions() -> None:
    page_like = {"item": "like", "verb": "add", "user_id": 10117756507186459}
    comment_like = {"item": "like", "verb": "add", "comment_id": "931_676", "sender_id": 9127, "created_time": 1}
    removed = {
        "item": "reaction",
        "verb": "remove",
        "post_id": f"{PAGE}_9",
        "reaction_type": "wow",
        "from": {"id": "71"},
    }
    no_target = {"item": "reaction", "verb": "add", "reaction_type": "wow", "from": {"id": "71"}}
    result = page(page_like, comment_like, removed, no_target)
    (like,) = result.interactions
    assert (like.kind, like.reaction, like.parent_id, like.thread_id) == (Kind.REACTION, "like", "931_676", None)
    assert like.external_id == "931_676:reaction:9127:like"
    assert ignored(result) == {"not_an_interaction": 1, "reaction_removed": 1, "malformed": 1}


def test_items_and_fields_that_are_not_read() -> None:
    event = {"item": "event", "verb": "add", "story": "Page added an event.", "post_id": f"{PAGE}_1"}
    milestone = {"item": "milestone", "verb": "add", "from": {"id": PAGE}}
    no_author = comment(**{"from": None})
    result = page(event, milestone, no_author)
    assert ignored(result) == {"own": 1, "unknown": 1, "malformed": 1}
    result = page({"x": 1}, field="leadgen")
    assert ignored(result) == {"unknown": 1}
    assert result.problems == ["entry[0].changes[0].field: not handled: 'leadgen'"]


def test_page_mentions_keep_what_they_say_and_wait_for_the_rest() -> None:
    in_comment = {
        "item": "comment",
        "verb": "add",
        "post_id": "55_66",
        "comment_id": "66_77",
        "created_time": 1763812800,
        "message": "@Acme hello",
    }
    in_post = {"item": "post", "verb": "add", "post_id": "41969890_4772", "sender_id": 41969890}
    by_the_page = {"item": "post", "verb": "add", "post_id": f"{PAGE}_1", "sender_id": int(PAGE)}
    without_ids = {"item": "post", "verb": "add"}
    result = page(in_comment, in_post, by_the_page, without_ids, field="mention")
    first, second = result.interactions
    assert (first.kind, first.external_id, first.thread_id, first.parent_id) == (
        Kind.MENTION,
        "66_77",
        "55_66",
        "55_66",
    )
    assert (second.external_id, second.thread_id, second.parent_id) == ("41969890_4772", "41969890_4772", None)
    # What the webhook says is kept; what it leaves out is fetched by the processor (text_pending).
    assert (first.platform, first.author, first.text, first.text_pending) == ("facebook", None, "@Acme hello", True)
    assert second.author is not None
    assert (second.platform, second.author.user_id, second.text, second.text_pending) == (
        "facebook",
        "41969890",
        "",
        True,
    )
    assert first.occurred_at == datetime.fromtimestamp(1763812800, tz=UTC)
    assert second.occurred_at == datetime.fromtimestamp(1763812900, tz=UTC)  # no created_time: entry.time
    assert ignored(result) == {"own": 1, "malformed": 1}


@pytest.mark.parametrize(("recommendation", "stars"), [("POSITIVE", 5.0), ("negative", 1.0), ("other", None)])
def test_recommendations_without_stars_map_onto_the_scale(recommendation: str, stars: float | None) -> None:
    review = {
        "item": "rating",
        "verb": "add",
        "open_graph_story_id": BIG,
        "reviewer_id": 73,
        "recommendation_type": recommendation,
        "review_text": "ok",
        "comment_id": None,
    }
    (interaction,) = page(review, field="ratings").interactions
    assert (interaction.kind, interaction.external_id, interaction.rating) == (Kind.REVIEW, str(BIG), stars)


def test_a_comment_on_a_review_and_a_reaction_to_it() -> None:
    reply = {
        "item": "comment",
        "verb": "add",
        "open_graph_story_id": 970,
        "comment_id": "970_1",
        "parent_id": "970",
        "from": {"id": "73"},
        "message": "thanks",
        "created_time": 1763812800,
    }
    reaction = {
        "item": "reaction",
        "verb": "add",
        "post_id": "15_970",
        "parent_id": "15_970",
        "sender_id": 73,
        "reaction_type": "haha",
        "review_text": None,
        "comment_id": None,
    }
    result = page(reply, reaction, field="ratings")
    first, second = result.interactions
    assert (first.kind, first.thread_id, first.text) == (Kind.COMMENT, "970", "thanks")
    assert (second.kind, second.reaction, second.parent_id) == (Kind.REACTION, "haha", "15_970")


def ig_comment(**fields: Any) -> dict[str, Any]:
    value = {
        "from": {"id": "6500", "username": "ana"},
        "media": {"id": "180", "media_product_type": "FEED"},
        "id": "178",
        "text": "hi",
    }
    value.update(fields)
    return {"field": "comments", "value": {key: item for key, item in value.items() if item is not None}}


def test_an_instagram_comment_without_an_author_is_kept_until_its_author_is_fetched() -> None:
    result = instagram({"field": "comments", "value": {"text": "words", "id": "123"}})
    (interaction,) = result.interactions
    assert (interaction.author, interaction.text, interaction.text_pending) == (None, "words", True)
    assert (interaction.kind, interaction.external_id, interaction.thread_id) == (Kind.COMMENT, "123", None)


def test_instagram_comment_shapes_and_the_brands_own_comments() -> None:
    variant = ig_comment(
        id=None,
        comment_id="179",
        parent_id="170",
        media={"id": "181", "media_product_type": "AD", "ad_id": "238", "original_media_id": "182"},
    )
    own = ig_comment(id="175", **{"from": {"id": IG, "username": "brand", "self_ig_scoped_id": "64"}})
    own_reply = ig_comment(id="176", parent_id="170", **{"from": {"id": IG, "username": "brand"}})
    live = {"field": "live_comments", "value": ig_comment(id="177")["value"]}
    no_id = ig_comment(id=None)
    result = instagram(
        variant,
        own,
        own_reply,
        live,
        no_id,
        {"field": "story_insights", "value": {"reach": 1}},
        {"field": "something_new", "value": {}},
    )
    reply, outbound, live_comment = result.interactions
    assert (reply.kind, reply.external_id, reply.parent_id, reply.thread_id) == (Kind.REPLY, "179", "170", "181")
    assert (outbound.direction, outbound.kind, outbound.author) == (
        Direction.OUTBOUND,
        Kind.REPLY,
        Author(user_id=IG, handle="brand"),
    )
    assert (live_comment.kind, live_comment.external_id) == (Kind.COMMENT, "177")
    assert ignored(result) == {"own": 1, "malformed": 1, "not_an_interaction": 1, "unknown": 1}


@pytest.mark.parametrize("platform", ["page", "instagram"])
def test_messaging_fields_in_changes_are_read_as_messages(platform: str) -> None:
    value = {
        "sender": {"id": "12334"},
        "recipient": {"id": "23245"},
        "timestamp": 1763812800123,
        "message": {"mid": "m_1", "text": "random_text"},
    }
    document = {
        "object": platform,
        "entry": [{"id": "0", "time": 1763812900, "changes": [{"field": "messages", "value": value}]}],
    }
    (interaction,) = meta.parse(json.dumps(document).encode(), NOW).interactions
    assert (interaction.kind, interaction.external_id, interaction.text) == (Kind.MESSAGE, "m_1", "random_text")
    assert interaction.platform == ("messenger" if platform == "page" else "instagram")
