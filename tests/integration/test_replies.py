"""Replies sent from socialcrm, on moto and the platform sandbox: an agent answers a case through
the ops API, the sender calls the platform (the sandbox, at the platform's documented endpoint),
the reply is tracked to delivered / read by the platform's own echoes and receipts, and the case is
responded by that agent with its first-response time. Windows, limits, a double POST, a retried
send, a send that may have reached the platform, rate limits and a revoked token, each once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from tests.helpers import call, drain, meta_message, process_queue, tap_all_events
from tools.sandbox.server import SandboxServer
from tools.webhook_client import sign

PAGE = "104000000000001"  # a page the dev secrets hold a token for
PSID = "25000000000000901"
WA_NUMBER = "100000000000101"
WA_USER = "5511900000901"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"


def sent_to(server: SandboxServer, platform: str | None = None) -> list[dict[str, Any]]:
    return [record.to_dict() for record in server.sandbox.received(platform)]


def fault(server: SandboxServer, platform: str, status: int, count: int, **extra: Any) -> None:
    """The sandbox's POST /faults: the next `count` sends to the platform fail with `status`."""
    import urllib.request

    body = json.dumps({"platform": platform, "status": status, "count": count, **extra}).encode()
    request = urllib.request.Request(f"{server.url}/faults", data=body, method="POST")  # noqa: S310
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 - the test's own server
        assert answer.status in (200, 201)


def post(client: Any, channel: str, body: bytes, secrets: dict[str, Any]) -> None:
    request = sign(channel, body, secrets)
    response = client.http.post(request.path, headers=request.headers, body=request.body)
    assert response.status_code == 200, response.body


def send_queue(sqs: Any, env: dict[str, str]) -> int:
    """Run the sender over the outbound queue, as its event source mapping would."""
    import app as app_module
    from tools.local import worker

    url = env["SOCIALCRM_OUTBOUND_QUEUE_URL"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consumer = worker.SqsConsumer("send_replies", app_module.send_replies, url, arn, 10, 0)
    handled = 0
    while count := worker.poll_once(consumer, sqs, "us-east-1", wait_seconds=0):
        handled += count
    return handled


def process(sqs: Any, env: dict[str, str]) -> int:
    return process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"])


def the_case(client: Any) -> dict[str, Any]:
    status, page = call(client, "get", "/cases?status=open")
    assert status == 200
    (case,) = page["cases"]
    return dict(case)


def reply_to(client: Any, case_id: str, body: dict[str, Any], role: str = "agent") -> tuple[int, Any]:
    return call(client, "post", f"/cases/{case_id}/replies", body, role=role)


def whatsapp(value: dict[str, Any]) -> bytes:
    metadata = {"display_phone_number": "15550000101", "phone_number_id": WA_NUMBER}
    change = {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata, **value}}
    return json.dumps(
        {"object": "whatsapp_business_account", "entry": [{"id": "1000101", "changes": [change]}]}
    ).encode()


def wa_message(wamid: str, text: str, at: datetime) -> bytes:
    return whatsapp(
        {
            "contacts": [{"profile": {"name": "Ana"}, "wa_id": WA_USER}],
            "messages": [
                {
                    "from": WA_USER,
                    "id": wamid,
                    "timestamp": str(int(at.timestamp())),
                    "type": "text",
                    "text": {"body": text},
                }
            ],
        }
    )


def wa_status(wamid: str, status: str, at: datetime, callback: str | None = None) -> bytes:
    item: dict[str, Any] = {
        "id": wamid,
        "status": status,
        "timestamp": str(int(at.timestamp())),
        "recipient_id": WA_USER,
    }
    if callback:
        item["biz_opaque_callback_data"] = callback
    return whatsapp({"statuses": [item]})


def receipt(kind: str, at: datetime) -> bytes:
    millis = int(at.timestamp() * 1000)
    item = {"sender": {"id": PSID}, "recipient": {"id": PAGE}, "timestamp": millis, kind: {"watermark": millis}}
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": millis, "messaging": [item]}]}).encode()


