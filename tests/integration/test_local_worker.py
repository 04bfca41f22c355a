"""The local worker runs queue consumers the way Lambda's SQS event source mapping does:
batches up to the configured size, partial batch failures left for redelivery, then the DLQ."""

from __future__ import annotations

import json
import sys
import time
import types
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chalice.app import Chalice
from moto import mock_aws

from tools.local import worker

toy = Chalice(app_name="toy")
seen: list[list[str]] = []


@toy.on_sqs_message(queue="toy-queue", batch_size=5)
def consume(event: Any) -> dict[str, Any]:
    """Fails the records whose body says "fail", as a handler using BatchProcessor would."""
    records = list(event)
    seen.append([record.body for record in records])
    failed = [record.to_dict()["messageId"] for record in records if record.body == "fail"]
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


@toy.on_sqs_message(queue="toy-queue-2", batch_size=10)
def explode(event: Any) -> None:
    raise RuntimeError("handler crashed")


@toy.schedule("rate(5 minutes)")
def every_five_minutes(event: Any) -> None:
    seen.append(["tick"])


@pytest.fixture
def setup() -> Iterator[tuple[Any, dict[str, worker.SqsConsumer], str]]:
    module = types.ModuleType("toy_app")
    module.__dict__.update({"consume": consume, "explode": explode, "every_five_minutes": every_five_minutes})
    seen.clear()
    with mock_aws():
        sqs = boto3.client("sqs")
        dlq = sqs.create_queue(QueueName="toy-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})
        for name in ("toy-queue", "toy-queue-2"):
            sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1", "RedrivePolicy": redrive})
        sys.modules["toy_app"] = module
        consumers, schedules = worker.discover(module, toy, sqs)
        assert [s.every_seconds for s in schedules] == [300]
        yield sqs, {c.name: c for c in consumers}, dlq
        del sys.modules["toy_app"]


def send(sqs: Any, queue_url: str, *bodies: str) -> None:
    for body in bodies:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)


def depth(sqs: Any, queue_url: str) -> int:
    """Messages still on the queue, waiting or in flight."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def test_batches_respect_the_configured_size(setup) -> None:
    sqs, consumers, _ = setup
    consumer = consumers["consume"]
    assert (consumer.batch_size, consumer.queue_arn.endswith(":toy-queue")) == (5, True)
    send(sqs, consumer.queue_url, *[f"m{i}" for i in range(7)])
    assert worker.poll_once(consumer, sqs, "us-east-1") == 5
    assert worker.poll_once(consumer, sqs, "us-east-1") == 2
    assert sorted(body for batch in seen for body in batch) == [f"m{i}" for i in range(7)]
    assert depth(sqs, consumer.queue_url) == 0


def test_failed_records_stay_for_redelivery_and_then_go_to_the_dlq(setup) -> None:
    sqs, consumers, dlq = setup
    consumer = consumers["consume"]
    send(sqs, consumer.queue_url, "ok", "fail")
    worker.poll_once(consumer, sqs, "us-east-1")
    time.sleep(1.1)  # the visibility timeout
    assert depth(sqs, consumer.queue_url) == 1  # "ok" deleted, "fail" back on the queue
    worker.poll_once(consumer, sqs, "us-east-1")
    time.sleep(1.1)
    worker.poll_once(consumer, sqs, "us-east-1")  # third receive: over maxReceiveCount, to the DLQ
    assert seen == [["ok", "fail"], ["fail"]]
    assert depth(sqs, dlq) == 1


def test_a_crashing_handler_leaves_the_whole_batch(setup) -> None:
    sqs, consumers, _ = setup
    consumer = consumers["explode"]
    send(sqs, consumer.queue_url, "a", "b")
    assert worker.poll_once(consumer, sqs, "us-east-1") == 2
    assert depth(sqs, consumer.queue_url) == 2


def test_the_event_has_lambdas_sqs_shape(setup) -> None:
    sqs, consumers, _ = setup
    consumer = consumers["consume"]
    send(sqs, consumer.queue_url, "x")
    message = sqs.receive_message(QueueUrl=consumer.queue_url, AttributeNames=["All"])["Messages"][0]
    record = worker.sqs_event(consumer, [message], "us-east-1")["Records"][0]
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"] == consumer.queue_arn
    assert record["body"] == "x"
    assert {"ApproximateReceiveCount", "SentTimestamp"} <= set(record["attributes"])


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate_expressions(expression: str, seconds: int) -> None:
    assert worker.rate_seconds(expression) == seconds


def test_cron_schedules_are_refused_locally() -> None:
    with pytest.raises(ValueError, match="only rate"):
        worker.rate_seconds("cron(0 12 * * ? *)")


def test_due_schedules_run_once_per_interval() -> None:
    seen.clear()
    schedule = worker.Schedule("every_five_minutes", every_five_minutes, every_seconds=3600, next_run=0)
    worker.run_due([schedule])
    worker.run_due([schedule])
    assert seen == [["tick"]]
