"""X parser rules the captures in tests/data/captures/x do not show on their own: the two delivery
formats (Account Activity and X Activity), what is unknown rather than a 400, the text X adds or
escapes, and ids beyond 2**53."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels import x
from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Attachment, Author

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ACCOUNT = "1111111111111111111"
CUSTOMER = "2222222222222222222"


def parse(document: dict[str, Any]) -> ParseResult:
    return x.parse(json.dumps(document).encode(), NOW)


def summary(result: ParseResult) -> tuple[list[str], dict[str, int]]:
    return [i.external_id for i in result.interactions], dict(result.ignored)


def tweet(**fields: Any) -> dict[str, Any]:
    return {
        "id_str": "9",
        "text": "@brand hi",
        "timestamp_ms": "1763812800000",
        "user": {"id_str": "7", "screen_name": "ana", "name": "Ana"},
        **fields,
    }


def dm(text: str, **data: Any) -> dict[str, Any]:
    return {
        "type": "message_create",
        "id": "20",
        "created_timestamp": "1763812800000",
        "message_create": {"target": {"recipient_id": "1"}, "sender_id": "77", "message_data": {"text": text, **data}},
    }


def activity(event_type: str, payload: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    data = {"event_uuid": "-1", "filter": {"user_id": ACCOUNT}, "event_type": event_type, "tag": "t"}
    return {"data": {**data, "payload": payload, **envelope}}


def post(**fields: Any) -> dict[str, Any]:
    created = "2026-08-12T18:00:00.000Z"
    return {"id": "2090000000000000009", "author_id": CUSTOMER, "text": "hi", "created_at": created, **fields}


# --- text -------------------------------------------------------------------------------------


def test_tweet_text_comes_html_escaped_and_is_stored_as_typed() -> None:
    (mention,) = parse(
        {"for_user_id": "1", "tweet_create_events": [tweet(text="@brand &lt;3 fish &amp; chips &amp;lt;")]}
    ).interactions
    assert mention.text == "@brand <3 fish & chips &lt;"


def test_only_the_media_link_x_appends_is_cut_from_a_dm() -> None:
    media = {"id_str": "5", "type": "photo", "url": "https://t.co/MEDIA"}
    event = dm("see https://t.co/LINK https://t.co/MEDIA", attachment={"type": "media", "media": media})
    (message,) = parse({"for_user_id": "1", "direct_message_events": [event]}).interactions
    assert (message.text, message.attachments) == ("see https://t.co/LINK", (Attachment("photo", "5"),))


def test_a_media_only_dm_has_empty_text_and_its_attachment() -> None:
    media = {"id": 2**60 + 1, "type": "video", "url": "https://t.co/MEDIA"}
    event = dm(" https://t.co/MEDIA", attachment={"type": "media", "media": media})
    (message,) = parse({"for_user_id": "1", "direct_message_events": [event]}).interactions
    assert (message.text, message.attachments) == ("", (Attachment("video", str(2**60 + 1)),))


def test_a_link_the_customer_typed_at_the_end_stays_when_there_is_no_media() -> None:
    (message,) = parse({"for_user_id": "1", "direct_message_events": [dm("look https://t.co/LINK")]}).interactions
    assert message.text == "look https://t.co/LINK"


def test_a_truncated_tweet_without_its_extended_text_says_so() -> None:
    result = parse({"for_user_id": "1", "tweet_create_events": [tweet(text="@brand long…", truncated=True)]})
    assert result.interactions[0].text_truncated is True


def test_a_profile_field_of_another_type_costs_only_that_field() -> None:
    document = {"for_user_id": "1", "direct_message_events": [dm("hi")], "users": {"77": {"screen_name": 5}}}
    (message,) = parse(document).interactions
    assert message.author == Author("77")


# --- ids ----------------------------------------------------------------------------------------


def test_ids_given_as_numbers_beyond_2_53_keep_every_digit() -> None:
    account, sender = 2**60 + 3, 2**61 + 7
    event = dm("hi")
    event["message_create"] |= {"sender_id": sender, "target": {"recipient_id": account}}
    (message,) = parse({"for_user_id": account, "direct_message_events": [event]}).interactions
    assert (message.account_id, message.thread_id) == (str(account), str(sender))


def test_the_string_twin_of_an_id_wins_over_a_rounded_number() -> None:
    rounded = tweet(id=1179000000000000000, id_str="1179000000000000001", in_reply_to_status_id=2**60)
    rounded["in_reply_to_status_id_str"] = "1152921504606846977"
    (reply,) = parse({"for_user_id": "1", "tweet_create_events": [rounded]}).interactions
    assert (reply.external_id, reply.parent_id) == ("1179000000000000001", "1152921504606846977")


# --- Account Activity shapes ----------------------------------------------------------------------


def test_a_lone_event_object_is_read_as_a_list_of_one() -> None:
    assert summary(parse({"for_user_id": "1", "tweet_create_events": tweet()})) == (["9"], {})


def test_an_event_list_of_another_type_is_malformed_not_a_400() -> None:
    assert summary(parse({"for_user_id": "1", "tweet_create_events": "?"})) == ([], {"malformed": 1})


def test_an_optional_reference_of_another_type_costs_only_that_reference() -> None:
    (mention,) = parse({"for_user_id": "1", "tweet_create_events": [tweet(in_reply_to_status_id=1.5)]}).interactions
    assert (mention.kind.value, mention.parent_id) == ("mention", None)


def test_a_body_x_has_never_sent_is_unknown_not_a_400() -> None:
    for body in ({}, {"for_user_id": "1"}, {"data": {"id": "1", "text": "hi"}, "matching_rules": []}):
        result = parse(body)
        assert summary(result) == ([], {"unknown": 1})
        assert result.unread == {"unknown": 1}


def test_a_new_kind_of_account_event_is_unknown_per_event() -> None:
    result = parse({"for_user_id": "1", "poll_vote_events": [{}, {}], "tweet_create_events": [tweet()]})
    assert summary(result) == (["9"], {"unknown": 2})
    assert result.problems == ["poll_vote_events: an event kind not handled"]


def test_a_direct_message_event_of_another_type_is_unknown() -> None:
    result = parse({"for_user_id": "1", "direct_message_events": [{"type": "message_reaction", "id": "3"}]})
    assert summary(result) == ([], {"unknown": 1})


def test_envelope_keys_are_not_counted_as_events() -> None:
    typing = {"created_timestamp": "1", "sender_id": "77", "target": {"recipient_id": "1"}}
    document = {"for_user_id": "1", "direct_message_indicate_typing_events": [typing], "users": {}, "apps": {}}
    assert summary(parse(document)) == ([], {"not_an_interaction": 1})


@pytest.mark.parametrize(("state", "problems"), [("Complete", []), ("Incomplete", ["replay_job_status.job_state"])])
def test_a_replay_job_report_is_not_an_interaction_and_an_incomplete_one_is_logged(
    state: str, problems: list[str]
) -> None:
    result = parse({"replay_job_status": {"webhook_id": "1", "job_state": state, "job_id": "2"}})
    assert summary(result) == ([], {"not_an_interaction": 1})
    assert [problem.partition(":")[0] for problem in result.problems] == problems


# --- X Activity API ---------------------------------------------------------------------------------


def test_an_activity_event_type_not_documented_is_unknown_by_name() -> None:
    result = parse(activity("post.bookmark.create", post()))
    assert summary(result) == ([], {"unknown": 1})
    assert result.problems == ["data.event_type: not handled: 'post.bookmark.create'"]


@pytest.mark.parametrize(
    "event_type", ["profile.update.bio", "profile.update.something_new", "block.block", "dm.read", "news.new"]
)
def test_activity_events_without_customer_words_are_not_interactions(event_type: str) -> None:
    assert summary(parse(activity(event_type, {"before": "a", "after": "b"}))) == ([], {"not_an_interaction": 1})


def test_encrypted_chats_either_way_are_unknown() -> None:
    payload = {"id": "e4f4", "sender_id": ACCOUNT, "encoded_event": "CwAB"}
    assert summary(parse(activity("chat.sent", payload))) == ([], {"unknown": 1})


def test_a_post_event_without_the_filtered_user_is_malformed() -> None:
    document = activity("post.mention.create", post())
    document["data"]["filter"] = {}
    assert summary(parse(document)) == ([], {"malformed": 1})


def test_the_accounts_own_reply_to_a_customer_is_outbound() -> None:
    reply = {**post(), "author_id": ACCOUNT, "in_reply_to_user_id": CUSTOMER}
    reply["referenced_tweets"] = [{"type": "replied_to", "id": "2080765813578191303"}]
    (answer,) = parse(activity("post.create", reply)).interactions
    assert (answer.direction.value, answer.kind.value, answer.recipient_id, answer.parent_id) == (
        "outbound",
        "reply",
        CUSTOMER,
        "2080765813578191303",
    )
    assert summary(parse(activity("post.create", {**post(), "author_id": ACCOUNT}))) == ([], {"own": 1})


def test_a_reply_delivered_as_a_reply_and_as_a_mention_is_one_interaction() -> None:
    reply = {**post(), "in_reply_to_tweet_id": "5", "in_reply_to_user_id": ACCOUNT, "text": "@ExampleUser hi"}
    (as_reply,) = parse(activity("post.reply.create", reply)).interactions
    (as_mention,) = parse(activity("post.mention.create", reply)).interactions
    assert as_reply.to_dict() == as_mention.to_dict()
    assert (as_reply.kind.value, as_reply.parent_id) == ("reply", "5")


def test_a_long_post_with_media_reads_its_note_text_types_its_media_and_drops_the_media_link() -> None:
    long_post = {
        **post(),
        "text": "cut short https://t.co/MEDIA",
        "note_tweet": {
            "text": "the whole &amp; long text https://t.co/MEDIA",
            "entities": {"urls": [{"url": "https://t.co/MEDIA", "media_key": "3_1234567890123456789"}]},
        },
        "attachments": {"media_keys": ["3_1234567890123456789", "13_55"]},
    }
    includes = {
        "media": [{"media_key": "3_1234567890123456789", "type": "photo"}, {"data": {"media_key": "13_55"}}],
        "users": [{"data": {"id": CUSTOMER, "username": "samplex", "name": "Sample"}}],
    }
    (mention,) = parse(activity("post.mention.create", long_post, includes=includes)).interactions
    assert mention.text == "the whole & long text"
    assert mention.attachments == (Attachment("photo", "1234567890123456789"), Attachment("media", "55"))
    assert mention.author == Author(CUSTOMER, "samplex", "Sample")


def test_a_like_of_the_accounts_post_names_no_liker_so_it_is_unknown() -> None:
    like = {"id": "87719f50", "liked_tweet_id": "5", "liked_tweet_author_id": ACCOUNT, "timestamp_ms": "1784927565236"}
    inbound = activity("like.create", like)
    inbound["data"]["filter"]["direction"] = "inbound"
    assert summary(parse(inbound)) == ([], {"unknown": 1})
    assert summary(parse(activity("like.create", {**like, "liked_tweet_author_id": CUSTOMER}))) == ([], {"own": 1})


def test_someone_elses_deleted_post_is_a_deletion() -> None:
    result = parse(activity("post.delete", {"id": "9", "author_id": CUSTOMER}))
    (deleted,) = result.interactions
    assert (deleted.idempotency_key, deleted.occurred_at) == ("x:9:deleted", NOW)


def test_a_chat_message_in_the_accounts_broadcast_is_a_comment_on_it() -> None:
    author = {"data": {"id": CUSTOMER, "username": "samplex", "name": "Sample"}}
    payload = {
        "broadcast_id": "1mGPaZaAdNqJN",
        "message_id": "2090000000000000004",
        "message": "hello",
        "author": author,
    }
    (comment,) = parse(activity("broadcast.chat", payload)).interactions
    assert (comment.kind.value, comment.thread_id, comment.text, comment.author) == (
        "comment",
        "1mGPaZaAdNqJN",
        "hello",
        Author(CUSTOMER, "samplex", "Sample"),
    )
    own = {**payload, "author": {"data": {"id": ACCOUNT}}}
    assert summary(parse(activity("broadcast.chat", own))) == ([], {"own": 1})