def test_an_agent_answers_a_messenger_complaint_and_follows_it_to_read(client, sqs, platforms, secrets) -> None:
    """Complaint -> case -> POST reply (202, queued) -> the sandbox gets one Send API call ->
    sent -> the case is responded by the agent with its first-response time -> Meta's echo (with
    socialcrm's metadata) is the same interaction, not a second -> delivery and read receipts."""
    env = platforms_env()
    written = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    post(client, "meta", meta_message(PAGE, PSID, "m_c1", COMPLAINT, written), secrets)
    assert process(sqs, env) == 1
    case = the_case(client)

    status, reply = reply_to(client, case["case_id"], {"text": "Sorry Ana, it ships today.", "client_reply_id": "r-1"})
    assert status == 202, reply
    assert (reply["state"], reply["platform"], reply["channel_account"], reply["visibility"]) == (
        "queued",
        "messenger",
        PAGE,
        "private",
    )
    assert reply["by"].startswith("cognito:")
    assert sent_to(platforms) == []  # the route sends nothing itself

    assert send_queue(sqs, env) == 1
    (message,) = sent_to(platforms)
    assert (message["platform"], message["recipient"], message["text"]) == (
        "messenger",
        PSID,
        "Sorry Ana, it ships today.",
    )
    status, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert status == 200
    assert tracked["state"] == "sent"
    assert tracked["platform_message_id"] == message["platform_message_id"]
    assert tracked["sent_at"] is not None

    assert process(sqs, env) == 1  # the sent reply, as the brand's outbound interaction
    status, answered = call(client, "get", f"/cases/{case['case_id']}")
    assert answered["status"] == "responded"
    assert answered["responded_by"] == reply["by"]
    assert answered["first_response_seconds"] is not None
    assert answered["first_response_seconds"] >= 30 * 60 - 5

    # Meta echoes it back with the metadata socialcrm sent: the same interaction (same mid).
    echo = json.loads(
        meta_message(PAGE, PSID, message["platform_message_id"], message["text"], datetime.now(UTC), echo=True)
    )
    echo["entry"][0]["messaging"][0]["message"]["metadata"] = f"socialcrm:{reply['reply_id']}"
    post(client, "meta", json.dumps(echo).encode(), secrets)
    process(sqs, env)
    customer = answered["customer_id"]
    _, timeline = call(client, "get", f"/customers/{customer}/interactions")
    outbound = [i for i in timeline["interactions"] if i.get("direction") == "outbound"]
    assert len(outbound) == 1

    # Receipts arrive out of order: read first, then delivery; the reply only moves forward.
    post(client, "meta", receipt("read", datetime.now(UTC) + timedelta(seconds=5)), secrets)
    post(client, "meta", receipt("delivery", datetime.now(UTC) + timedelta(seconds=5)), secrets)
    process(sqs, env)
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "read"
    # The case's view and the customer's timeline show the reply once, with its state.
    _, viewed = call(client, "get", f"/cases/{case['case_id']}")
    assert [(r["reply_id"], r["state"]) for r in viewed["replies"]] == [(reply["reply_id"], "read")]
    _, timeline = call(client, "get", f"/customers/{customer}/interactions")
    shown = [
        (i.get("reply_id"), i.get("reply_state")) for i in timeline["interactions"] if i["direction"] == "outbound"
    ]
    assert shown == [(reply["reply_id"], "read")]
    assert tracked["delivered_at"] is not None
    assert tracked["read_at"] is not None

    # The same client reply id again: the same reply, nothing sent again.
    status, again = reply_to(client, case["case_id"], {"text": "Sorry Ana, it ships today.", "client_reply_id": "r-1"})
    assert status == 202
    assert again["reply_id"] == reply["reply_id"]
    send_queue(sqs, env)
    assert len(sent_to(platforms)) == 1
    _, listed = call(client, "get", f"/cases/{case['case_id']}/replies")
    assert [r["reply_id"] for r in listed["replies"]] == [reply["reply_id"]]

    # The customer's export holds the reply; their erasure takes it with everything else.
    status, exported = call(client, "get", f"/customers/{customer}/export", role="admin")
    assert status == 200
    assert [r["reply_id"] for r in exported["replies"]] == [reply["reply_id"]]
    assert call(client, "delete", f"/customers/{customer}", role="admin")[0] == 200
    assert call(client, "get", f"/replies/{reply['reply_id']}")[0] == 404


