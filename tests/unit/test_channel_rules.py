"""Channel parsing rules that the sample files do not pin down: envelopes, bad items, limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels import generic, meta, telegram, trustpilot, x
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.meta.messaging import MessagingReader
from chalicelib.models.interaction import Attachment, Author

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


def messenger(*messaging: Any) -> bytes:
    return body({"object": "page", "entry": [{"id": "PAGE", "time": 1763812800000, "messaging": list(messaging)}]})


def dm(mid: str, text: str = "hi", sender: str = "PSID") -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": "PAGE"},
        "timestamp": 1763812800123,
        "message": {"mid": mid, "text": text},
    }


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "must be a JSON object"),
        (b"[" * 100_000, "not valid JSON"),
        (body({"object": "user", "entry": []}), "object: expected one of"),
        (body({"entry": []}), "object: expected one of"),
        (body({"object": "page"}), "entry: expected an array"),
        (body({"object": "page", "entry": {}}), "entry: expected an array"),
        (body({"object": "page", "entry": [7]}), r"entry\[0\]: expected an object"),
    ],
)
def test_meta_envelope_errors_say_what_is_wrong(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        meta.parse(raw, NOW)


def test_one_bad_meta_item_is_counted_and_its_neighbours_still_queued() -> None:
    broken = {"sender": {}, "recipient": {"id": "PAGE"}, "timestamp": 1, "message": {"mid": "m_x"}}
    result = meta.parse(messenger(dm("m_1"), broken, "oops", dm("m_2")), NOW)
    assert [i.external_id for i in result.interactions] == ["m_1", "m_2"]
    assert result.ignored == {"malformed": 2}
    assert result.received == 4


def test_messenger_timestamps_are_milliseconds() -> None:
    (interaction,) = meta.parse(messenger(dm("m_1")), NOW).interactions
    assert interaction.occurred_at == datetime(2025, 11, 22, 12, 0, 0, 123000, tzinfo=UTC)
    assert interaction.received_at == NOW


def test_a_message_without_text_keeps_its_attachment_types() -> None:
    item = dm("m_1")
    item["message"] = {"mid": "m_1", "attachments": [{"type": "image", "payload": {"url": "https://x"}}]}
    (interaction,) = meta.parse(messenger(item), NOW).interactions
    assert (interaction.text, interaction.attachments) == ("", (Attachment("image"),))


def test_whatsapp_system_messages_and_removed_reactions_are_not_queued() -> None:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "PNID"},
        "messages": [
            {"from": "5511999990000", "id": "wamid.1", "timestamp": "1763812800", "type": "system", "system": {}},
            {
                "from": "5511999990000",
                "id": "wamid.2",
                "timestamp": "1763812800",
                "type": "reaction",
                "reaction": {"message_id": "wamid.0", "emoji": ""},
            },
            {
                "from": "5511999990000",
                "id": "wamid.3",
                "timestamp": "1763812800",
                "type": "location",
                "location": {"latitude": 1, "longitude": 2},
            },
        ],
    }
    raw = body(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    result = meta.parse(raw, NOW)
    assert [(i.external_id, i.attachments, i.author and i.author.display_name) for i in result.interactions] == [
        ("wamid.3", (Attachment("location"),), None)
    ]
    assert result.ignored == {"system": 1, "reaction_removed": 1}


def test_x_needs_for_user_id() -> None:
    with pytest.raises(MalformedPayload, match="for_user_id"):
        x.parse(body({"tweet_create_events": []}), NOW)


def test_x_tweet_without_timestamp_ms_uses_created_at() -> None:
    tweet = {
        "id_str": "9",
        "text": "@brand hi",
        "created_at": "Wed Oct 10 20:19:24 +0000 2018",
        "user": {"id_str": "7", "screen_name": "ana", "name": "Ana"},
    }
    (interaction,) = x.parse(body({"for_user_id": "1", "tweet_create_events": [tweet]}), NOW).interactions
    assert interaction.occurred_at == datetime(2018, 10, 10, 20, 19, 24, tzinfo=UTC)


def test_telegram_needs_an_update_id() -> None:
    with pytest.raises(MalformedPayload, match="update_id"):
        telegram.parse(body({"message": {}}), NOW)


@pytest.mark.parametrize("key", ["channel_post", "my_chat_member", "poll"])
def test_telegram_updates_that_are_not_customer_messages_are_acknowledged(key: str) -> None:
    result = telegram.parse(body({"update_id": 1, key: {"id": "1"}}), NOW)
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 1})


def test_trustpilot_needs_events() -> None:
    with pytest.raises(MalformedPayload, match="events"):
        trustpilot.parse(body({"eventName": "service-review-created"}), NOW)


GOOD_EVENT = {
    "id": "e1",
    "author": {"id": "u1", "handle": "ana", "name": "Ana"},
    "text": "Ótimo atendimento",
    "created_at": "2026-11-22T10:00:00-03:00",
    "kind": "review",
    "rating": 4.5,
    "language": "pt-BR",
}


def test_generic_event_is_read_as_documented() -> None:
    (interaction,) = generic.parse(body({"events": [GOOD_EVENT]}), "shopforum", NOW).interactions
    assert interaction.platform == "shopforum"
    assert interaction.occurred_at == datetime(2026, 11, 22, 13, 0, tzinfo=UTC)
    assert (interaction.rating, interaction.language_hint) == (4.5, "pt-BR")
    assert interaction.author == Author(user_id="u1", handle="ana", display_name="Ana")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"id": None}, r"events\[0\].id: expected a string"),
        ({"id": ""}, r"events\[0\].id: must not be empty"),
        ({"id": "x" * 257}, r"events\[0\].id: at most 256"),
        ({"author": "ana"}, r"events\[0\].author: expected an object"),
        ({"author": {"handle": "ana"}}, r"events\[0\].author.id"),
        ({"text": 5}, r"events\[0\].text: expected a string"),
        ({"created_at": "yesterday"}, r"events\[0\].created_at: not an ISO 8601"),
        ({"kind": "tweet"}, r"events\[0\].kind: expected one of"),
        ({"rating": 7}, r"events\[0\].rating: expected a number from 0 to 5"),
        ({"rating": "lots"}, r"events\[0\].rating: expected a number"),
        ({"language": "english please"}, r"events\[0\].language"),
        ({"language": "en\n"}, r"events\[0\].language"),
        ({"action": "edited"}, r"events\[0\].edited_at"),
    ],
)
def test_generic_validation_names_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedPayload, match=message):
        generic.parse(body({"events": [{**GOOD_EVENT, **change}]}), "shopforum", NOW)


# "helpdesk\n": `$` matches before a final newline, so a name checked with it could pose as
# "helpdesk" (which has a secret of its own) under the shared secret.
@pytest.mark.parametrize("source", ["messenger", "x", "a", "Shop", "9shop", "shop forum", "s" * 33, "helpdesk\n"])
def test_generic_source_names_are_checked(source: str) -> None:
    with pytest.raises(MalformedPayload, match="source"):
        generic.check_source(source)


EDGE_DATES = ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "2026-02-30T00:00:00Z", "+002026-01-01"]


@pytest.mark.parametrize("created_at", EDGE_DATES)
def test_generic_dates_at_the_edge_of_the_calendar_are_400_not_500(created_at: str) -> None:
    with pytest.raises(MalformedPayload, match="created_at: not an ISO 8601"):
        generic.parse(body({"events": [{**GOOD_EVENT, "created_at": created_at}]}), "shopforum", NOW)


def _review(**data: Any) -> dict[str, Any]:
    event = {"id": "r1", "stars": 4, "text": "ok", "createdAt": "2026-11-22T10:00:00Z", "consumer": {"id": "c1"}}
    return {"eventName": "service-review-created", "eventData": {**event, **data}}


@pytest.mark.parametrize("created_at", EDGE_DATES)
def test_an_unreadable_review_date_skips_that_review_only(created_at: str) -> None:
    result = trustpilot.parse(body({"events": [_review(id="bad", createdAt=created_at), _review(id="good")]}), NOW)
    assert [i.external_id for i in result.interactions] == ["good"]
    assert result.ignored == {"malformed": 1}
    assert "createdAt" in result.problems[0]


def test_x_tweet_date_beyond_utc_is_malformed_not_a_crash() -> None:
    tweet = {"id_str": "9", "text": "hi", "created_at": "Fri Dec 31 23:59:59 -2359 9999",
             "user": {"id_str": "7"}}  # fmt: skip
    result = x.parse(body({"for_user_id": "1", "tweet_create_events": [tweet]}), NOW)
    assert result.ignored == {"malformed": 1}


@pytest.mark.parametrize("stars", ["NaN", "Infinity", "-Infinity", 7, -1, "1e999", True])
def test_non_finite_or_out_of_range_ratings_are_malformed(stars: Any) -> None:
    result = trustpilot.parse(body({"events": [_review(stars=stars)]}), NOW)
    assert (result.interactions, dict(result.ignored)) == ([], {"malformed": 1})


def test_json_nan_in_a_meta_rating_never_reaches_the_queue() -> None:
    raw = b'{"object":"page","entry":[{"id":"P","changes":[{"field":"ratings","value":{"item":"rating","verb":"add",' \
          b'"rating":NaN,"reviewer_id":"9","open_graph_story_id":"S","created_time":1763812800}}]}]}'  # fmt: skip
    result = meta.parse(raw, NOW)
    assert (result.interactions, dict(result.ignored)) == ([], {"malformed": 1})


@pytest.mark.parametrize("verb", ["hide", "unhide", "block", "unblock", "mute"])
def test_feed_verbs_that_are_not_writing_are_not_queued_as_comments(verb: str) -> None:
    value = {
        "from": {"id": "U"},
        "post_id": "P_1",
        "comment_id": "C",
        "created_time": 1763812800,
        "item": "comment",
        "verb": verb,
    }
    raw = body({"object": "page", "entry": [{"id": "P", "changes": [{"field": "feed", "value": value}]}]})
    result = meta.parse(raw, NOW)
    assert (result.interactions, dict(result.ignored)) == ([], {"unsupported": 1})


def test_x_user_event_without_for_user_id_is_acknowledged() -> None:
    revoke = {"user_event": {"revoke": {"date_time": "2018-05-24T09:48:12+00:00", "target": {"app_id": "13090192"},
              "source": {"user_id": "63046977"}}}}  # fmt: skip
    result = x.parse(body(revoke), NOW)
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 1})


def test_x_customer_events_still_need_for_user_id() -> None:
    with pytest.raises(MalformedPayload, match="for_user_id"):
        x.parse(body({"favorite_events": []}), NOW)


def test_x_tweet_deletions_are_queued_as_deletions() -> None:
    deletions = [
        {"status": {"id": "601430178305220608", "user_id": "3198576760"}, "timestamp_ms": "1432228155593"},
        {"status": {"id": "601430178305220609", "user_id": "1"}, "timestamp_ms": "1432228155594"},
    ]
    result = x.parse(body({"for_user_id": "1", "tweet_delete_events": deletions}), NOW)
    (deleted,) = result.interactions
    assert (deleted.external_id, deleted.action.value, deleted.idempotency_key) == (
        "601430178305220608",
        "deleted",
        "x:601430178305220608:deleted",
    )
    assert result.ignored == {"own": 1}


def test_trustpilot_update_without_updated_at_has_a_stable_key_per_content() -> None:
    def update(text: str) -> bytes:
        return body({"events": [{**_review(text=text), "eventName": "service-review-updated"}]})

    first = trustpilot.parse(update("better now"), NOW).interactions[0]
    again = trustpilot.parse(update("better now"), datetime(2026, 11, 23, tzinfo=UTC)).interactions[0]
    other = trustpilot.parse(update("worse again"), NOW).interactions[0]
    assert first.idempotency_key == again.idempotency_key
    assert first.idempotency_key != other.idempotency_key
    assert first.idempotency_key.startswith("trustpilot:r1:edited:c")


def test_unknown_trustpilot_events_are_reported_by_name() -> None:
    result = trustpilot.parse(body({"events": [{"eventName": "service-review-moved", "eventData": {}}]}), NOW)
    assert result.ignored == {"unknown": 1}
    assert result.problems == ["events[0].eventName: not handled: 'service-review-moved'"]


def test_a_bug_in_one_item_costs_that_item_only(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}
    original = MessagingReader._messaging

    def flaky(self: Any, event: dict[str, Any], path: str, *args: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyError("a customer's words")
        original(self, event, path, *args)

    monkeypatch.setattr(MessagingReader, "_messaging", flaky)
    result = meta.parse(messenger(dm("m_1"), dm("m_2")), NOW)
    assert [i.external_id for i in result.interactions] == ["m_2"]
    assert result.ignored == {"unreadable": 1}
    assert result.problems == ["entry[0].messaging[0]: KeyError"]  # never the message: it may quote the item
    assert result.unread == {"unreadable": 1}


def test_trustpilot_business_unit_is_the_account() -> None:
    result = trustpilot.parse(body({"events": [_review(businessUnitId="bu-1", locationId="loc-9")]}), NOW)
    assert result.interactions[0].account_id == "bu-1"


@pytest.mark.parametrize(
    ("lang", "hint"),
    [("pt", "pt"), ("und", None), ("zxx", None), ("qme", None), ("qht", None), ("in", "id"), ("iw", "he")],
)
def test_x_language_codes_that_name_no_language_are_not_hints(lang: str, hint: str | None) -> None:
    tweet = {"id_str": "9", "text": "#promo", "lang": lang, "timestamp_ms": "1763812800000", "user": {"id_str": "7"}}
    (interaction,) = x.parse(body({"for_user_id": "1", "tweet_create_events": [tweet]}), NOW).interactions
    assert interaction.language_hint == hint


def own_tweet(tweet_id: str, reply_to: str | None, reply_to_user: str | None) -> dict[str, Any]:
    return {
        "id_str": tweet_id,
        "created_at": "Sun Nov 22 12:00:00 +0000 2026",
        "text": "@someone thanks, we are on it",
        "user": {"id_str": "1", "screen_name": "brand"},
        "in_reply_to_status_id_str": reply_to,
        "in_reply_to_user_id_str": reply_to_user,
    }


def test_x_brand_replies_to_customers_are_outbound_and_its_own_posts_and_threads_are_skipped() -> None:
    tweets = [own_tweet("10", "9", "77"), own_tweet("11", None, None), own_tweet("12", "10", "1")]
    result = x.parse(body({"for_user_id": "1", "tweet_create_events": tweets}), NOW)
    (reply,) = result.interactions
    assert reply.author is not None
    assert (reply.direction.value, reply.recipient_id, reply.parent_id, reply.author.user_id) == (
        "outbound",
        "77",
        "9",
        "1",
    )
    assert result.ignored == {"own": 2}


def test_x_brand_direct_messages_are_outbound_to_their_recipient() -> None:
    def event(event_id: str, target: dict[str, str] | None) -> dict[str, Any]:
        create: dict[str, Any] = {"sender_id": "1", "message_data": {"text": "Hi!"}}
        if target is not None:
            create["target"] = target
        return {
            "type": "message_create",
            "id": event_id,
            "created_timestamp": "1763812800000",
            "message_create": create,
        }

    document = {"for_user_id": "1", "direct_message_events": [event("20", {"recipient_id": "77"}), event("21", None)]}
    result = x.parse(body(document), NOW)
    (sent,) = result.interactions
    assert (sent.direction.value, sent.recipient_id, sent.thread_id, sent.text) == ("outbound", "77", "77", "Hi!")
    assert result.ignored == {"own": 1}


def test_messenger_echo_is_the_page_answering_the_customer_it_was_sent_to() -> None:
    echo = {
        "sender": {"id": "PAGE"},
        "recipient": {"id": "PSID"},
        "timestamp": 1763812800123,
        "message": {"mid": "m_echo", "is_echo": True, "app_id": 1, "text": "We're sorry!"},
    }
    result = meta.parse(messenger(echo, dm("m_customer")), NOW)
    by_id = {i.external_id: i for i in result.interactions}
    assert (by_id["m_echo"].direction.value, by_id["m_echo"].recipient_id, by_id["m_echo"].thread_id) == (
        "outbound",
        "PSID",
        "PSID",
    )
    assert by_id["m_customer"].direction.value == "inbound"
    assert by_id["m_customer"].recipient_id is None


def test_whatsapp_only_sent_statuses_with_a_recipient_are_outbound() -> None:
    """A `sent` status is the brand's reply (WhatsApp echoes nothing else); the others are queued
    as what became of a message the brand sent, for the replies socialcrm sent to move forward."""
    statuses = [
        {"id": "wamid.S", "status": "sent", "timestamp": "1763812800", "recipient_id": "5511"},
        {"id": "wamid.S", "status": "delivered", "timestamp": "1763812801", "recipient_id": "5511"},
        {"id": "wamid.F", "status": "failed", "timestamp": "1763812802", "recipient_id": "5511"},
    ]
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "PN"}, "statuses": statuses}
    raw = body(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "W", "changes": [{"field": "messages", "value": value}]}],
        }
    )
    result = meta.parse(raw, NOW)
    (sent,) = result.interactions
    assert (sent.external_id, sent.direction.value, sent.recipient_id, sent.account_id) == (
        "wamid.S",
        "outbound",
        "5511",
        "PN",
    )
    assert result.ignored == {}
    assert [(s.platform_message_id, s.state.value, s.recipient_id) for s in result.statuses] == [
        ("wamid.S", "delivered", "5511"),
        ("wamid.F", "failed", "5511"),
    ]
    assert result.statuses[1].error is not None
    assert result.statuses[1].error.code == "failed"
