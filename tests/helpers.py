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