def platforms_env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if key.startswith("SOCIALCRM_")}


def test_whatsapp_outside_24_hours_is_refused_with_the_template_option_and_a_template_goes(
    client, sqs, platforms, secrets
) -> None:
    env = platforms_env()
    two_days_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
    post(client, "meta", wa_message("wamid.IN1", COMPLAINT, two_days_ago), secrets)
    process(sqs, env)
    case = the_case(client)

    status, refused = reply_to(client, case["case_id"], {"text": "Hello again"})
    assert status == 409
    assert refused["code"] == "window_closed"
    assert "template" in refused["options"]
    assert send_queue(sqs, env) == 0
    assert sent_to(platforms) == []

    template = {"name": "order_update", "language": "pt_BR", "parameters": ["4821"]}
    status, reply = reply_to(client, case["case_id"], {"template": template})
    assert status == 202, reply
    send_queue(sqs, env)
    (message,) = sent_to(platforms, "whatsapp")
    assert message["recipient"] == WA_USER
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "sent"

    # WhatsApp's statuses, out of order: read, then a late delivered; the callback names the reply.
    wamid = tracked["platform_message_id"]
    now = datetime.now(UTC)
    post(client, "meta", wa_status(wamid, "read", now, f"socialcrm:{reply['reply_id']}"), secrets)
    post(client, "meta", wa_status(wamid, "delivered", now - timedelta(seconds=1)), secrets)
    process(sqs, env)
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "read"


def telegram(message_id: int, text: str, at: datetime) -> bytes:
    chat = {"id": 6100000901, "type": "private", "first_name": "Ana"}
    message = {"message_id": message_id, "from": {"id": 6100000901, "is_bot": False, "first_name": "Ana"}}
    message.update({"chat": chat, "date": int(at.timestamp()), "text": text})
    return json.dumps({"update_id": 800000000 + message_id, "message": message}).encode()


def test_a_telegram_429_twice_then_success_sends_exactly_one_message(client, sqs, platforms, secrets) -> None:
    env = platforms_env()
    post(client, "telegram", telegram(41, COMPLAINT, datetime.now(UTC) - timedelta(minutes=5)), secrets)
    process(sqs, env)
    case = the_case(client)
    fault(platforms, "telegram", 429, 2, retry_after=1)

    status, reply = reply_to(client, case["case_id"], {"text": "We are on it."})
    assert status == 202
    for _ in range(3):  # each 429 puts the reply back with Telegram's retry_after; run it again
        release_delays(sqs, env)
        send_queue(sqs, env)
    (message,) = sent_to(platforms, "telegram")
    assert message["recipient"] == "6100000901"
    calls = [r.status for r in platforms.sandbox.received("telegram", everything=True)]
    assert calls == [429, 429, 200]  # three platform calls, one message
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "sent"
    assert tracked["error"] is None


def release_delays(sqs: Any, env: dict[str, str]) -> None:
    """moto honours DelaySeconds: wait out Telegram's one-second hint (and the chat's pacing)."""
    import time

    time.sleep(2.1)


