"""The outbound queue's consumer: each record names a reply to send. The service decides; this
puts a reply the platform asked to wait for back on the queue with that delay, and reports the
records that failed for reasons of socialcrm's own (DynamoDB, the secrets) so that SQS brings
them back, and dead-letters them after its receives."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from chalicelib.dependencies import outbound_queue, reply_sender
from chalicelib.errors import describe
from chalicelib.observability import count, logger


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed: list[str] = []
    for record in event.get("Records", []):
        message_id = str(record.get("messageId"))
        try:
            reply_id = _reply_id(record.get("body"))
        except ValueError:
            logger.error("not a reply on the outbound queue: dropped", extra={"message_id": message_id})
            count("OutboundInvalid")
            continue
        try:
            result = reply_sender().send(reply_id, datetime.now(UTC))
            if result.retry_after is not None:
                outbound_queue().enqueue(reply_id, result.retry_after)
        except Exception as exc:
            logger.warning("reply not handled: retried", extra={"message_id": message_id, "error": describe(exc)})
            failed.append(message_id)
    count("OutboundFailed", len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}


def _reply_id(body: Any) -> str:
    try:
        document = json.loads(str(body))
    except ValueError:
        raise ValueError("not JSON") from None
    reply_id = document.get("reply_id") if isinstance(document, dict) else None
    if not isinstance(reply_id, str) or not reply_id:
        raise ValueError("no reply_id")
    return reply_id
