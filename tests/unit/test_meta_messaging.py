"""Messenger and Instagram Direct rules the captures (tests/data/captures) do not show: odd types,
missing times, the brand's own items, kinds of event we have never seen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from chalicelib.channels import meta
from chalicelib.channels.base import ParseResult
from chalicelib.channels.meta.messaging import MessagingReader
from chalicelib.models.interaction import Attachment, Direction

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAGE = "104000000000001"


def deliver(*items: Any, kind: str = "page", key: str = "messaging") -> ParseResult:
    document = {"object": kind, "entry": [{"id": PAGE, "time": 1763812800500, key: list(items)}]}
    return meta.parse(json.dumps(document).encode(), NOW)


def item(**event: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"sender": {"id": "PSID"}, "recipient": {"id": PAGE}, "timestamp": 1763812800123}
    base.update(event)
    return base


def test_ids_given_as_numbers_keep_every_digit() -> None:
    big = 2**53 + 1
    result = deliver(item(sender={"id": big}, message={"mid": "m_1", "text": "hi"}))
    (interaction,) = result.interactions
    assert interaction.author is not None
    assert interaction.author.user_id == interaction.thread_id == str(big) == "9007199254740993"


@pytest.mark.parametrize("timestamp", [None, "soon", {"ms": 1}, 0, 233445667])
def test_a_message_without_a_true_time_is_kept_at_the_time_it_arrived(timestamp: Any) -> None:
    event = item(message={"mid": "m_1", "text": "hi"})
    if timestamp is None:
        del event["timestamp"]
    else:
        event["timestamp"] = timestamp
    (interaction,) = deliver(event).interactions
    assert interaction.occurred_at == NOW


def test_the_dashboard_test_format_stamps_seconds_as_a_string() -> None:
    (interaction,) = deliver(item(timestamp="1527459824", message={"mid": "m_1", "text": "hi"})).interactions
    assert interaction.occurred_at == datetime(2018, 5, 27, 22, 23, 44, tzinfo=UTC)


def test_fields_of_an_unexpected_type_never_cost_the_customer_message() -> None:
    message = {"mid": "m_1", "text": {"oops": 1}, "attachments": {"type": "image", "payload": None}}
    (interaction,) = deliver(item(message=message)).interactions
    assert (interaction.text, interaction.attachments) == ("", (Attachment("image"),))
    message = {"mid": "m_2", "text": "hi", "attachments": "image", "reply_to": "m_0"}
    (interaction,) = deliver(item(message=message)).interactions
    assert (interaction.text, interaction.attachments, interaction.parent_id) == ("hi", (), None)


def test_a_message_needs_its_id_and_its_sender() -> None:
    result = deliver(item(message={"text": "hi"}), item(sender={}, message={"mid": "m_1"}), item(message="hi"))
    assert result.interactions == []
    assert result.ignored == {"malformed": 3}
    assert all(problem.startswith("entry[0].messaging[") for problem in result.problems)


def test_a_sticker_named_only_on_the_message_is_still_a_sticker() -> None:
    (interaction,) = deliver(item(message={"mid": "m_1", "sticker_id": 369239263222822})).interactions
    assert interaction.attachments == (Attachment("sticker", "369239263222822"),)


def test_an_unsupported_message_with_attachments_keeps_them() -> None:
    message = {"mid": "m_1", "is_unsupported": True, "attachments": [{"type": "video", "payload": {"id": 7}}]}
    (interaction,) = deliver(item(message=message), kind="instagram").interactions
    assert interaction.attachments == (Attachment("video", "7"),)


def test_the_brands_own_reactions_edits_and_button_presses_are_own() -> None:
    page = {"id": PAGE}
    customer = {"id": "PSID"}
    result = deliver(
        item(sender=page, recipient=customer, reaction={"mid": "m_1", "action": "react", "reaction": "love"}),
        item(sender=page, recipient=customer, message_edit={"mid": "m_2", "text": "typo fixed"}),
        item(sender=page, recipient=customer, postback={"title": "Start"}),
    )
    assert result.interactions == []
    assert result.ignored == {"own": 3}


def test_a_chat_plugin_guest_is_their_user_ref_never_taken_for_a_psid() -> None:
    guest = {"user_ref": "ref-42"}
    result = deliver(
        item(sender=guest, message={"mid": "m_in", "text": "hello"}),
        item(sender={"id": PAGE}, recipient=guest, message={"mid": "m_out", "is_echo": True, "text": "hi!"}),
    )
    by_id = {i.external_id: i for i in result.interactions}
    assert by_id["m_in"].author is not None
    assert by_id["m_in"].author.user_id == by_id["m_in"].thread_id == "user_ref:ref-42"
    assert (by_id["m_out"].direction, by_id["m_out"].recipient_id) == (Direction.OUTBOUND, "user_ref:ref-42")


def test_an_echo_naming_no_customer_answers_nobody() -> None:
    echo = {"sender": {"id": PAGE}, "timestamp": 1763812800123, "message": {"mid": "m_1", "is_echo": True}}
    result = deliver(echo)
    assert (result.interactions, result.ignored) == ([], {"echo": 1})


def test_known_events_without_customer_words_and_unknown_ones_are_told_apart() -> None:
    result = deliver(
        item(pass_thread_control={"new_owner_app_id": "1"}),
        item(policy_enforcement={"action": "block"}),
        item(messaging_feedback={"feedback_screens": []}),
    )
    assert result.ignored == {"not_an_interaction": 2, "unknown": 1}
    assert result.problems == ["entry[0].messaging[2]: an event of a kind not known"]
    assert result.unread == {"unknown": 1}


def test_standby_items_are_read_as_messaging_items() -> None:
    (interaction,) = deliver(item(message={"mid": "m_1", "text": "hi"}), key="standby").interactions
    assert (interaction.platform, interaction.account_id) == ("messenger", PAGE)


def test_a_messaging_change_is_read_as_its_messaging_item() -> None:
    result = ParseResult()
    reader = MessagingReader(NOW, result)
    message = {"field": "messages", "value": item(message={"mid": "m_1", "text": "hi"})}
    reader._messaging_change(message, "entry[0].changes[0]", "instagram", "0")
    reader._messaging_change({"field": "messages", "value": {"page_id": "1"}}, "entry[0].changes[1]", "messenger", "0")
    (interaction,) = result.interactions
    assert (interaction.platform, interaction.external_id, interaction.account_id) == ("instagram", "m_1", PAGE)
    assert result.ignored == {"not_an_interaction": 1}


def test_a_reaction_redelivered_keeps_its_key() -> None:
    reaction = item(reaction={"mid": "m_1", "action": "react", "emoji": "\u2764\ufe0f"})
    first = deliver(reaction).interactions[0]
    again = meta.parse(
        json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [reaction]}]}).encode(),
        datetime(2026, 11, 23, tzinfo=UTC),
    ).interactions[0]
    assert first.idempotency_key == again.idempotency_key
    assert first.reaction == "\u2764\ufe0f"
