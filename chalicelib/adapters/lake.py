"""Putting lake records on the Kinesis Data Firehose delivery stream that writes them to S3.

PutRecordBatch takes at most 500 records and 4 MiB a call, each record at most 1,000 KiB; records
are packed to fit. A call that fails outright is retried by botocore; one that succeeds with some
records refused (`FailedPutCount`, usually ServiceUnavailableException when the stream is
throttled) is retried here for those records alone, with a growing wait. What still fails is
reported per record, so the caller fails only the messages that raised it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.adapters.batching import put_with_retries
from chalicelib.observability import logger

MAX_RECORDS = 500
MAX_BYTES = 4 * 1024 * 1024
MAX_RECORD_BYTES = 1000 * 1024
ATTEMPTS = 4


def encode(record: dict[str, Any]) -> bytes:
    """One JSON object a line: what Athena's JSON SerDe and DuckDB read, and what Firehose's
    dynamic partitioning parses (it takes `lake_table` and `day` from each record)."""
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode()


class FirehoseSink:
    def __init__(self, stream_name: str, firehose_client: Any = None, backoff_seconds: float = 0.2) -> None:
        self._stream = stream_name
        self._client = firehose_client
        self._backoff = backoff_seconds
        self.calls = 0

    def put(self, records: Sequence[dict[str, Any]]) -> list[bool]:
        data = [encode(record) for record in records]
        accepted = [False] * len(data)
        too_big = {i for i, blob in enumerate(data) if len(blob) > MAX_RECORD_BYTES}
        if too_big:
            logger.error("lake records too large for Firehose", extra={"count": len(too_big)})
        pending = put_with_retries(
            [i for i in range(len(data)) if i not in too_big],
            lambda i: len(data[i]),
            MAX_RECORDS,
            MAX_BYTES,
            lambda indexes: self._put(indexes, data, accepted),
            ATTEMPTS,
            self._backoff,
        )
        if pending:
            logger.warning("lake records not accepted by Firehose", extra={"count": len(pending)})
        return accepted

    def _put(self, indexes: list[int], data: list[bytes], accepted: list[bool]) -> list[int]:
        """Send one batch; returns the indexes worth another try."""
        self.calls += 1
        try:
            response = self._firehose().put_record_batch(
                DeliveryStreamName=self._stream, Records=[{"Data": data[i]} for i in indexes]
            )
        except Exception as exc:  # botocore already retried; the messages are retried through SQS
            logger.warning("PutRecordBatch failed", extra={"error": type(exc).__name__, "records": len(indexes)})
            return []
        retry = []
        for index, result in zip(indexes, response.get("RequestResponses", []), strict=False):
            if result.get("RecordId") and not result.get("ErrorCode"):
                accepted[index] = True
            else:
                retry.append(index)
        return retry

    def _firehose(self) -> Any:
        if self._client is None:
            self._client = client("firehose", WORKER_PROFILE)
        return self._client
