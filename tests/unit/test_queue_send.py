"""InteractionQueue against botocore's Stubber: partial batch failures are retried, and a
delivery is only acknowledged when every entry is on the queue."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib.adapters.queue import ENTRY_ATTEMPTS, InteractionQueue
from chalicelib.models.interaction import Author, Interaction, Kind
from chalicelib.ports import QueueUnavailable

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/socialcrm-dev-ingest"
T0 = datetime(2026, 11, 22, tzinfo=UTC)


def items(count: int) -> list[Interaction]:
    return [Interaction("x", Kind.MESSAGE, f"dm{i}", Author(str(i)), "hi", T0, T0) for i in range(count)]


@pytest.fixture
def stubbed() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("sqs", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def ok(ids: list[str]) -> dict[str, Any]:
    return {"Successful": [{"Id": i, "MessageId": f"msg-{i}", "MD5OfMessageBody": "0" * 32} for i in ids], "Failed": []}


def test_a_failed_entry_is_sent_again_alone(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch",
        {
            "Successful": [{"Id": "0", "MessageId": "a", "MD5OfMessageBody": "0" * 32}],
            "Failed": [{"Id": "1", "SenderFault": False, "Code": "InternalError"}],
        },
        {"QueueUrl": URL, "Entries": [{"Id": "0", "MessageBody": ANY}, {"Id": "1", "MessageBody": ANY}]},
    )
    stubber.add_response(
        "send_message_batch", ok(["1"]), {"QueueUrl": URL, "Entries": [{"Id": "1", "MessageBody": ANY}]}
    )
    assert InteractionQueue(URL, client).send(items(2)) == 2


def test_entries_still_failing_after_retries_make_the_send_fail(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    failed = {"Successful": [], "Failed": [{"Id": "0", "SenderFault": False, "Code": "InternalError"}]}
    for _ in range(ENTRY_ATTEMPTS):
        stubber.add_response("send_message_batch", failed)
    with pytest.raises(QueueUnavailable, match="1 of 1 messages not queued: InternalError"):
        InteractionQueue(URL, client).send(items(1))


def test_sender_faults_are_not_retried(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_response(
        "send_message_batch",
        {"Successful": [], "Failed": [{"Id": "0", "SenderFault": True, "Code": "InvalidMessageContents"}]},
    )
    with pytest.raises(QueueUnavailable, match="InvalidMessageContents"):
        InteractionQueue(URL, client).send(items(1))


def test_a_call_that_fails_outright_is_unavailable(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    stubber.add_client_error(
        "send_message_batch", service_error_code="AWS.SimpleQueueService.NonExistentQueue", http_status_code=400
    )
    with pytest.raises(QueueUnavailable, match="ClientError"):
        InteractionQueue(URL, client).send(items(1))


def test_twenty_three_interactions_take_three_calls(stubbed: tuple[Any, Stubber]) -> None:
    client, stubber = stubbed
    for ids in (range(10), range(10), range(3)):
        stubber.add_response("send_message_batch", ok([str(i) for i in ids]))
    assert InteractionQueue(URL, client).send(items(23)) == 23


def test_failed_records_come_back_sooner_each_time_twice_as_late(stubbed: tuple[Any, Stubber]) -> None:
    from chalicelib.adapters.queue import RetryScheduler

    client, stubber = stubbed
    failed = [(f"handle-{n}", n) for n in (1, 2, 3, 9)] + [(f"more-{n}", 1) for n in range(8)]
    first = [
        {"Id": "0", "ReceiptHandle": "handle-1", "VisibilityTimeout": 30},
        {"Id": "1", "ReceiptHandle": "handle-2", "VisibilityTimeout": 60},
        {"Id": "2", "ReceiptHandle": "handle-3", "VisibilityTimeout": 120},
        {"Id": "3", "ReceiptHandle": "handle-9", "VisibilityTimeout": 900},
    ] + [{"Id": str(4 + n), "ReceiptHandle": f"more-{n}", "VisibilityTimeout": 30} for n in range(6)]
    second = [{"Id": str(n), "ReceiptHandle": f"more-{6 + n}", "VisibilityTimeout": 30} for n in range(2)]
    for entries in (first, second):
        stubber.add_response(
            "change_message_visibility_batch",
            {"Successful": [{"Id": e["Id"]} for e in entries], "Failed": []},
            {"QueueUrl": URL, "Entries": entries},
        )
    RetryScheduler(URL, client).postpone(failed)


@pytest.mark.parametrize("queue", ["IngestQueue", "AlertsQueue"])
def test_a_failing_record_is_retried_for_over_an_hour_before_the_dead_letter_queue(queue: str) -> None:
    """An outage of an hour (Comprehend, DynamoDB, SNS) needs no manual redrive: each receive that
    fails waits its retry delay, and SQS dead-letters the record only after the queue's last receive."""
    from chalicelib.adapters.queue import RetryScheduler
    from tools import template as templates

    receives = templates.load()["Resources"][queue]["Properties"]["RedrivePolicy"]["maxReceiveCount"]
    waited = sum(RetryScheduler.delay(count) for count in range(1, receives + 1))
    assert waited >= 3600
    assert waited <= 2 * 3600  # and not forever: the dead-letter queue's alarm should still tell someone
