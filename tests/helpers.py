"""Small test helpers: draining the ingest queue."""

from __future__ import annotations

import json
from typing import Any


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message body on the queue, decoded, in the order received."""
    bodies: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def process_queue(sqs: Any, queue_url: str) -> int:
    """Run the app's queue consumer over everything on the queue, as the local worker (and
    Lambda's event source mapping) would; returns how many records were handed to it."""
    import app as app_module
    from tools.local import worker

    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consumer = worker.SqsConsumer("process_interactions", app_module.process_interactions, queue_url, arn, 250, 0)
    handled = 0
    while count := worker.poll_once(consumer, sqs, "us-east-1", wait_seconds=0):
        handled += count
    return handled
