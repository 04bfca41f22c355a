"""The ingest queue's consumer: Chalice hands over the SQS batch, Powertools' BatchProcessor
reports which records failed, so SQS redelivers only those."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.dependencies import interaction_processor
from chalicelib.observability import logger
from chalicelib.services.process import summary

DEFAULT_REMAINING_MS = 60_000


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    processor = interaction_processor()
    remaining = context.get_remaining_time_in_millis() if context is not None else DEFAULT_REMAINING_MS
    prepared = processor.prepare({r["messageId"]: r["body"] for r in event.get("Records", [])}, remaining)
    logger.info("batch prepared", extra={"records": len(prepared), **summary(prepared)})

    def complete(record: SQSRecord) -> None:
        processor.complete(prepared[record.message_id])

    response = process_partial_response(
        event=event, record_handler=complete, processor=BatchProcessor(event_type=EventType.SQS), context=context
    )
    return dict(response)