def test_a_send_that_may_have_reached_the_platform_is_never_repeated(client, sqs, platforms, secrets) -> None:
    """The sender took the reply and died before it recorded the platform's answer: the redelivery
    cannot know, so it marks the reply unknown (never 'sent') and calls nothing; the echo with
    socialcrm's metadata then shows it was sent."""
    from chalicelib import dependencies

    env = platforms_env()
    post(client, "meta", meta_message(PAGE, PSID, "m_c2", COMPLAINT, datetime.now(UTC) - timedelta(minutes=3)), secrets)
    process(sqs, env)
    case = the_case(client)
    _, reply = reply_to(client, case["case_id"], {"text": "Checking now."})
    # A sender took it ten minutes ago and the function timed out mid-call (SQS brings the record
    # back after its visibility timeout, six minutes).
    taken, mine = dependencies.reply_store().begin_send(reply["reply_id"], datetime.now(UTC) - timedelta(minutes=10))
    assert mine
    assert taken is not None

    send_queue(sqs, env)
    assert sent_to(platforms) == []
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert tracked["state"] == "unknown"

    echo = json.loads(meta_message(PAGE, PSID, "m_echo_9", "Checking now.", datetime.now(UTC), echo=True))
    echo["entry"][0]["messaging"][0]["message"]["metadata"] = f"socialcrm:{reply['reply_id']}"
    post(client, "meta", json.dumps(echo).encode(), secrets)
    process(sqs, env)
    _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
    assert (tracked["state"], tracked["platform_message_id"]) == ("sent", "m_echo_9")
    _, answered = call(client, "get", f"/cases/{case['case_id']}")
    assert answered["responded_by"] == reply["by"]


def test_a_revoked_token_fails_the_reply_and_alerts_ops_once_per_episode(client, sqs, platforms, secrets) -> None:
    env = platforms_env()
    tap = tap_all_events(env)
    post(client, "meta", meta_message(PAGE, PSID, "m_c3", COMPLAINT, datetime.now(UTC) - timedelta(minutes=3)), secrets)
    process(sqs, env)
    case = the_case(client)
    drain(sqs, tap)
    fault(platforms, "messenger", 401, 2)

    replies = [reply_to(client, case["case_id"], {"text": f"Attempt {n}"})[1] for n in (1, 2)]
    send_queue(sqs, env)
    for reply in replies:
        _, tracked = call(client, "get", f"/replies/{reply['reply_id']}")
        assert tracked["state"] == "failed"
        assert (tracked["error"]["class"], tracked["error"]["code"]) == ("reauth", "190")
    alerts = [event for event in drain(sqs, tap) if event["detail-type"] == "Channel Needs Reauthorization"]
    assert len(alerts) == 1
    assert (alerts[0]["detail"]["platform"], alerts[0]["detail"]["channel_account"]) == ("messenger", PAGE)
    assert sent_to(platforms) == []
    assert [r.status for r in platforms.sandbox.received("messenger", everything=True)] == [401, 401]


