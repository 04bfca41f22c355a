"""Review of issue 9 (replies): each test shows one finding of an independent review; each failed
before its fix (commit 262adf1) and now guards it.

Most run over the in-memory ports of test_reply_service.py with the real platform senders; two
run on moto and the platform sandbox, as tests/integration/test_replies.py does."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.platforms import NoAnswer, PlatformHttp
from chalicelib.channels.meta import parse as parse_meta
from chalicelib.channels.outbound import Answer, OutboundRequest
from chalicelib.models.reply import Reply, ReplyState, ReplyStatus, Visibility
from chalicelib.services.replies import InvalidReply, ReplyRequest, ReplyStatuses, parse_request
from tests.unit.test_reply_service import (
    AGENT,
    CASE_ID,
    CUSTOMER,
    DAY,
    HOUR,
    MINUTE,
    PAGE,
    WROTE,
    FakeCases,
    FakeCustomers,
    FakeReplies,
    World,
    answer,
    body_of,
    inbound,
    make_case,
    messenger_ok,
    messenger_world,
    telegram_429,
    telegram_ok,
    telegram_world,
)

# --- Facebook private replies: recorded as "facebook", echoed and receipted as "messenger" --------


def facebook_private_reply() -> tuple[World, Reply]:
    comment = inbound("facebook", "comment", external_id="111_222", user="FBUSER")
    world = World(
        comment,
        platforms=("facebook",),
        cases=FakeCases(make_case(platform="facebook")),
        script=[messenger_ok("m_PRIVATE")],
    )
    reply = world.compose(WROTE + HOUR, visibility=Visibility.PRIVATE)
    assert world.send(reply.reply_id, WROTE + HOUR).state is ReplyState.SENT
    return world, reply


def test_a_facebook_private_reply_and_its_messenger_echo_are_one_interaction() -> None:
    world, reply = facebook_private_reply()
    (recorded,) = world.interactions.sent
    millis = int((WROTE + HOUR).timestamp() * 1000)
    echo = {
        "object": "page",
        "entry": [
            {
                "id": PAGE,
                "time": millis,
                "messaging": [
                    {
                        "sender": {"id": PAGE},
                        "recipient": {"id": "PSID_OF_THE_COMMENTER"},
                        "timestamp": millis,
                        "message": {
                            "mid": "m_PRIVATE",
                            "is_echo": True,
                            "text": reply.text,
                            "metadata": f"socialcrm:{reply.reply_id}",
                        },
                    }
                ],
            }
        ],
    }
    (echoed,) = parse_meta(json.dumps(echo).encode(), WROTE + HOUR).interactions
    # Meta echoes it on Messenger, to a PSID: not the sender's record (facebook, to the commenter),
    # but it names the reply, so the processor confirms the reply with it and stores nothing more
    # (tests/integration/test_replies.py: one interaction in the commenter's timeline).
    assert (recorded.platform, echoed.platform) == ("facebook", "messenger")
    assert echoed.reply_id == recorded.reply_id == reply.reply_id
    assert echoed.external_id == recorded.external_id


def test_a_facebook_private_reply_moves_on_messengers_delivery_receipt() -> None:
    world, reply = facebook_private_reply()
    statuses = ReplyStatuses(world.replies, FakeCustomers({("messenger", "PSID_OF_THE_COMMENTER"): CUSTOMER}))
    delivered = ReplyStatus(
        "messenger",
        None,
        ReplyState.DELIVERED,
        WROTE + 2 * HOUR,
        account_id=PAGE,
        recipient_id="PSID_OF_THE_COMMENTER",
        watermark=WROTE + 2 * HOUR,
    )
    statuses.apply(delivered)
    assert world.stored(reply.reply_id).state is ReplyState.DELIVERED


# --- a 5xx from a gateway may come after the platform took the message ----------------------------


def test_a_telegram_502_is_not_sent_again_blind() -> None:
    world = telegram_world(script=[Answer(502, {"content-type": "text/html"}, b"<html>502 Bad Gateway</html>")])
    world.answer(telegram_ok())
    reply = world.compose(WROTE + HOUR)
    first = world.send(reply.reply_id, WROTE + HOUR)
    if first.retry_after is not None:
        world.send(reply.reply_id, WROTE + HOUR + MINUTE)
    assert len(world.http.requests) == 1


def test_an_x_503_then_a_duplicate_refusal_is_not_shown_failed() -> None:
    mention = inbound("x", "mention", external_id="1790000000000000001", account="XUSER", user="U9")
    world = World(mention, platforms=("x",), cases=FakeCases(make_case(platform="x")))
    world.answer(answer(503, {"title": "Service Unavailable", "detail": "Service Unavailable", "status": 503}))
    duplicate = "You are not allowed to create a Tweet with duplicate content."
    world.answer(answer(403, {"title": "Forbidden", "detail": duplicate, "status": 403}))
    reply = world.compose(WROTE + HOUR, text="We are on it, DM us your order number")
    world.send(reply.reply_id, WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR + MINUTE)
    assert world.stored(reply.reply_id).state is not ReplyState.FAILED


# --- a connect timeout is a request that never left ------------------------------------------------


def test_a_connect_timeout_is_a_request_that_never_left(monkeypatch: pytest.MonkeyPatch) -> None:
    def unanswered_syn(self: http.client.HTTPConnection) -> None:
        raise TimeoutError("timed out")  # socket.timeout: the TCP handshake never completed

    monkeypatch.setattr(http.client.HTTPConnection, "connect", unanswered_syn)
    assert socket.timeout is TimeoutError
    with pytest.raises(NoAnswer) as raised:
        PlatformHttp(timeout=0.1).call(OutboundRequest("POST", "http://127.0.0.1:9/x", {}, b"{}"))
    assert raised.value.reached is False


# --- a second delivery that reads sending_since, then finds it cleared ------------------------------


class LosesTheRace(FakeReplies):
    """Between this delivery's begin_send (which saw another's sending_since) and its
    call_started_at, the other delivery ended its send without a call (a pacing wait, a 429)."""

    def call_started_at(self, reply_id: str) -> datetime | None:
        self.sending_since.pop(reply_id, None)
        return super().call_started_at(reply_id)


def test_a_reply_whose_other_delivery_waited_without_a_call_is_not_made_unknown() -> None:
    world = telegram_world(replies=LosesTheRace(), script=[telegram_ok()])
    reply = world.compose(WROTE + HOUR)
    world.replies.sending_since[reply.reply_id] = WROTE + HOUR  # the other delivery's take
    world.send(reply.reply_id, WROTE + HOUR)
    assert world.stored(reply.reply_id).state is ReplyState.QUEUED


# --- erasure racing a send ------------------------------------------------------------------------


def test_a_reply_whose_case_was_erased_meanwhile_is_not_sent() -> None:
    world = messenger_world(script=[messenger_ok("m_1")])
    reply = world.compose(WROTE + HOUR)
    world.cases.cases.clear()
    world.targets.message = None
    world.send(reply.reply_id, WROTE + HOUR + MINUTE)
    assert world.http.requests == []


# --- Trustpilot ------------------------------------------------------------------------------------


class ScriptedPlatformHttp(PlatformHttp):
    """The real adapter (its token cache and its reading of the token endpoint), over canned answers."""

    def __init__(self, *answers: Answer) -> None:
        super().__init__()
        self.script = list(answers)
        self.requests: list[OutboundRequest] = []

    def call(self, request: OutboundRequest) -> Answer:
        self.requests.append(request)
        return replace(self.script.pop(0), request=request)


def trustpilot_world(*answers: Answer) -> World:
    review = inbound("trustpilot", "review", external_id="REV1", account="UNIT", user="TPUSER")
    world = World(review, platforms=("trustpilot",), cases=FakeCases(make_case(platform="trustpilot")))
    world.http = ScriptedPlatformHttp(*answers)  # type: ignore[assignment]
    return world


def test_a_trustpilot_token_endpoint_outage_is_retried_not_a_reauthorisation() -> None:
    world = trustpilot_world(answer(503, {"message": "Service Unavailable"}))
    reply = world.compose(WROTE + HOUR, text="Thank you for your review")
    result = world.send(reply.reply_id, WROTE + HOUR)
    assert (result.state, result.retry_after is not None) == (ReplyState.QUEUED, True)
    assert world.events.published == []


def test_a_second_reply_to_an_updated_review_is_its_own_interaction() -> None:
    review = inbound("trustpilot", "review", external_id="REV1", account="UNIT", user="TPUSER")
    world = World(review, platforms=("trustpilot",), cases=FakeCases(make_case(platform="trustpilot")))
    world.answer(answer(201), answer(201))
    first = world.compose(WROTE + HOUR, text="Sorry, a refund is on its way.")
    world.send(first.reply_id, WROTE + HOUR)
    second = world.compose(WROTE + 2 * DAY, text="Glad the refund arrived; thanks for updating your review.")
    world.send(second.reply_id, WROTE + 2 * DAY)
    keys = [interaction.idempotency_key for interaction in world.interactions.sent]
    assert len(set(keys)) == 2


# --- the text of a template reply ------------------------------------------------------------------


def test_a_template_reply_never_shows_words_the_customer_did_not_get() -> None:
    body = {
        "text": "Your refund of 40 EUR was approved",
        "template": {"name": "order_update", "language": "en_US", "parameters": ["4821"]},
    }
    whatsapp = inbound("whatsapp", external_id="wamid.IN", account="PNID", user="447700900123")
    world = World(whatsapp, platforms=("whatsapp",), cases=FakeCases(make_case(platform="whatsapp")))
    world.answer(answer(200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT"}]}))
    try:
        request = parse_request(body)
    except InvalidReply:
        return  # refused: nothing untrue is shown
    reply, _ = world.desk().compose(CASE_ID, request, AGENT, WROTE + 2 * DAY)
    world.send(reply.reply_id, WROTE + 2 * DAY)
    sent = json.dumps(body_of(world.http.requests[0]))
    assert not reply.text or reply.text in sent


# --- a repeated POST and the platform's retry hint --------------------------------------------------


def test_a_repeated_post_does_not_call_inside_the_platforms_retry_after() -> None:
    world = telegram_world(script=[telegram_429(30), telegram_ok()])
    reply = world.compose(WROTE + HOUR, client_reply_id="r-1")
    assert world.send(reply.reply_id, WROTE + HOUR).retry_after == 31
    world.desk().compose(CASE_ID, ReplyRequest(reply.text, client_reply_id="r-1"), AGENT, WROTE + HOUR)
    world.send(reply.reply_id, WROTE + HOUR + timedelta(seconds=2))  # the requeued copy, at once
    assert len(world.http.requests) == 1


# --- X's rate-limit reset beyond 15 minutes ----------------------------------------------------------


def test_an_x_rate_limit_reset_hours_away_is_waited_out_without_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib.channels.senders import SENDERS

    now = [WROTE + HOUR]
    monkeypatch.setattr(SENDERS["x"], "_clock", lambda: now[0].timestamp())
    reset = {"x-rate-limit-reset": str(int((now[0] + 6 * HOUR).timestamp())), "content-type": "application/json"}
    dm = inbound("x", "message", external_id="DM1", account="XUSER", user="U9")
    world = World(dm, platforms=("x",), cases=FakeCases(make_case(platform="x")))
    world.answer(answer(429, {"title": "Too Many Requests", "status": 429}, reset))
    world.answer(answer(201, {"data": {"dm_conversation_id": "C1", "dm_event_id": "E1"}}))
    reply = world.compose(now[0])
    result = world.send(reply.reply_id, now[0])
    while result.retry_after is not None and now[0] < WROTE + 7 * HOUR:
        now[0] += timedelta(seconds=result.retry_after)
        result = world.send(reply.reply_id, now[0])
    assert len(world.http.requests) == 2  # the 429, then the send after the reset
    assert world.stored(reply.reply_id).state is ReplyState.SENT


# --- on moto and the sandbox --------------------------------------------------------------------------


def test_a_whatsapp_sent_status_processed_first_does_not_empty_the_reply(client, sqs, platforms, secrets) -> None:
    from tests.helpers import call
    from tests.integration.test_replies import (
        COMPLAINT,
        platforms_env,
        post,
        process,
        reply_to,
        send_queue,
        the_case,
        wa_message,
        wa_status,
    )

    env = platforms_env()
    post(client, "meta", wa_message("wamid.IN1", COMPLAINT, datetime.now(UTC) - timedelta(minutes=5)), secrets)
    process(sqs, env)
    case = the_case(client)
    status, reply = reply_to(client, case["case_id"], {"text": "Sorry Ana, it ships today."})
    assert status == 202, reply
    send_queue(sqs, env)
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "sent"

    # The sender's record is on the ingest queue; Meta's `sent` status is processed first (another
    # invocation): hide the record meanwhile.
    ingest = env["SOCIALCRM_INGEST_QUEUE_URL"]
    held = sqs.receive_message(QueueUrl=ingest, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
    assert len(held) == 1
    at = datetime.now(UTC)
    post(
        client, "meta", wa_status(tracked["platform_message_id"], "sent", at, f"socialcrm:{reply['reply_id']}"), secrets
    )
    process(sqs, env)
    for message in held:
        sqs.change_message_visibility(QueueUrl=ingest, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    process(sqs, env)

    _, timeline = call(client, "get", f"/customers/{case['customer_id']}/interactions")
    outbound = [i for i in timeline["interactions"] if i.get("direction") == "outbound"]
    assert [i.get("text") for i in outbound] == ["Sorry Ana, it ships today."]


def test_a_reply_made_while_the_outbound_queue_was_down_is_audited(
    client, sqs, platforms, secrets, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chalicelib.adapters.outbound import OutboundQueue
    from chalicelib.ports import QueueUnavailable
    from tests.helpers import call, meta_message
    from tests.integration.test_replies import COMPLAINT, PSID, platforms_env, post, process, reply_to, the_case

    env = platforms_env()
    page = "104000000000001"
    post(client, "meta", meta_message(page, PSID, "m_q1", COMPLAINT, datetime.now(UTC) - timedelta(minutes=3)), secrets)
    process(sqs, env)
    case = the_case(client)

    real = OutboundQueue.enqueue
    outage = [True]

    def flaky(self: OutboundQueue, reply_id: str, delay_seconds: int = 0) -> None:
        if outage.pop() if outage else False:
            raise QueueUnavailable("SendMessage failed: EndpointConnectionError")
        real(self, reply_id, delay_seconds)

    monkeypatch.setattr(OutboundQueue, "enqueue", flaky)
    body = {"text": "Checking with the courier now.", "client_reply_id": "r-503"}
    assert reply_to(client, case["case_id"], body)[0] == 503
    status, reply = reply_to(client, case["case_id"], body)
    assert status == 202, reply

    _, trail = call(client, "get", "/audit?action=reply.create", role="supervisor")
    assert [entry["detail"].get("reply_id") for entry in trail["entries"]] == [reply["reply_id"]]


def test_a_generic_source_cannot_be_configured_without_an_outbound_secret() -> None:
    """The sender reads the app secret only; the sources' inbound secrets live in the webhook
    secret, out of its reach. So an outbound entry must carry its own secret, and a document
    without one is refused before it is deployed rather than failing every reply."""
    from tools.secrets import SecretsFileError, validate

    document = {
        "meta_app_secret": "a" * 32,
        "meta_verify_token": "b" * 32,
        "x_consumer_secret": "c" * 32,
        "telegram_secret_token": "d" * 32,
        "trustpilot_token": "e" * 32,
        "generic_outbound": {"helpdesk": {"url": "https://helpdesk.example/socialcrm/replies"}},
    }
    with pytest.raises(SecretsFileError, match="generic_outbound"):
        validate(document, "test")
    document["generic_outbound"] = {"helpdesk": {"url": "https://helpdesk.example/r", "secret": "f" * 32}}
    assert validate(document, "test")["generic_outbound"]["helpdesk"]["secret"] == "f" * 32
