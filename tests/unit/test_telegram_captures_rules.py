"""Telegram rules the captures in tests/data/captures/telegram do not show. No real capture of a
Business update exists in public material, so those updates are written here in the shape the Bot
API documents (Update.business_connection, business_message, edited_business_message,
deleted_business_messages; Message.business_connection_id and sender_business_bot)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels import telegram
from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Action, Attachment, Author, Direction, Kind

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
DATE = 1763812800  # 2025-11-22T12:00:00Z
CONNECTION = "AbCdEf0123456789_business"
CUSTOMER = {"id": 6100000001, "is_bot": False, "first_name": "Zofia", "username": "zofia_demo", "language_code": "pl"}
CUSTOMER_CHAT = {"id": 6100000001, "first_name": "Zofia", "username": "zofia_demo", "type": "private"}
OWNER = {"id": 7200000001, "is_bot": False, "first_name": "Acme", "last_name": "Café", "username": "acmecafe"}
GROUP = {"id": -1001500000001, "title": "Acme Café community", "type": "supergroup"}


def parse(update: dict[str, Any]) -> ParseResult:
    return telegram.parse(json.dumps({"update_id": 874500100, **update}).encode(), NOW)


def message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 1207, "from": CUSTOMER, "chat": CUSTOMER_CHAT, "date": DATE, **fields}


def group_message(**fields: Any) -> dict[str, Any]:
    return {"message_id": 77, "from": CUSTOMER, "chat": GROUP, "date": DATE, **fields}


def business(**fields: Any) -> dict[str, Any]:
    return {"business_connection_id": CONNECTION, **message(**fields)}


# Business accounts


def test_a_business_connection_is_not_an_interaction() -> None:
    connection = {
        "id": CONNECTION,
        "user": OWNER,
        "user_chat_id": 7200000001,
        "date": DATE,
        "can_reply": True,
        "is_enabled": True,
    }
    result = parse({"business_connection": connection})
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 1})


def test_a_customer_writing_to_a_business_account_is_inbound_to_that_account() -> None:
    (got,) = parse({"business_message": business(text="Gdzie jest moje zamówienie?")}).interactions
    assert (got.direction, got.kind, got.action) == (Direction.INBOUND, Kind.MESSAGE, Action.CREATED)
    assert (got.external_id, got.account_id, got.thread_id, got.recipient_id) == (
        "6100000001:1207",
        CONNECTION,
        "6100000001",
        None,
    )
    assert got.author == Author("6100000001", "zofia_demo", "Zofia")
    assert got.text == "Gdzie jest moje zamówienie?"


def test_the_business_owner_writing_in_the_chat_is_the_brand_answering_its_customer() -> None:
    (got,) = parse({"business_message": business(**{"from": OWNER}, text="Już sprawdzamy!")}).interactions
    assert got.direction is Direction.OUTBOUND
    assert (got.account_id, got.thread_id, got.recipient_id) == (CONNECTION, "6100000001", "6100000001")
    assert got.author == Author("7200000001", "acmecafe", "Acme Café")


def test_a_message_the_business_bot_sent_for_the_owner_is_outbound() -> None:
    bot = {"id": 7000000001, "is_bot": True, "first_name": "Acme Café Demo", "username": "acmecafe_demo_bot"}
    update = {"business_message": business(**{"from": OWNER, "sender_business_bot": bot}, text="Dzień dobry!")}
    (got,) = parse(update).interactions
    assert (got.direction, got.recipient_id, got.author and got.author.user_id) == (
        Direction.OUTBOUND,
        "6100000001",
        "7200000001",
    )


def test_an_edited_business_message_is_an_edit_of_the_same_message() -> None:
    update = {"edited_business_message": business(text="Gdzie jest moje zamówienie A-1042?", edit_date=DATE + 60)}
    (got,) = parse(update).interactions
    assert (got.action, got.external_id, got.account_id) == (Action.EDITED, "6100000001:1207", CONNECTION)
    assert got.edited_at == datetime(2025, 11, 22, 12, 1, tzinfo=UTC)
    assert got.idempotency_key == "telegram:6100000001:1207:edited:1763812860000"


def test_deleted_business_messages_are_one_deletion_each_at_arrival() -> None:
    update = {
        "deleted_business_messages": {
            "business_connection_id": CONNECTION,
            "chat": CUSTOMER_CHAT,
            "message_ids": [1207, 1208],
        }
    }
    result = parse(update)
    assert [i.idempotency_key for i in result.interactions] == [
        "telegram:6100000001:1207:deleted",
        "telegram:6100000001:1208:deleted",
    ]
    for got in result.interactions:
        assert (got.action, got.account_id, got.thread_id, got.text) == (
            Action.DELETED,
            CONNECTION,
            "6100000001",
            "",
        )
        assert got.author == Author("6100000001", "zofia_demo", "Zofia")
        assert got.occurred_at == NOW  # Telegram says nothing of when
    assert result.ignored == {}


def test_a_deletion_list_with_a_bad_id_keeps_the_others() -> None:
    update = {
        "deleted_business_messages": {
            "business_connection_id": CONNECTION,
            "chat": CUSTOMER_CHAT,
            "message_ids": [1, {}],
        }
    }
    result = parse(update)
    assert [i.external_id for i in result.interactions] == ["6100000001:1"]
    assert result.ignored == {"malformed": 1}


# Who wrote it


@pytest.mark.parametrize("key", ["channel_post", "edited_channel_post"])
def test_channel_posts_are_broadcasts_not_customers(key: str) -> None:
    channel = {"id": -1002000000001, "title": "Acme Café news", "type": "channel"}
    post = {"message_id": 6, "sender_chat": channel, "chat": channel, "date": DATE, "text": "Nowe menu!"}
    result = parse({key: post})
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 1})


def test_a_channel_post_copied_into_its_discussion_group_is_not_a_customer() -> None:
    channel = {"id": -1002000000001, "title": "Acme Café news", "type": "channel"}
    channel_bot = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
    copied = group_message(**{"from": channel_bot}, sender_chat=channel, is_automatic_forward=True, text="Nowe menu!")
    result = parse({"message": copied})
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 1})


def test_someone_posting_as_their_channel_in_a_group_is_that_channel() -> None:
    theirs = {"id": -1002000000002, "title": "Zofia bakes", "username": "zofia_bakes", "type": "channel"}
    channel_bot = {"id": 136817688, "is_bot": True, "first_name": "Channel", "username": "Channel_Bot"}
    (got,) = parse({"message": group_message(**{"from": channel_bot}, sender_chat=theirs, text="Pyszne!")}).interactions
    assert got.author == Author("-1002000000002", "zofia_bakes", "Zofia bakes")


def test_an_anonymous_admin_without_sender_chat_speaks_as_the_group() -> None:
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group", "username": "GroupAnonymousBot"}
    (got,) = parse({"message": group_message(**{"from": anonymous}, text="hello")}).interactions
    assert got.author == Author("-1001500000001", None, "Acme Café community")


def test_other_bots_are_skipped() -> None:
    bot = {"id": 7100000009, "is_bot": True, "first_name": "Tracker", "username": "tracker_bot"}
    result = parse({"message": group_message(**{"from": bot}, text="/status")})
    assert (result.interactions, dict(result.ignored)) == ([], {"bot": 1})


def test_a_message_sent_through_an_inline_bot_is_the_person_s() -> None:
    via = {"id": 7100000010, "is_bot": True, "first_name": "GIF", "username": "gif"}
    animation = {"file_id": "CgACAgQAAxkBAAIBANIM", "file_unique_id": "AgADANIM", "width": 320, "height": 240,
                 "duration": 3}  # fmt: skip
    document = {"file_id": "CgACAgQAAxkBAAIBANIM", "file_unique_id": "AgADANIM", "mime_type": "video/mp4"}
    update = {"message": message(via_bot=via, animation=animation, document=document)}
    (got,) = parse(update).interactions
    assert got.author == Author("6100000001", "zofia_demo", "Zofia")
    # Telegram repeats an animation as a document for older clients: it is one attachment.
    assert got.attachments == (Attachment("animation", "CgACAgQAAxkBAAIBANIM"),)


def test_a_message_without_any_sender_is_malformed() -> None:
    result = parse({"message": {"message_id": 1, "chat": GROUP, "date": DATE, "text": "?"}})
    assert result.ignored == {"malformed": 1}


# Replies and content


def test_a_reply_to_a_message_in_another_chat_answers_that_message_and_the_quote_is_not_kept() -> None:
    external = {
        "origin": {"type": "channel", "chat": {"id": -1002000000001, "type": "channel"}, "message_id": 6, "date": DATE},
        "chat": {"id": -1002000000001, "title": "Acme Café news", "type": "channel"},
        "message_id": 6,
    }
    quote = {"text": "Nowe menu", "position": 0}
    (got,) = parse({"message": message(external_reply=external, quote=quote, text="Kiedy?")}).interactions
    assert (got.parent_id, got.text) == ("-1002000000001:6", "Kiedy?")


def test_a_reply_to_a_story_answers_the_story() -> None:
    story = {"chat": {"id": 7200000001, "type": "private", "first_name": "Acme"}, "id": 12}
    (got,) = parse({"message": message(reply_to_story=story, text="Piękne!")}).interactions
    assert got.parent_id == "7200000001:story:12"


def test_a_venue_is_one_attachment_and_a_contact_card_is_not_copied_into_the_text() -> None:
    location = {"latitude": 52.2297, "longitude": 21.0122}
    venue = {"location": location, "title": "Acme Café", "address": "ul. Przykładowa 1"}
    contact = {"phone_number": "+48600000000", "first_name": "Ola", "vcard": "BEGIN:VCARD\nTEL:+48600000000"}
    (place,) = parse({"message": message(venue=venue, location=location)}).interactions
    (card,) = parse({"message": message(contact=contact)}).interactions
    assert place.attachments == (Attachment("venue"),)
    assert (card.text, card.attachments) == ("", (Attachment("contact"),))


def test_a_message_with_no_content_we_know_is_unknown() -> None:
    result = parse({"message": message(hologram={"id": "h1"})})
    assert (result.interactions, dict(result.ignored)) == ([], {"unknown": 1})


def test_an_update_type_we_do_not_know_is_unknown_and_named_in_the_problems() -> None:
    result = parse({"teleport_request": {"id": "1"}})
    assert (result.interactions, dict(result.ignored)) == ([], {"unknown": 1})
    assert result.problems == ["update: an update type we do not know: 'teleport_request'"]
    assert result.unread == {"unknown": 1}


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("chat_member", "not_an_interaction"),
        ("chat_join_request", "not_an_interaction"),
        ("chosen_inline_result", "not_an_interaction"),
        ("pre_checkout_query", "not_an_interaction"),
        ("poll_answer", "unsupported"),
    ],
)
def test_known_updates_that_are_not_queued_say_why(key: str, reason: str) -> None:
    result = parse({key: {"id": "1"}})
    assert (result.interactions, dict(result.ignored)) == ([], {reason: 1})


def test_an_edit_replacing_the_photo_is_an_edit_though_it_has_no_words() -> None:
    photo = [{"file_id": "small", "width": 90, "height": 90}, {"file_id": "large", "width": 800, "height": 800}]
    (got,) = parse({"edited_message": message(photo=photo, edit_date=DATE + 5)}).interactions
    assert (got.action, got.attachments) == (Action.EDITED, (Attachment("photo", "large"),))


def test_an_edit_without_edit_date_still_gets_a_key_per_content() -> None:
    first = parse({"edited_message": message(text="one")}).interactions[0]
    second = parse({"edited_message": message(text="two")}).interactions[0]
    assert first.action is Action.EDITED
    assert first.edited_at is None
    assert first.idempotency_key.startswith("telegram:6100000001:1207:edited:c")
    assert first.idempotency_key != second.idempotency_key


def test_ids_beyond_two_to_the_53_keep_their_digits() -> None:
    big = 2**53 + 1
    update = {"message": message(**{"from": {**CUSTOMER, "id": big}}, chat={"id": -(10**15) - 1, "type": "group"})}
    (got,) = parse({**update, "message": {**update["message"], "message_id": big, "text": "hi"}}).interactions
    assert got.external_id == f"-1000000000000001:{big}"
    assert got.author is not None
    assert got.author.user_id == str(big)


# Buttons and reactions


def test_a_pressed_button_is_its_text_when_the_keyboard_shows_which() -> None:
    keyboard = [[{"text": "Track my order", "callback_data": "track"}, {"text": "Talk to us", "callback_data": "talk"}]]
    bot_message = {
        "message_id": 1205,
        "from": {"id": 7000000001, "is_bot": True, "first_name": "Acme"},
        "chat": CUSTOMER_CHAT,
        "date": DATE,
        "text": "How can we help?",
        "reply_markup": {"inline_keyboard": keyboard},
    }
    query = {"id": "4382bf0000000001", "from": CUSTOMER, "message": bot_message, "chat_instance": "-1", "data": "talk"}
    (got,) = parse({"callback_query": query}).interactions
    assert (got.kind, got.external_id, got.parent_id, got.thread_id, got.text) == (
        Kind.MESSAGE,
        "callback:4382bf0000000001",
        "6100000001:1205",
        "6100000001",
        "Talk to us",
    )
    assert got.occurred_at == NOW  # a callback carries no time of its own


def test_a_button_on_a_message_too_old_to_show_is_its_data() -> None:
    inaccessible = {"chat": CUSTOMER_CHAT, "message_id": 1100, "date": 0}
    query = {"id": "4382bf0000000002", "from": CUSTOMER, "message": inaccessible, "chat_instance": "-1", "data": "talk"}
    (got,) = parse({"callback_query": query}).interactions
    assert (got.parent_id, got.text) == ("6100000001:1100", "talk")


def test_a_changed_reaction_queues_the_new_one_and_counts_the_old_one_removed() -> None:
    update = {
        "chat": GROUP,
        "message_id": 35,
        "user": CUSTOMER,
        "date": DATE,
        "old_reaction": [{"type": "emoji", "emoji": "👍"}],
        "new_reaction": [{"type": "custom_emoji", "custom_emoji_id": "5368324170671202286"}, {"type": "paid"}],
    }
    result = parse({"message_reaction": update})
    assert [(i.kind, i.reaction, i.parent_id) for i in result.interactions] == [
        (Kind.REACTION, "custom_emoji:5368324170671202286", "-1001500000001:35"),
        (Kind.REACTION, "paid", "-1001500000001:35"),
    ]
    assert result.ignored == {"reaction_removed": 1}
