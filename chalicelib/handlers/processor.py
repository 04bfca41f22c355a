"""The ingest queue's consumer: Chalice hands over the SQS batch, Powertools' BatchProcessor
reports which records failed, so SQS redelivers only those, and sooner than its visibility
timeout (RetryScheduler)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.dependencies import interaction_processor, retry_scheduler
from chalicelib.observability import logger
from chalicelib.services.process import summary

DEFAULT_REMAINING_MS = 60_000


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = interaction_processor()
    records = event.get("Records", [])
    remaining = context.get_remaining_time_in_millis() if context is not None else DEFAULT_REMAINING_MS
    prepared = processor.prepare({r["messageId"]: r["body"] for r in records}, remaining)
    logger.info("batch prepared", extra={"records": len(prepared), **summary(prepared)})

    def complete(record: SQSRecord) -> None:
        try:
            processor.complete(prepared[record.message_id])
        except Exception as exc:
            # The reason names the step and the AWS error code, never the text.
            logger.warning(
                "record failed",
                extra={
                    "message_id": record.message_id,
                    "receive_count": _receive_count(record.raw_event),
                    "error": type(exc).__name__,
                    "reason": str(exc)[:300],
                },
            )
            raise

    response = process_partial_response(
        event=event, record_handler=complete, processor=BatchProcessor(event_type=EventType.SQS), context=context
    )
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    if failed:
        retry_scheduler().postpone(
            [(r["receiptHandle"], _receive_count(r)) for r in records if r["messageId"] in failed]
        )
    return dict(response)


def _receive_count(record: dict[str, Any]) -> int:
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1
