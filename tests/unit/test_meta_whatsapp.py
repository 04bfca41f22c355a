"""WhatsApp Cloud API rules the captures do not pin down: change fields, group statuses, echoes,
senders known only by business-scoped id, big numeric ids, and what problem details may say."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.channels import meta
from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Action, Attachment, Author, Direction

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
METADATA = {"display_phone_number": "+1 555-000-0100", "phone_number_id": "PNID"}


def deliver(*changes: dict[str, Any]) -> ParseResult:
    body = {"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": list(changes)}]}
    return meta.parse(json.dumps(body).encode(), NOW)


def messages(*items: dict[str, Any], contacts: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": METADATA, "messages": list(items), **extra}
    if contacts is not None:
        value["contacts"] = contacts
    return {"field": "messages", "value": value}


def text(message_id: str, body: str = "hi", **sender: Any) -> dict[str, Any]:
    sender = sender or {"from": "5511999990000"}
    return {**sender, "id": message_id, "timestamp": "1763812800", "type": "text", "text": {"body": body}}


def echoes(*items: dict[str, Any]) -> dict[str, Any]:
    value = {"messaging_product": "whatsapp", "metadata": METADATA, "message_echoes": list(items)}
    return {"field": "smb_message_echoes", "value": value}


def test_an_unknown_change_field_is_kept_for_replay_and_named_in_the_problems() -> None:
    result = deliver({"field": "history", "value": {"history": [{"threads": []}]}})
    assert (result.interactions, dict(result.ignored)) == ([], {"unknown": 1})
    assert result.problems == ["entry[0].changes[0].field: not handled: 'history'"]


def test_documented_account_fields_are_not_interactions() -> None:
    result = deliver(
        {"field": "account_update", "value": {"event": "VERIFIED_ACCOUNT"}},
        {"field": "message_template_status_update", "value": {"event": "APPROVED"}},
        {"field": "phone_number_quality_update", "value": {"event": "FLAGGED"}},
    )
    assert (result.interactions, dict(result.ignored)) == ([], {"not_an_interaction": 3})


def test_a_field_that_is_not_a_name_is_malformed_not_a_crash() -> None:
    result = deliver({"field": ["messages"], "value": {}}, messages(text("wamid.ok")))
    assert [i.external_id for i in result.interactions] == ["wamid.ok"]
    assert dict(result.ignored) == {"malformed": 1}


def test_a_sent_status_to_a_group_is_the_brands_own_post() -> None:
    statuses = [
        {"id": "wamid.G", "status": "sent", "timestamp": "1763812800", "recipient_id": "120363418770915618@g.us"},
        {
            "id": "wamid.H",
            "status": "sent",
            "timestamp": "1763812800",
            "recipient_id": "1203",
            "recipient_type": "group",
        },
    ]
    result = deliver({"field": "messages", "value": {"metadata": METADATA, "statuses": statuses}})
    assert (result.interactions, dict(result.ignored)) == ([], {"own": 2})


def test_a_template_the_business_sent_first_answers_nobody() -> None:
    """A campaign, an order update or a login code is no reply: counted as one, every recipient
    would become a customer and a marketing blast would mark open complaints answered."""

    def sent(wamid: str, pricing: str | None = None, origin: str | None = None) -> dict[str, Any]:
        status: dict[str, Any] = {"id": wamid, "status": "sent", "timestamp": "1763812800", "recipient_id": "5511"}
        if pricing:
            status["pricing"] = {"billable": True, "pricing_model": "PMP", "category": pricing}
        if origin:
            status["conversation"] = {"id": "c1", "origin": {"type": origin}}
        return status

    statuses = [
        sent("wamid.M", pricing="marketing"),
        sent("wamid.U", pricing="utility", origin="utility"),
        sent("wamid.A", pricing="authentication"),
        sent("wamid.B", origin="business_initiated"),  # the older, conversation-based categories
        sent("wamid.S", pricing="service", origin="service"),
        sent("wamid.I", origin="user_initiated"),
        sent("wamid.N"),  # no category at all: a reply, as before
    ]
    result = deliver({"field": "messages", "value": {"metadata": METADATA, "statuses": statuses}})
    assert [i.external_id for i in result.interactions] == ["wamid.S", "wamid.I", "wamid.N"]
    assert dict(result.ignored) == {"template": 4}


def test_a_sent_status_to_a_business_scoped_user_answers_that_user() -> None:
    status = {"id": "wamid.S", "status": "sent", "timestamp": 1763812800, "recipient_user_id": "US.1349"}
    (sent,) = deliver({"field": "messages", "value": {"metadata": METADATA, "statuses": [status]}}).interactions
    assert (sent.direction, sent.recipient_id, sent.thread_id, sent.author) == (
        Direction.OUTBOUND,
        "US.1349",
        "US.1349",
        Author("PNID"),
    )


def test_the_phone_number_is_the_identity_while_there_is_one_and_the_username_the_handle() -> None:
    contact = {"profile": {"name": "Ana", "username": "@ana.g"}, "wa_id": "5511999990000", "user_id": "BR.77"}
    with_phone = text("wamid.1", **{"from": "5511999990000", "from_user_id": "BR.77"})
    without = text("wamid.2", **{"from_user_id": "BR.77"})
    result = deliver(messages(with_phone, contacts=[contact]), messages(without, contacts=[{**contact, "wa_id": None}]))
    first, second = result.interactions
    assert first.author == Author("5511999990000", handle="ana.g", display_name="Ana")
    assert second.author == Author("BR.77", handle="ana.g", display_name="Ana")
    assert (first.thread_id, second.thread_id) == ("5511999990000", "BR.77")


def test_a_message_without_a_sender_needs_exactly_one_contact_to_be_from() -> None:
    nobody = {"id": "wamid.x", "timestamp": "1763812800", "type": "contacts", "contacts": [{"vcard": "BEGIN:VCARD"}]}
    two = [{"wa_id": "1"}, {"wa_id": "2"}]
    result = deliver(messages(nobody, text("wamid.ok"), contacts=two))
    assert [i.external_id for i in result.interactions] == ["wamid.ok"]
    assert dict(result.ignored) == {"malformed": 1}
    assert result.problems == [
        "entry[0].changes[0].value.messages[0]: no sender (from, from_user_id) and not one contact to take it from"
    ]


def test_ids_given_as_big_json_numbers_keep_their_digits() -> None:
    big = 2**60 + 1
    image = {"from": big, "id": "wamid.i", "timestamp": 1763812800, "type": "image", "image": {"id": big}}
    (interaction,) = deliver(messages(image, contacts=[{"wa_id": big, "profile": {"name": "Big"}}])).interactions
    assert interaction.author == Author(str(big), display_name="Big")
    assert interaction.attachments == (Attachment("image", str(big)),)


def test_a_welcome_request_carries_nothing_written() -> None:
    welcome = {"from": "5511999990000", "id": "wamid.w", "timestamp": "1763812800", "type": "request_welcome"}
    assert dict(deliver(messages(welcome)).ignored) == {"not_an_interaction": 1}


def test_an_unknown_message_type_is_still_the_customers_message() -> None:
    poll = {"from": "5511999990000", "id": "wamid.p", "timestamp": "1763812800", "type": "poll", "poll": {}}
    (interaction,) = deliver(messages(poll)).interactions
    assert (interaction.text, interaction.attachments) == ("", (Attachment("poll"),))


def test_edits_and_revokes_get_their_own_keys_under_the_original_id() -> None:
    original = text("wamid.o", "first")
    edit = {
        "from": "5511999990000",
        "id": "wamid.e",
        "timestamp": "1763812860",
        "type": "edit",
        "edit": {"original_message_id": "wamid.o", "message": {"type": "text", "text": {"body": "second"}}},
    }
    revoke = {
        "from": "5511999990000",
        "id": "wamid.r",
        "timestamp": "1763812920",
        "type": "revoke",
        "revoke": {"original_message_id": "wamid.o"},
    }
    created, edited, deleted = deliver(messages(original, edit, revoke)).interactions
    assert [(i.external_id, i.action, i.text) for i in (created, edited, deleted)] == [
        ("wamid.o", Action.CREATED, "first"),
        ("wamid.o", Action.EDITED, "second"),
        ("wamid.o", Action.DELETED, ""),
    ]
    assert [i.idempotency_key for i in (created, edited, deleted)] == [
        "whatsapp:wamid.o",
        "whatsapp:wamid.o:edited:1763812860000",
        "whatsapp:wamid.o:deleted",
    ]


def test_a_business_app_message_answers_the_customer_it_went_to() -> None:
    sent = {
        "from": "15550000100",
        "to": "5511999990000",
        "id": "wamid.b",
        "timestamp": "1763812800",
        "type": "text",
        "text": {"body": "We are on it"},
    }
    (reply,) = deliver(echoes(sent)).interactions
    assert (reply.direction, reply.recipient_id, reply.thread_id, reply.author, reply.text) == (
        Direction.OUTBOUND,
        "5511999990000",
        "5511999990000",
        Author("PNID"),
        "We are on it",
    )


def test_the_business_never_becomes_its_own_customer_in_an_echo() -> None:
    to_self = {"from": "15550000100", "to": "15550000100", "id": "wamid.s", "timestamp": "1", "type": "text"}
    nobody = {"from": "15550000100", "id": "wamid.n", "timestamp": "1", "type": "text"}
    reaction = {"from": "15550000100", "to": "5511999990000", "id": "wamid.r", "timestamp": "1", "type": "reaction"}
    result = deliver(echoes(to_self, nobody, reaction))
    assert (result.interactions, dict(result.ignored)) == ([], {"echo": 2, "own": 1})


def test_problem_details_never_quote_what_was_written() -> None:
    secret = "my card is 4111 1111 1111 1111"
    broken = {"from": "5511999990000", "timestamp": "1763812800", "type": "text", "text": {"body": secret}}
    odd = {"from": "5511999990000", "id": "wamid.t", "timestamp": "1763812800", "type": "text", "text": {"body": {}}}
    result = deliver(messages(broken, odd))
    assert dict(result.ignored) == {"malformed": 2}
    assert len(result.problems) == 2
    assert not any("4111" in problem for problem in result.problems)


def test_a_failed_status_whose_error_code_is_not_a_number_is_read_not_crashed_on() -> None:
    """Found by the signed-garbage fuzz test: `"code": []` made the code a list, which the
    classification looked up in a set and raised (counted as unreadable, our bug)."""

    def failed(code: Any) -> dict[str, Any]:
        status: dict[str, Any] = {
            "id": "wamid.F",
            "status": "failed",
            "timestamp": "1763812800",
            "recipient_id": "5511999990000",
        }
        status["errors"] = [{"code": code, "title": "Re-engagement message"}]
        return {"field": "messages", "value": {"metadata": METADATA, "statuses": [status]}}

    for code, named in (([], "failed"), ({"x": 1}, "failed"), ("131047", "131047"), (131047, "131047")):
        result = deliver(failed(code))
        assert "unreadable" not in result.ignored, code
        (status,) = result.statuses
        assert status.error is not None
        assert status.error.code == named
