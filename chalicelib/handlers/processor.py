"""The ingest queue's consumer: Chalice hands over the SQS batch, Powertools' BatchProcessor
reports which records failed, so SQS redelivers only those, and sooner than its visibility
timeout (RetryScheduler). The events the batch raised are published together at the end
(PutEvents takes ten at a time); a record whose events did not all reach the bus fails too."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from chalicelib.adapters.queue import receive_count
from chalicelib.adapters.routing_source import RoutingUnavailable
from chalicelib.dependencies import dead_letters, event_bus, interaction_processor, retry_scheduler
from chalicelib.errors import describe
from chalicelib.models.events import DomainEvent
from chalicelib.observability import count, logger
from chalicelib.ports import EventPublisher
from chalicelib.rules.routing import RoutingError
from chalicelib.services.process import Outcome, RecordFailed, in_time, summary

DEFAULT_REMAINING_MS = 60_000


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    try:
        processor = interaction_processor()
    except RoutingError:
        # Only a container that never read a valid document gets here (a warm one keeps its last
        # valid document); the source has logged why and counted RoutingInvalid, which is alarmed.
        # Every record waits the longest retry delay, so the ten receives last 2.5 hours (not
        # minutes) before the dead-letter queue, and none waits out the 30-minute timeout.
        logger.error("no valid routing document: the batch waits for a fix", extra={"records": len(records)})
        return _fail(records, {r["messageId"] for r in records}, longest=True)
    except RoutingUnavailable as exc:
        logger.error("routing document unreadable: the batch waits", extra={"reason": str(exc)[:300]})
        count("RoutingInvalid")
        return _fail(records, {r["messageId"] for r in records}, longest=True)
    remaining = context.get_remaining_time_in_millis() if context is not None else DEFAULT_REMAINING_MS
    prepared = processor.prepare({r["messageId"]: r["body"] for r in records}, remaining)
    outcomes = summary(prepared)
    logger.info("batch prepared", extra={"records": len(prepared), **outcomes})
    # What is not an interaction never will be: kept on the dead-letter queue at once (alarmed there),
    # not retried for an hour and a half first.
    invalid = {
        r["messageId"]: (r["body"], prepared[r["messageId"]].reason)
        for r in records
        if prepared[r["messageId"]].outcome is Outcome.INVALID
    }
    dead = dead_letters().send(invalid) if invalid else set()
    raised: dict[str, tuple[DomainEvent, ...]] = {}

    def complete(record: SQSRecord) -> None:
        if record.message_id in dead:
            return
        try:
            raised[record.message_id] = processor.complete(prepared[record.message_id])
        except Exception as exc:
            # The reason names the step and the AWS error code, never the text.
            logger.warning(
                "record failed",
                extra={
                    "message_id": record.message_id,
                    "receive_count": receive_count(record.raw_event),
                    "error": type(exc).__name__,
                    # Our own reasons name the step; other errors are named, never quoted.
                    "reason": str(exc)[:300] if isinstance(exc, RecordFailed) else describe(exc),
                },
            )
            raise

    # A batch whose every record failed is reported like any other (not raised), so that its
    # records get the short retry delay below and the failure counts, rather than waiting out the
    # queue's visibility timeout unseen.
    batch = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    # In the order things happened, not the order SQS handed them over: a customer's message before
    # the brand's reply to it, so the reply answers its case at once instead of waiting for it.
    ordered = {**event, "Records": sorted(records, key=lambda r: in_time(prepared[r["messageId"]]))}
    response = process_partial_response(event=ordered, record_handler=complete, processor=batch, context=context)
    failed = {str(item["itemIdentifier"]) for item in response.get("batchItemFailures", [])}
    unpublished = publish(event_bus(), raised)
    for message_id in raised:
        processor.finish(prepared[message_id], published=message_id not in unpublished)
    if unpublished:
        logger.warning("records failed: events not published", extra={"records": len(unpublished)})
        failed |= unpublished
    count("RecordsInvalid", len(dead))
    count("DuplicateRecords", outcomes.get(Outcome.DUPLICATE.value, 0))
    return _fail(records, failed)


def _fail(records: list[dict[str, Any]], failed: set[str], longest: bool = False) -> dict[str, Any]:
    """Report the failed records to SQS, brought back after the retry delay for their receive count
    (or the longest delay)."""
    if failed:
        retry_scheduler().postpone(
            [(r["receiptHandle"], receive_count(r)) for r in records if r["messageId"] in failed], longest
        )
    count("RecordsProcessed", len(records) - len(failed))
    count("RecordsFailed", len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(failed)]}


def publish(bus: EventPublisher, raised: dict[str, tuple[DomainEvent, ...]]) -> set[str]:
    """Publish every record's events in as few calls as fit; the records not fully published."""
    owners = [message_id for message_id, events in raised.items() for _ in events]
    events = [event for events in raised.values() for event in events]
    if not events:
        return set()
    accepted = bus.publish(events)
    return {owner for owner, ok in zip(owners, accepted, strict=True) if not ok}
