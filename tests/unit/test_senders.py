"""Each platform's sender against the platform's documented request and answers: method, URL,
headers and JSON body; success bodies to the platform's message id; each documented error to its
class (permanent, retry, reauth) with its wait. Garbage answers never raise."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.channels import generic
from chalicelib.channels.base import MalformedPayload
from chalicelib.channels.generic.send import GenericSender
from chalicelib.channels.meta.send import FacebookSender, InstagramSender, MessengerSender, WhatsAppSender
from chalicelib.channels.outbound import (
    Answer,
    Credentials,
    MissingCredentials,
    OutboundRequest,
    SendOutcome,
    Unsendable,
    retry_after,
)
from chalicelib.channels.senders import GENERIC, SENDERS, sender_for
from chalicelib.channels.telegram.send import TelegramSender, message_id
from chalicelib.channels.trustpilot.send import TrustpilotSender
from chalicelib.channels.x.send import XSender, oauth1_header, oauth1_signature
from chalicelib.models.interaction import BUILTIN_PLATFORMS
from chalicelib.models.reply import ErrorClass, Reply, Target, Template, Visibility

GRAPH = "https://graph.facebook.com/v21.0"
NOW = 1_700_000_000.0
CREATED = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

SECRETS: dict[str, Any] = {
    "meta_page_tokens": {"PAGE": "page-token", "IGACC": "ig-token"},
    "whatsapp_tokens": {"PNID": "wa-token"},
    "telegram_bot_token": "123456:bot-token",
    "x_user_credentials": {
        "XUSER": {"consumer_key": "ck", "consumer_secret": "cs", "access_token": "at", "access_token_secret": "ats"}
    },
    "trustpilot_clients": {"UNIT": {"client_id": "cid", "client_secret": "csecret", "business_user_id": "BUSER"}},
    "_trustpilot_access_token": "tp-token",
    "generic_outbound": {
        "shopforum": {"url": "https://shop.example/hooks/replies", "secret": "outbound-secret"},
        "helpdesk": {"url": "https://help.example/replies"},
        "widget": {"url": "http://widget.example/r"},
    },
    "generic_secrets": {"helpdesk": "helpdesk-secret"},
    "generic_secret": "shared-secret",
}
CREDENTIALS = Credentials(SECRETS)


def reply(
    platform: str,
    kind: str = "message",
    *,
    account: str = "PAGE",
    recipient: str = "PSID",
    in_reply_to: str | None = None,
    thread_id: str | None = None,
    visibility: Visibility = Visibility.PRIVATE,
    text: str = "Sorry about that: a new one is on its way.",
    tag: str | None = None,
    template: Template | None = None,
) -> Reply:
    return Reply(
        reply_id="R1",
        case_id="C1",
        customer_id="CU1",
        platform=platform,
        target=Target(kind, account, recipient, in_reply_to, thread_id),
        visibility=visibility,
        text=text,
        by="cognito:agent",
        created_at=CREATED,
        tag=tag,
        template=template,
    )


def body(request: OutboundRequest) -> Any:
    return json.loads(request.body)


def answer(
    status: int, document: Any = None, raw: bytes | None = None, headers: dict[str, str] | None = None
) -> Answer:
    data = raw if raw is not None else (b"" if document is None else json.dumps(document).encode())
    return Answer(status, headers or {}, data)


def said(outcome: SendOutcome) -> str:
    assert outcome.error is not None, outcome
    return outcome.error.message


def failure(outcome: SendOutcome) -> tuple[str, ErrorClass, float | None]:
    assert outcome.error is not None, outcome
    return outcome.error.code, outcome.error.error_class, outcome.retry_after


# --- Messenger, Instagram, Facebook (Graph API) -------------------------------------------------


def test_messenger_dm_is_a_send_api_response_with_the_reply_id_as_metadata() -> None:
    request = MessengerSender().request(reply("messenger"), CREDENTIALS, GRAPH + "/")
    assert (request.method, request.url) == ("POST", f"{GRAPH}/PAGE/messages")
    assert request.headers == {"Authorization": "Bearer page-token", "Content-Type": "application/json"}
    assert body(request) == {
        "recipient": {"id": "PSID"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Sorry about that: a new one is on its way.", "metadata": "socialcrm:R1"},
    }
    assert request.endpoint == "/{account-id}/messages"


def test_a_human_agent_reply_is_a_message_tag() -> None:
    request = MessengerSender().request(reply("messenger", tag="HUMAN_AGENT"), CREDENTIALS, GRAPH)
    document = body(request)
    assert (document["messaging_type"], document["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")
    assert document["message"]["metadata"] == "socialcrm:R1"


@pytest.mark.parametrize("sender", [MessengerSender(), FacebookSender()])
def test_a_private_reply_to_a_page_comment_goes_to_its_author_by_comment_id(sender: Any) -> None:
    request = sender.request(reply(sender.platform, "comment", in_reply_to="POST_COMMENT"), CREDENTIALS, GRAPH)
    assert request.url == f"{GRAPH}/PAGE/messages"
    assert body(request) == {
        "recipient": {"comment_id": "POST_COMMENT"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Sorry about that: a new one is on its way.", "metadata": "socialcrm:R1"},
    }


@pytest.mark.parametrize("visibility", [Visibility.PRIVATE, Visibility.PUBLIC])
def test_a_private_reply_target_is_a_private_reply_whatever_its_visibility(visibility: Visibility) -> None:
    target = reply("instagram", "private_reply", account="IGACC", in_reply_to="1789", visibility=visibility)
    request = InstagramSender().request(target, CREDENTIALS, GRAPH)
    assert request.url == f"{GRAPH}/IGACC/messages"
    assert body(request)["recipient"] == {"comment_id": "1789"}


def test_a_private_reply_is_never_tagged() -> None:
    private = reply("facebook", "comment", in_reply_to="C", tag="HUMAN_AGENT")
    document = body(FacebookSender().request(private, CREDENTIALS, GRAPH))
    assert document["messaging_type"] == "RESPONSE"
    assert "tag" not in document


@pytest.mark.parametrize("kind", ["comment", "reply", "mention"])
def test_a_public_facebook_reply_is_a_comment_under_the_comment_or_visitor_post(kind: str) -> None:
    public = reply("facebook", kind, in_reply_to="123_456", visibility=Visibility.PUBLIC, text="Thanks!")
    request = FacebookSender().request(public, CREDENTIALS, GRAPH)
    assert (request.method, request.url) == ("POST", f"{GRAPH}/123_456/comments")
    assert request.headers["Authorization"] == "Bearer page-token"
    assert body(request) == {"message": "Thanks!"}
    assert request.endpoint == "/{comment-id}/comments"


def test_instagram_dm_uses_the_instagram_accounts_send_api() -> None:
    request = InstagramSender().request(reply("instagram", account="IGACC", recipient="IGSID"), CREDENTIALS, GRAPH)
    assert request.url == f"{GRAPH}/IGACC/messages"
    assert request.headers["Authorization"] == "Bearer ig-token"
    assert body(request)["recipient"] == {"id": "IGSID"}
    assert body(request)["messaging_type"] == "RESPONSE"


def test_instagram_comment_public_reply_and_private_reply() -> None:
    public = reply("instagram", "comment", account="IGACC", in_reply_to="1789", visibility=Visibility.PUBLIC)
    request = InstagramSender().request(public, CREDENTIALS, GRAPH)
    assert (request.url, body(request)) == (f"{GRAPH}/1789/replies", {"message": public.text})
    private = reply("instagram", "comment", account="IGACC", in_reply_to="1789")
    request = InstagramSender().request(private, CREDENTIALS, GRAPH)
    assert request.url == f"{GRAPH}/IGACC/messages"
    assert body(request)["recipient"] == {"comment_id": "1789"}


def test_ids_from_webhooks_stay_one_path_segment() -> None:
    odd = reply("facebook", "comment", in_reply_to="1/../me?x=1", visibility=Visibility.PUBLIC)
    assert FacebookSender().request(odd, CREDENTIALS, GRAPH).url == f"{GRAPH}/1%2F..%2Fme%3Fx%3D1/comments"


def test_a_comment_reply_without_the_comment_cannot_be_sent() -> None:
    with pytest.raises(Unsendable):
        FacebookSender().request(reply("facebook", "comment", visibility=Visibility.PUBLIC), CREDENTIALS, GRAPH)


def test_a_page_without_a_token_is_missing_credentials_naming_no_secret() -> None:
    with pytest.raises(MissingCredentials) as raised:
        MessengerSender().request(reply("messenger", account="OTHER"), CREDENTIALS, GRAPH)
    assert "OTHER" in str(raised.value)
    empty = Credentials({"meta_page_tokens": {"PAGE": ""}})
    with pytest.raises(MissingCredentials):
        MessengerSender().request(reply("messenger"), empty, GRAPH)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"recipient_id": "PSID", "message_id": "m_AG5Hz2Uq"}, "m_AG5Hz2Uq"),  # Send API
        ({"id": "123_789"}, "123_789"),  # a comment
        ({"id": 17858893269000001}, "17858893269000001"),
    ],
)
def test_graph_success_names_the_message(document: dict[str, Any], expected: str) -> None:
    outcome = MessengerSender().outcome(answer(200, document))
    assert (outcome.sent, outcome.platform_message_id) == (True, expected)


@pytest.mark.parametrize(
    ("status", "error", "code", "error_class"),
    [
        (400, {"code": 10, "error_subcode": 2018278}, "10/2018278", ErrorClass.PERMANENT),  # outside the window
        (400, {"code": 10, "error_subcode": 2018108}, "10/2018108", ErrorClass.PERMANENT),
        (400, {"code": 551, "error_subcode": 1545041}, "551/1545041", ErrorClass.PERMANENT),  # unavailable
        (400, {"code": 100, "error_subcode": 2018001}, "100/2018001", ErrorClass.PERMANENT),  # no such user
        (403, {"code": 200}, "200", ErrorClass.PERMANENT),  # permissions
        (403, {"code": 230}, "230", ErrorClass.PERMANENT),
        (400, {"code": 368, "error_subcode": 1390008}, "368/1390008", ErrorClass.PERMANENT),  # blocked
        (401, {"code": 190, "error_subcode": 463, "type": "OAuthException"}, "190/463", ErrorClass.REAUTH),
        (400, {"code": 102}, "102", ErrorClass.REAUTH),
        (400, {"code": 463}, "463", ErrorClass.REAUTH),
        (400, {"code": 467}, "467", ErrorClass.REAUTH),
        (400, {"code": 4}, "4", ErrorClass.RETRY),  # rate limits
        (400, {"code": 17}, "17", ErrorClass.RETRY),
        (400, {"code": 32}, "32", ErrorClass.RETRY),
        (400, {"code": 613}, "613", ErrorClass.RETRY),
        (400, {"code": 80006}, "80006", ErrorClass.RETRY),
        (500, {"code": 1}, "1", ErrorClass.RETRY),
        (500, {"code": 2, "is_transient": True}, "2", ErrorClass.RETRY),
        (400, {"code": 9999, "is_transient": True}, "9999", ErrorClass.RETRY),
        (400, {"code": 9999}, "9999", ErrorClass.PERMANENT),
        (503, {"code": 9999}, "9999", ErrorClass.RETRY),
    ],
)
def test_graph_errors_are_classified_by_code(status: int, error: dict[str, Any], code: str, error_class: Any) -> None:
    error = {"message": "(#10) Outside of allowed window", "type": "OAuthException", "fbtrace_id": "Ab"} | error
    for sender in (MessengerSender(), InstagramSender(), FacebookSender()):
        outcome = sender.outcome(answer(status, {"error": error}))
        assert failure(outcome)[:2] == (code, error_class)
        assert said(outcome) == "(#10) Outside of allowed window"


@pytest.mark.parametrize(
    ("status", "raw", "code", "error_class"),
    [
        (500, b"<html>Internal error</html>", "500", ErrorClass.RETRY),
        (502, b"", "502", ErrorClass.RETRY),
        (429, b"slow down", "429", ErrorClass.RETRY),
        (401, b"<html>no</html>", "401", ErrorClass.REAUTH),
        (403, b"{}", "403", ErrorClass.PERMANENT),
        (400, b'{"error": {"message": "no code"}}', "400", ErrorClass.PERMANENT),
    ],
)
def test_graph_errors_without_a_code_go_by_http_status(status: int, raw: bytes, code: str, error_class: Any) -> None:
    assert failure(MessengerSender().outcome(answer(status, raw=raw)))[:2] == (code, error_class)


def test_graph_rate_limits_honour_retry_after_and_only_retries_wait() -> None:
    assert (
        failure(MessengerSender().outcome(answer(400, {"error": {"code": 4}}, headers={"retry-after": "30"})))[2]
        == 30.0
    )
    assert (
        failure(MessengerSender().outcome(answer(400, {"error": {"code": 100}}, headers={"retry-after": "30"})))[2]
        is None
    )


# --- WhatsApp ----------------------------------------------------------------------------------


def test_whatsapp_text_within_the_window() -> None:
    request = WhatsAppSender().request(reply("whatsapp", account="PNID", recipient="5511999990000"), CREDENTIALS, GRAPH)
    assert (request.method, request.url) == ("POST", f"{GRAPH}/PNID/messages")
    assert request.headers == {"Authorization": "Bearer wa-token", "Content-Type": "application/json"}
    assert body(request) == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "5511999990000",
        "type": "text",
        "text": {"body": "Sorry about that: a new one is on its way.", "preview_url": False},
        "biz_opaque_callback_data": "socialcrm:R1",
    }
    assert request.endpoint == "/{phone-number-id}/messages"


def test_whatsapp_quotes_the_message_answered() -> None:
    quoted = reply("whatsapp", account="PNID", recipient="5511999990000", in_reply_to="wamid.HBgL")
    assert body(WhatsAppSender().request(quoted, CREDENTIALS, GRAPH))["context"] == {"message_id": "wamid.HBgL"}


def test_whatsapp_user_known_only_by_business_scoped_id_goes_in_recipient() -> None:
    # The form channels/meta/whatsapp.py keeps for a sender with `from_user_id` and no `from`.
    scoped = reply("whatsapp", account="PNID", recipient="US.13491208655302741918")
    document = body(WhatsAppSender().request(scoped, CREDENTIALS, GRAPH))
    assert document["recipient"] == "US.13491208655302741918"
    assert "to" not in document


def test_whatsapp_template_outside_the_window() -> None:
    template = Template("order_update", "pt_BR", ("Ana", "#123"))
    request = WhatsAppSender().request(
        reply("whatsapp", account="PNID", recipient="5511999990000", template=template), CREDENTIALS, GRAPH
    )
    document = body(request)
    assert document["type"] == "template"
    assert "text" not in document
    assert document["template"] == {
        "name": "order_update",
        "language": {"code": "pt_BR"},
        "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "Ana"}, {"type": "text", "text": "#123"}]}
        ],
    }
    bare = reply("whatsapp", account="PNID", recipient="5511999990000", template=Template("hello_world", "en_US"))
    assert body(WhatsAppSender().request(bare, CREDENTIALS, GRAPH))["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US"},
    }


def test_whatsapp_without_a_token_for_the_number() -> None:
    with pytest.raises(MissingCredentials):
        WhatsAppSender().request(reply("whatsapp", account="OTHER", recipient="1555"), CREDENTIALS, GRAPH)


def test_whatsapp_success_names_the_wamid() -> None:
    document = {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "5511999990000", "wa_id": "5511999990000"}],
        "messages": [{"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"}],
    }
    outcome = WhatsAppSender().outcome(answer(200, document))
    assert outcome.platform_message_id == "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3"


@pytest.mark.parametrize(
    ("error", "code", "error_class", "wait"),
    [
        ({"code": 131047}, "131047", ErrorClass.PERMANENT, None),  # re-engagement: outside 24 h
        ({"code": 131026}, "131026", ErrorClass.PERMANENT, None),  # undeliverable
        ({"code": 131051}, "131051", ErrorClass.PERMANENT, None),  # unsupported type
        ({"code": 132000}, "132000", ErrorClass.PERMANENT, None),  # template parameters
        ({"code": 132001}, "132001", ErrorClass.PERMANENT, None),  # template not found
        ({"code": 130429}, "130429", ErrorClass.RETRY, None),  # throughput
        ({"code": 131056}, "131056", ErrorClass.RETRY, 6.0),  # pair rate
        ({"code": 131000}, "131000", ErrorClass.RETRY, None),
        ({"code": 131016}, "131016", ErrorClass.RETRY, None),
        ({"code": 190, "type": "OAuthException"}, "190", ErrorClass.REAUTH, None),
        ({"code": 0, "type": "AuthException"}, "0", ErrorClass.REAUTH, None),
        ({"code": 131031}, "131031", ErrorClass.REAUTH, None),  # account locked
    ],
)
def test_whatsapp_errors(error: dict[str, Any], code: str, error_class: Any, wait: float | None) -> None:
    outcome = WhatsAppSender().outcome(answer(400, {"error": {"message": "Message failed to send", **error}}))
    assert failure(outcome) == (code, error_class, wait)


def test_whatsapp_pair_rate_prefers_the_platforms_wait_and_details_join_the_message() -> None:
    error = {"code": 131056, "message": "(#131056) Pair rate limit hit", "error_data": {"details": "Too many."}}
    outcome = WhatsAppSender().outcome(answer(400, {"error": error}, headers={"retry-after": "10"}))
    assert failure(outcome)[2] == 10.0
    assert said(outcome) == "(#131056) Pair rate limit hit: Too many."


# --- Telegram ----------------------------------------------------------------------------------


def test_telegram_send_message_keeps_the_token_out_of_the_endpoint() -> None:
    request = TelegramSender().request(
        reply("telegram", account="bot", recipient="777"), CREDENTIALS, "https://api.telegram.org/"
    )
    assert (request.method, request.url) == ("POST", "https://api.telegram.org/bot123456:bot-token/sendMessage")
    assert request.endpoint == "sendMessage"
    assert request.headers == {"Content-Type": "application/json"}
    assert body(request) == {"chat_id": "777", "text": "Sorry about that: a new one is on its way."}
    assert b"bot-token" not in request.body


@pytest.mark.parametrize(
    ("in_reply_to", "chat", "quoted"),
    [
        ("777:42", "777", 42),  # our id of a Telegram message: <chat>:<message>
        ("-1001234567890:9", "-1001234567890", 9),
        ("42", "777", 42),
        ("555:42", "777", None),  # another chat's message cannot be quoted here
        ("callback:8812", "777", None),  # a button press is not a message
        ("777:story:3", "777", None),
        (None, "777", None),
    ],
)
def test_telegram_quotes_the_message_answered(in_reply_to: str | None, chat: str, quoted: int | None) -> None:
    assert message_id(in_reply_to, chat) == quoted
    request = TelegramSender().request(
        reply("telegram", recipient=chat, in_reply_to=in_reply_to), CREDENTIALS, "https://t"
    )
    expected = None if quoted is None else {"message_id": quoted, "allow_sending_without_reply": True}
    assert body(request).get("reply_parameters") == expected


def test_telegram_forum_topic_reply_stays_in_the_topic() -> None:
    topic = reply("telegram", recipient="-1009", thread_id="-1009:77", in_reply_to="-1009:80")
    document = body(TelegramSender().request(topic, CREDENTIALS, "https://t"))
    assert document["message_thread_id"] == 77
    plain = reply("telegram", recipient="777", thread_id="777")
    assert "message_thread_id" not in body(TelegramSender().request(plain, CREDENTIALS, "https://t"))
    by_thread = reply("telegram", recipient="-1009:77", thread_id="-1009:77", in_reply_to="-1009:80")
    document = body(TelegramSender().request(by_thread, CREDENTIALS, "https://t"))
    assert (document["chat_id"], document["message_thread_id"]) == ("-1009", 77)
    assert document["reply_parameters"]["message_id"] == 80


def test_telegram_without_a_bot_token() -> None:
    with pytest.raises(MissingCredentials):
        TelegramSender().request(reply("telegram"), Credentials({}), "https://t")


def test_telegram_success_names_the_message_as_inbound_ids_do() -> None:
    result = {"message_id": 91, "date": 1700000000, "chat": {"id": -1001234567890, "type": "supergroup"}, "text": "x"}
    outcome = TelegramSender().outcome(answer(200, {"ok": True, "result": result}))
    assert outcome.platform_message_id == "-1001234567890:91"


@pytest.mark.parametrize(
    ("status", "document", "code", "error_class", "wait"),
    [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 7",
                "parameters": {"retry_after": 7},
            },
            "429",
            ErrorClass.RETRY,
            7.0,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"},
            "403",
            ErrorClass.PERMANENT,
            None,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked from the group chat"},
            "403",
            ErrorClass.PERMANENT,
            None,
        ),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            "400",
            ErrorClass.PERMANENT,
            None,
        ),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
            "400",
            ErrorClass.PERMANENT,
            None,
        ),
        (401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, "401", ErrorClass.REAUTH, None),
        (404, {"ok": False, "error_code": 404, "description": "Not Found"}, "404", ErrorClass.REAUTH, None),
        (500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}, "500", ErrorClass.RETRY, None),
        (502, None, "502", ErrorClass.RETRY, None),
    ],
)
def test_telegram_errors(status: int, document: Any, code: str, error_class: Any, wait: float | None) -> None:
    outcome = TelegramSender().outcome(answer(status, document))
    assert failure(outcome) == (code, error_class, wait)
    if document is not None:
        assert said(outcome) == document["description"]


# --- X -----------------------------------------------------------------------------------------

# The worked example of X's "Creating a signature" / "Authorizing a request" pages (first published
# by Twitter with the /1/ URL, later with /1.1/; both signatures are on record).
DOC_PARAMS = [
    ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
    ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
    ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
    ("oauth_signature_method", "HMAC-SHA1"),
    ("oauth_timestamp", "1318622958"),
    ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
    ("oauth_version", "1.0"),
]
DOC_CONSUMER_SECRET = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw"
DOC_TOKEN_SECRET = "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE"


@pytest.mark.parametrize(
    ("url", "signature"),
    [
        ("https://api.twitter.com/1/statuses/update.json?include_entities=true", "tnnArxj06cWHq44gCs1OSKk/jLY="),
        ("https://api.twitter.com/1.1/statuses/update.json?include_entities=true", "hCtSmYh+iHYCEqBWrE7C7hYmtUk="),
    ],
)
def test_oauth1_signature_matches_xs_documented_example(url: str, signature: str) -> None:
    assert oauth1_signature("POST", url, DOC_PARAMS, DOC_CONSUMER_SECRET, DOC_TOKEN_SECRET) == signature


def test_oauth1_header_matches_xs_documented_authorization_header() -> None:
    header = oauth1_header(
        "POST",
        "https://api.twitter.com/1/statuses/update.json?include_entities=true",
        consumer_key="xvz1evFS4wEEPTGEFPHBog",
        consumer_secret=DOC_CONSUMER_SECRET,
        token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
        token_secret=DOC_TOKEN_SECRET,
        timestamp="1318622958",
        nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
        form=[("status", "Hello Ladies + Gentlemen, a signed OAuth request!")],
    )
    assert header == (
        'OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", '
        'oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", '
        'oauth_signature="tnnArxj06cWHq44gCs1OSKk%2FjLY%3D", oauth_signature_method="HMAC-SHA1", '
        'oauth_timestamp="1318622958", '
        'oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0"'
    )


def x_sender() -> XSender:
    return XSender(clock=lambda: NOW, nonce=lambda: "n0nce")


def test_x_dm_request_is_signed_without_its_json_body() -> None:
    request = x_sender().request(reply("x", account="XUSER", recipient="42"), CREDENTIALS, "https://api.x.com/")
    assert (request.method, request.url) == ("POST", "https://api.x.com/2/dm_conversations/with/42/messages")
    assert body(request) == {"text": "Sorry about that: a new one is on its way."}
    assert request.headers["Content-Type"] == "application/json"
    assert request.endpoint == "/2/dm_conversations/with/{participant_id}/messages"
    # Computed here by hand, independently of x_send: only the oauth_* parameters are signed.
    base_string = (
        "POST&https%3A%2F%2Fapi.x.com%2F2%2Fdm_conversations%2Fwith%2F42%2Fmessages&"
        "oauth_consumer_key%3Dck%26oauth_nonce%3Dn0nce%26oauth_signature_method%3DHMAC-SHA1%26"
        "oauth_timestamp%3D1700000000%26oauth_token%3Dat%26oauth_version%3D1.0"
    )
    digest = hmac.new(b"cs&ats", base_string.encode(), hashlib.sha1).digest()
    signature = base64.b64encode(digest).decode().replace("+", "%2B").replace("/", "%2F").replace("=", "%3D")
    assert request.headers["Authorization"] == (
        f'OAuth oauth_consumer_key="ck", oauth_nonce="n0nce", oauth_signature="{signature}", '
        'oauth_signature_method="HMAC-SHA1", oauth_timestamp="1700000000", oauth_token="at", oauth_version="1.0"'
    )


def test_x_reply_tweet_request() -> None:
    mention = reply("x", "mention", account="XUSER", recipient="42", in_reply_to="1850000000000000001")
    request = x_sender().request(mention, CREDENTIALS, "https://api.x.com")
    assert (request.url, request.endpoint) == ("https://api.x.com/2/tweets", "/2/tweets")
    assert body(request) == {
        "text": "Sorry about that: a new one is on its way.",
        "reply": {"in_reply_to_tweet_id": "1850000000000000001"},
    }
    assert request.headers["Authorization"].startswith('OAuth oauth_consumer_key="ck", oauth_nonce="n0nce"')


def test_x_reply_tweet_needs_the_post_answered_and_all_four_keys() -> None:
    with pytest.raises(Unsendable):
        x_sender().request(reply("x", "mention", account="XUSER"), CREDENTIALS, "https://api.x.com")
    keys = {"consumer_key": "k3y-value", "consumer_secret": "s3cret-value"}
    partial = Credentials({"x_user_credentials": {"XUSER": keys}})
    with pytest.raises(MissingCredentials) as raised:
        x_sender().request(reply("x", account="XUSER"), partial, "https://api.x.com")
    assert "access_token" in str(raised.value)
    assert "k3y-value" not in str(raised.value)
    assert "s3cret-value" not in str(raised.value)


def test_x_success_names_the_dm_event_or_the_post() -> None:
    dm = {"data": {"dm_conversation_id": "42-1001", "dm_event_id": "1582838223591550977"}}
    assert x_sender().outcome(answer(201, dm)).platform_message_id == "1582838223591550977"
    post = {"data": {"id": "1850000000000000099", "text": "Sorry about that"}}
    assert x_sender().outcome(answer(201, post)).platform_message_id == "1850000000000000099"


PROBLEM_403 = {
    "title": "Forbidden",
    "type": "about:blank",
    "status": 403,
    "detail": "You are not permitted to send this Direct Message.",
}
UNSUPPORTED_AUTH = {
    "title": "Unsupported Authentication",
    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
    "status": 403,
    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this endpoint.",
}


@pytest.mark.parametrize(
    ("status", "document", "headers", "code", "error_class", "wait"),
    [
        (
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429},
            {"x-rate-limit-reset": str(int(NOW) + 120)},
            "429",
            ErrorClass.RETRY,
            120.0,
        ),
        (429, None, {"x-rate-limit-reset": str(int(NOW) - 5)}, "429", ErrorClass.RETRY, 0.0),
        (
            401,
            {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
            {},
            "401",
            ErrorClass.REAUTH,
            None,
        ),
        (403, PROBLEM_403, {}, "403", ErrorClass.PERMANENT, None),
        (403, UNSUPPORTED_AUTH, {}, "403", ErrorClass.REAUTH, None),
        (
            403,
            {"errors": [{"message": "Invalid or expired token.", "code": 89}]},
            {},
            "403/89",
            ErrorClass.REAUTH,
            None,
        ),
        (
            403,
            {"errors": [{"message": "You cannot send messages to this user.", "code": 349}]},
            {},
            "403/349",
            ErrorClass.PERMANENT,
            None,
        ),
        (
            400,
            {
                "errors": [{"message": "Invalid Request", "parameters": {}}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.twitter.com/2/problems/invalid-request",
            },
            {},
            "400",
            ErrorClass.PERMANENT,
            None,
        ),
        (503, {"title": "Service Unavailable"}, {}, "503", ErrorClass.RETRY, None),
        (500, None, {"retry-after": "3"}, "500", ErrorClass.RETRY, 3.0),
    ],
)
def test_x_errors(
    status: int, document: Any, headers: dict[str, str], code: str, error_class: Any, wait: float | None
) -> None:
    assert failure(x_sender().outcome(answer(status, document, headers=headers))) == (code, error_class, wait)


def test_x_error_words() -> None:
    outcome = x_sender().outcome(answer(403, PROBLEM_403))
    assert said(outcome) == "You are not permitted to send this Direct Message."
    outcome = x_sender().outcome(answer(403, {"errors": [{"message": "Invalid or expired token.", "code": 89}]}))
    assert said(outcome) == "Invalid or expired token."


# --- Trustpilot --------------------------------------------------------------------------------

TRUSTPILOT = "https://api.trustpilot.com"


def review_reply() -> Reply:
    return reply(
        "trustpilot",
        "review",
        account="UNIT",
        recipient="CONSUMER",
        in_reply_to="5e3de1b4",
        visibility=Visibility.PUBLIC,
    )


def test_trustpilot_review_reply_request() -> None:
    request = TrustpilotSender().request(review_reply(), CREDENTIALS, TRUSTPILOT + "/")
    assert (request.method, request.url) == ("POST", f"{TRUSTPILOT}/v1/private/reviews/5e3de1b4/reply")
    assert request.headers == {"Authorization": "Bearer tp-token", "Content-Type": "application/json"}
    assert body(request) == {"message": "Sorry about that: a new one is on its way.", "authorBusinessUserId": "BUSER"}
    assert request.endpoint == "/v1/private/reviews/{reviewId}/reply"


def test_trustpilot_needs_the_adapters_access_token_and_the_review() -> None:
    without_token = Credentials({k: v for k, v in SECRETS.items() if k != "_trustpilot_access_token"})
    with pytest.raises(MissingCredentials):
        TrustpilotSender().request(review_reply(), without_token, TRUSTPILOT)
    no_review = reply("trustpilot", "review", account="UNIT", visibility=Visibility.PUBLIC)
    with pytest.raises(Unsendable):
        TrustpilotSender().request(no_review, CREDENTIALS, TRUSTPILOT)


def test_trustpilot_token_request_is_client_credentials_with_basic_auth() -> None:
    request = TrustpilotSender().token_request(CREDENTIALS, TRUSTPILOT, "UNIT")
    assert (request.method, request.url) == (
        "POST",
        f"{TRUSTPILOT}/v1/oauth/oauth-business-users-for-applications/accesstoken",
    )
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert (scheme, base64.b64decode(encoded)) == ("Basic", b"cid:csecret")
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body == b"grant_type=client_credentials"
    assert "csecret" not in request.endpoint


def test_trustpilot_token_answer() -> None:
    document = {"access_token": "AccessToken", "refresh_token": "r", "expires_in": "359999", "issued_at": "1"}
    assert TrustpilotSender().token_from(answer(200, document)) == ("AccessToken", 359999.0)
    assert TrustpilotSender().token_from(answer(200, {"access_token": "t", "expires_in": 3600})) == ("t", 3600.0)
    with pytest.raises(ValueError, match="access_token"):
        TrustpilotSender().token_from(answer(200, raw=b"<html>"))


def test_trustpilot_reply_is_named_by_its_review() -> None:
    request = TrustpilotSender().request(review_reply(), CREDENTIALS, TRUSTPILOT)
    outcome = TrustpilotSender().outcome(Answer(201, {}, b"", request))
    assert (outcome.sent, outcome.platform_message_id) == (True, "review-reply:5e3de1b4")
    assert TrustpilotSender().outcome(Answer(201, {}, b"")).platform_message_id is None


@pytest.mark.parametrize(
    ("status", "headers", "error_class", "wait"),
    [
        (401, {}, ErrorClass.REAUTH, None),
        (429, {"retry-after": "60"}, ErrorClass.RETRY, 60.0),
        (400, {}, ErrorClass.PERMANENT, None),
        (403, {}, ErrorClass.PERMANENT, None),
        (404, {}, ErrorClass.PERMANENT, None),
        (500, {}, ErrorClass.RETRY, None),
        (503, {}, ErrorClass.RETRY, None),
    ],
)
def test_trustpilot_errors(status: int, headers: dict[str, str], error_class: Any, wait: float | None) -> None:
    outcome = TrustpilotSender().outcome(answer(status, {"message": "Review not found"}, headers=headers))
    assert failure(outcome) == (str(status), error_class, wait)
    assert said(outcome) == "Review not found"


# --- Generic sources ---------------------------------------------------------------------------


def generic_reply(source: str = "shopforum") -> Reply:
    return reply(source, account=source, recipient="cust-7", in_reply_to="post-9", thread_id="topic-3")


def test_generic_reply_is_posted_to_the_sources_url_signed_as_inbound_deliveries_are() -> None:
    request = GenericSender(clock=lambda: NOW).request(generic_reply(), CREDENTIALS, "https://ignored.example")
    assert (request.method, request.url) == ("POST", "https://shop.example/hooks/replies")
    assert body(request) == {
        "reply_id": "R1",
        "source": "shopforum",
        "recipient_id": "cust-7",
        "in_reply_to": "post-9",
        "thread_id": "topic-3",
        "text": "Sorry about that: a new one is on its way.",
        "created_at": "2026-11-22T12:00:00.000Z",
    }
    timestamp = request.headers[generic.TIMESTAMP_HEADER]
    signature = request.headers[generic.SIGNATURE_HEADER]
    assert timestamp == "1700000000"
    # The source verifies it exactly as socialcrm verifies what the source posts.
    generic.verify(request.body, "shopforum", timestamp, signature, "outbound-secret", NOW)
    expected = hmac.new(b"outbound-secret", b"1700000000.shopforum." + request.body, hashlib.sha256).hexdigest()
    assert signature == "sha256=" + expected


@pytest.mark.parametrize(
    ("source", "secret"),
    [("shopforum", "outbound-secret"), ("helpdesk", "helpdesk-secret"), ("widget", "shared-secret")],
)
def test_generic_secret_falls_back_as_inbound_does(source: str, secret: str) -> None:
    request = GenericSender(clock=lambda: NOW).request(generic_reply(source), CREDENTIALS, "")
    headers = request.headers
    generic.verify(
        request.body, source, headers[generic.TIMESTAMP_HEADER], headers[generic.SIGNATURE_HEADER], secret, NOW
    )


def test_a_signed_reply_posted_back_to_our_webhook_is_no_delivery() -> None:
    request = GenericSender(clock=lambda: NOW).request(generic_reply(), CREDENTIALS, "")
    with pytest.raises(MalformedPayload):
        generic.parse(request.body, "shopforum", CREATED)


@pytest.mark.parametrize(
    "document",
    [
        {"generic_secret": "s"},  # no outbound URL for the source
        {"generic_outbound": {"shopforum": {"url": "ftp://shop.example/r"}}, "generic_secret": "s"},
        {"generic_outbound": {"shopforum": {"url": "https://shop.example/r"}}},  # no secret anywhere
        {"generic_outbound": {"shopforum": "https://shop.example/r"}, "generic_secret": "s"},
    ],
)
def test_generic_without_usable_credentials(document: dict[str, Any]) -> None:
    with pytest.raises(MissingCredentials):
        GenericSender(clock=lambda: NOW).request(generic_reply(), Credentials(document), "")


def test_generic_answers() -> None:
    sender = GenericSender(clock=lambda: NOW)
    request = sender.request(generic_reply(), CREDENTIALS, "")
    assert sender.outcome(Answer(200, {}, b'{"id": "ext-9"}', request)).platform_message_id == "ext-9"
    assert sender.outcome(Answer(202, {}, b"<html>thanks</html>", request)).platform_message_id == "R1"
    assert sender.outcome(Answer(204, {}, b"")).platform_message_id is None
    http_date = "Tue, 14 Nov 2023 22:13:40 GMT"  # NOW + 20 s
    cases = [
        (429, {"retry-after": "12"}, ("429", ErrorClass.RETRY, 12.0)),
        (503, {"retry-after": http_date}, ("503", ErrorClass.RETRY, 20.0)),
        (401, {}, ("401", ErrorClass.REAUTH, None)),
        (403, {}, ("403", ErrorClass.REAUTH, None)),
        (404, {}, ("404", ErrorClass.PERMANENT, None)),
        (422, {}, ("422", ErrorClass.PERMANENT, None)),
    ]
    for status, headers, expected in cases:
        assert failure(sender.outcome(Answer(status, headers, b'{"message": "nope"}', request))) == expected


# --- All senders -------------------------------------------------------------------------------


def test_every_builtin_platform_has_its_sender_and_anything_else_is_generic() -> None:
    assert set(SENDERS) == BUILTIN_PLATFORMS
    assert all(sender.platform == name for name, sender in SENDERS.items())
    assert isinstance(sender_for("x"), XSender)
    assert sender_for("shopforum") is GENERIC
    assert isinstance(GENERIC, GenericSender)


ALL_SENDERS = [*SENDERS.values(), GENERIC]
GARBAGE = [
    b"",
    b"<html><body>Bad Gateway</body></html>",
    b"null",
    b"[]",
    b"42",
    b"\xff\xfe\x00",
    b'{"error": "x"}',
    b'{"error": {"code": "abc", "error_subcode": []}}',
    b'{"error": {"code": true}}',
    b'{"data": 5, "messages": "x", "result": [], "ok": true}',
    b'{"messages": [5], "errors": [null]}',
    b'{"errors": "x", "type": 5, "detail": {}}',
    b'{"parameters": {"retry_after": "soon"}, "error_code": "x"}',
    b"[" * 5000,
]


@pytest.mark.parametrize("sender", ALL_SENDERS, ids=lambda sender: type(sender).__name__)
@pytest.mark.parametrize("raw", GARBAGE)
def test_garbage_answers_never_raise_and_a_2xx_is_taken(sender: Any, raw: bytes) -> None:
    for status in (200, 201, 204, 400, 401, 403, 404, 409, 429, 500, 503):
        outcome = sender.outcome(Answer(status, {"retry-after": "soon", "x-rate-limit-reset": "x"}, raw))
        assert outcome.sent is (200 <= status < 300)
        if outcome.sent:
            assert outcome.platform_message_id is None
        else:
            assert said(outcome)


@given(status=st.integers(min_value=100, max_value=599), raw=st.binary(max_size=200))
def test_any_answer_is_an_outcome(status: int, raw: bytes) -> None:
    for sender in ALL_SENDERS:
        assert isinstance(sender.outcome(Answer(status, {}, raw)), SendOutcome)


def test_retry_after_reads_seconds_and_dates_never_negative() -> None:
    assert retry_after({"retry-after": "7"}) == 7.0
    assert retry_after({"retry-after": "-3"}) == 0.0
    assert retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}) is None  # a date needs now
    assert retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:40 GMT"}, NOW) == 20.0
    assert retry_after({"retry-after": "Tue, 14 Nov 2023 22:13:00 GMT"}, NOW) == 0.0
    assert retry_after({"retry-after": "soon"}, NOW) is None
    assert retry_after({}) is None
