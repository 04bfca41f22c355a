"""The lake queue's consumer: the lake's rule puts every event on the bus on this queue, and each
batch goes to the data lake through chalicelib/lake/archive.py. Records that did not reach
Firehose are reported as failed, so SQS redelivers only those (the records are the same each
time; the lake's queries count distinct `record_id`s)."""

from __future__ import annotations

from typing import Any

from chalicelib.dependencies import archiver
from chalicelib.observability import count, logger


def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records", [])
    done = archiver().archive({record["messageId"]: record["body"] for record in records})
    logger.info(
        "events archived in the lake",
        extra={"records": len(records), "accepted": done.accepted, "failed": len(done.failed)},
    )
    count("LakeRecordsArchived", done.accepted)
    count("LakeRecordsFailed", len(done.failed))
    if done.unreadable:
        count("LakeRecordsUnreadable", done.unreadable)
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in sorted(done.failed)]}