def test_refusals_and_bad_requests_send_nothing(client, sqs, platforms, secrets) -> None:
    env = platforms_env()
    post(client, "meta", meta_message(PAGE, PSID, "m_c4", COMPLAINT, datetime.now(UTC) - timedelta(minutes=3)), secrets)
    process(sqs, env)
    case = the_case(client)
    assert reply_to(client, "nobody_20260101000000abcdef", {"text": "hi"})[0] == 404
    assert reply_to(client, case["case_id"], {"text": ""})[0] == 400
    assert reply_to(client, case["case_id"], {"text": "hi", "visibility": "loud"})[0] == 400
    assert reply_to(client, case["case_id"], {"text": "hi", "surprise": 1})[0] == 400
    status, refused = reply_to(client, case["case_id"], {"text": "x" * 2001})
    assert (status, refused["code"]) == (409, "too_long")
    assert call(client, "post", f"/cases/{case['case_id']}/replies", {"text": "hi"}, token=None)[0] == 401
    send_queue(sqs, env)
    assert sent_to(platforms) == []
    # Who sent it and when come from the signed-in principal and the server's clock, never the body.
    assert reply_to(client, case["case_id"], {"text": "hi", "by": "someone-else"})[0] == 400
    assert reply_to(client, case["case_id"], {"text": "hi", "created_at": "2020-01-01T00:00:00Z"})[0] == 400
    assert (
        boto3.client("sqs").get_queue_attributes(
            QueueUrl=env["SOCIALCRM_OUTBOUND_QUEUE_URL"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )


def feed_comment(comment_id: str, author: str, text: str, at: datetime) -> bytes:
    value = {
        "post_id": f"{PAGE}_900",
        "comment_id": comment_id,
        "parent_id": f"{PAGE}_900",
        "from": {"id": author, "name": "Ana"},
        "message": text,
        "created_time": int(at.timestamp()),
        "item": "comment",
        "verb": "add",
    }
    millis = int(at.timestamp() * 1000)
    change = {"field": "feed", "value": value}
    return json.dumps({"object": "page", "entry": [{"id": PAGE, "time": millis, "changes": [change]}]}).encode()


def test_a_private_reply_to_a_facebook_comment_is_one_interaction_though_meta_echoes_it_on_messenger(
    client, sqs, platforms, secrets
) -> None:
    """Meta delivers a comment's private reply on Messenger, to the person's PSID (not the id their
    comment carried), and echoes it there: the echo names the reply, so it confirms it and makes
    no second interaction, nor a second customer."""
    env = platforms_env()
    commenter, psid = "7700000000000901", "25000000000000999"
    post(client, "meta", feed_comment(f"{PAGE}_900_1", commenter, COMPLAINT, datetime.now(UTC)), secrets)
    process(sqs, env)
    case = the_case(client)
    status, reply = reply_to(client, case["case_id"], {"text": "Sent you a DM.", "visibility": "private"})
    assert status == 202, reply
    assert reply["visibility"] == "private"
    send_queue(sqs, env)
    (message,) = sent_to(platforms)
    process(sqs, env)  # the sender's record: the commenter's timeline
    echo = json.loads(
        meta_message(PAGE, psid, message["platform_message_id"], message["text"], datetime.now(UTC), echo=True)
    )
    echo["entry"][0]["messaging"][0]["message"]["metadata"] = f"socialcrm:{reply['reply_id']}"
    post(client, "meta", json.dumps(echo).encode(), secrets)
    process(sqs, env)
    customer = case["customer_id"]
    _, timeline = call(client, "get", f"/customers/{customer}/interactions")
    outbound = [i for i in timeline["interactions"] if i["direction"] == "outbound"]
    assert [(i["platform"], i.get("reply_id")) for i in outbound] == [("facebook", reply["reply_id"])]
    assert call(client, "get", f"/identities/messenger/{psid}")[0] == 404  # no second customer
    _, answered = call(client, "get", f"/cases/{case['case_id']}")
    assert (answered["status"], answered["responded_by"]) == ("responded", reply["by"])


def test_an_echo_without_socialcrms_id_processed_first_still_answers_in_the_agents_name(
    client, sqs, platforms, secrets
) -> None:
    """Some echoes carry nothing of socialcrm's (X, the Page feed; here a Messenger echo without
    metadata): processed before the sender's own record of the reply (SQS has no order), it is
    found among the customer's replies by the platform's id, and answers as the agent."""
    env = platforms_env()
    post(client, "meta", meta_message(PAGE, PSID, "m_c5", COMPLAINT, datetime.now(UTC) - timedelta(minutes=3)), secrets)
    process(sqs, env)
    case = the_case(client)
    _, reply = reply_to(client, case["case_id"], {"text": "On it."})
    send_queue(sqs, env)
    (message,) = sent_to(platforms)
    ingest = env["SOCIALCRM_INGEST_QUEUE_URL"]
    (record,) = drain(sqs, ingest)  # the sender's record, held back
    echo = meta_message(PAGE, PSID, message["platform_message_id"], "On it.", datetime.now(UTC), echo=True)
    post(client, "meta", echo, secrets)  # its metadata is another tool's ("agent:desk-1")
    process(sqs, env)
    sqs.send_message(QueueUrl=ingest, MessageBody=json.dumps(record))
    process(sqs, env)  # a duplicate of the echo now: nothing more is stored
    _, answered = call(client, "get", f"/cases/{case['case_id']}")
    assert (answered["status"], answered["responded_by"]) == ("responded", reply["by"])
    _, timeline = call(client, "get", f"/customers/{case['customer_id']}/interactions")
    outbound = [i for i in timeline["interactions"] if i["direction"] == "outbound"]
    assert [(i.get("reply_id"), i.get("reply_state")) for i in outbound] == [(reply["reply_id"], "sent")]
