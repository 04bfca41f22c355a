"""The alerts queue's consumer (the notifier) and the schedules: SLA watch, crisis watch, digest.

EventBridge rules put alert events on the alerts queue (moto cannot deliver EventBridge to SNS,
and the queue gives hygiene a place and retries a dead-letter queue). Each record is one event.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.adapters.queue import receive_count
from chalicelib.dependencies import (
    alert_store,
    alerts_retry_scheduler,
    crisis_watch,
    notification_channels,
    notifier,
    sla_watch,
)
from chalicelib.observability import logger


class NotAnAlert(ValueError):
    """A record that is not an EventBridge event of ours: it fails, and the DLQ keeps it."""


def handle_alerts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    service = notifier()

    def one(record: SQSRecord) -> None:
        envelope = _envelope(record.body)
        status = service.handle(envelope)
        logger.info(
            "alert handled",
            extra={
                "type": envelope["detail-type"],
                "status": status.value,
                "severity": envelope["detail"].get("severity"),
            },
        )

    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    response: dict[str, Any] = dict(
        process_partial_response(event=event, record_handler=one, processor=processor, context=context)
    )
    failures: list[dict[str, Any]] = response.get("batchItemFailures", [])
    failed = {str(item["itemIdentifier"]) for item in failures}
    if failed:  # back off as the ingest queue does: SNS down for an hour is retried, not dead-lettered
        records = event.get("Records", [])
        alerts_retry_scheduler().postpone(
            [(r["receiptHandle"], receive_count(r)) for r in records if r["messageId"] in failed]
        )
    return response


def _envelope(body: str) -> dict[str, Any]:
    try:
        raw = json.loads(body)
        parsed = EventBridgeEvent(raw)
        if parsed.source != "socialcrm" or not isinstance(parsed.detail, dict) or "dedupe_key" not in parsed.detail:
            raise NotAnAlert("not a socialcrm event with a dedupe_key")
        return {"detail-type": parsed.detail_type, "detail": parsed.detail, "time": parsed.time}
    except (ValueError, KeyError, TypeError) as exc:
        raise NotAnAlert(f"unreadable alert record: {type(exc).__name__}") from None


def watch_slas(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = sla_watch().run(datetime.now(UTC))
    logger.info("sla watch", extra=report.to_dict())
    return report.to_dict()


def watch_crises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    report = crisis_watch().run(datetime.now(UTC))
    logger.info("crisis watch", extra=report.to_dict())
    return report.to_dict()


def send_digest(event: dict[str, Any], context: Any) -> dict[str, int]:
    from chalicelib.services.notify import Digest

    sent = Digest(alert_store(), notification_channels()).run()
    logger.info("alert digest", extra={"alerts": sent})
    return {"alerts": sent}
