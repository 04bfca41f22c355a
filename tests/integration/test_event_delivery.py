"""Events reach the bus at least once and never twice in effect: a record whose events EventBridge
did not take fails and, redelivered by SQS, publishes the events stored with it (no second
interaction, no second case); a duplicate webhook delivery raises its events once."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from botocore.stub import Stubber

import app as app_module
from chalicelib import dependencies
from tests.helpers import call, drain, process_queue, tap_all_events
from tools.local.worker import LambdaContext, SqsConsumer, sqs_event
from tools.webhook_client import sign

COMPLAINT = "My parcel never arrived and nobody answers my emails, this is terrible service"


def telegram(update_id: int, message_id: int, text: str, user: int = 5151) -> bytes:
    message = {
        "message_id": message_id,
        "from": {"id": user, "is_bot": False, "first_name": "Rui"},
        "chat": {"id": user, "type": "private"},
        "date": 1763812800,
        "text": text,
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def post(client: Any, secrets: dict[str, Any], body: bytes) -> None:
    request = sign("telegram", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200


def published(sqs: Any, tap: str) -> Counter[str]:
    return Counter(event["detail-type"] for event in drain(sqs, tap))


def timeline(client: Any, platform: str, user_id: str) -> list[dict[str, Any]]:
    status, found = call(client, "get", f"/identities/{platform}/{user_id}")
    assert status == 200
    _, page = call(client, "get", f"/customers/{found['customer_id']}/interactions")
    interactions: list[dict[str, Any]] = page["interactions"]
    return interactions


def test_events_the_bus_refused_are_published_when_sqs_delivers_the_record_again(
    client: Any, sqs: Any, pipeline: dict[str, str], secrets: dict[str, Any]
) -> None:
    tap = tap_all_events(pipeline)
    queue = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post(client, secrets, telegram(1, 1, COMPLAINT))
    (message,) = sqs.receive_message(QueueUrl=queue, AttributeNames=["All"])["Messages"]
    consumer = SqsConsumer("process_interactions", app_module.process_interactions, queue, "arn:ingest", 1000, 0)

    bus = dependencies.event_bus()
    with Stubber(bus._events()) as outage:  # EventBridge answers the batch's PutEvents with a 500
        outage.add_client_error("put_events", "InternalException", "try again", http_status_code=500)
        response = app_module.process_interactions(sqs_event(consumer, [message], "us-east-1"), LambdaContext("p"))
        outage.assert_no_pending_responses()
    assert response == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}
    assert published(sqs, tap) == Counter()
    (stored,) = timeline(client, "telegram", "5151")  # stored, with its events waiting in the pointer
    assert stored["intent"]["label"] == "complaint"

    # SQS delivers the failed record again once its (shortened) visibility timeout is over.
    sqs.change_message_visibility(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert process_queue(sqs, queue) == 1
    assert published(sqs, tap) == Counter({"Interaction Routed": 1, "Case Opened": 1, "Interaction Stored": 1})
    (again,) = timeline(client, "telegram", "5151")
    assert again["case_id"] == stored["case_id"]
    status, listing = call(client, "get", "/cases?status=open")
    assert status == 200
    assert [case["case_id"] for case in listing["cases"]] == [stored["case_id"]]


def test_a_duplicate_webhook_delivery_raises_its_events_once(
    client: Any, sqs: Any, pipeline: dict[str, str], secrets: dict[str, Any]
) -> None:
    tap = tap_all_events(pipeline)
    body = telegram(2, 2, COMPLAINT, user=6161)
    post(client, secrets, body)
    post(client, secrets, body)
    assert process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"]) == 2
    assert published(sqs, tap) == Counter({"Interaction Routed": 1, "Case Opened": 1, "Interaction Stored": 1})
    assert len(timeline(client, "telegram", "6161")) == 1
