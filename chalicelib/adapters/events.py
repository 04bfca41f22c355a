"""Publishing socialcrm's events to its EventBridge bus.

PutEvents takes at most 10 entries and 256 KB a call; entries are packed to fit both. A call that
fails outright is retried by botocore (worker profile: adaptive); a call that succeeds with some
failed entries (`FailedEntryCount`) is retried here for those entries alone, since botocore sees a
200. What still fails is reported per event, so the caller can fail just the records that raised it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.adapters.batching import pack, put_with_retries
from chalicelib.models.events import SOURCE, DomainEvent
from chalicelib.observability import logger

MAX_ENTRIES = 10
MAX_BYTES = 256 * 1024
_TIME_BYTES = 14  # what EventBridge counts for a Time field, when one is set
ATTEMPTS = 4
_RETRYABLE = frozenset({"ThrottlingException", "InternalException", "InternalFailure", "ServiceUnavailable"})


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge calculates it (Source, DetailType, Detail, Resources, Time)."""
    size = len(entry["Source"].encode()) + len(entry["DetailType"].encode())
    if entry.get("Time") is not None:
        size += _TIME_BYTES
    size += len(entry["Detail"].encode())
    size += sum(len(resource.encode()) for resource in entry.get("Resources", ()))
    return size


def batches(entries: list[dict[str, Any]]) -> list[list[int]]:
    """Indexes of `entries` grouped into PutEvents calls: at most 10 entries and 256 KB each."""
    return pack(range(len(entries)), lambda index: entry_size(entries[index]), MAX_ENTRIES, MAX_BYTES)


class EventBus:
    def __init__(self, bus_name: str, events_client: Any = None, backoff_seconds: float = 0.2) -> None:
        self._bus = bus_name
        self._client = events_client
        self._backoff = backoff_seconds
        self.calls = 0

    def publish(self, events: Sequence[DomainEvent]) -> list[bool]:
        """One flag per event: True once EventBridge accepted it."""
        entries = [self._entry(event) for event in events]
        accepted = [False] * len(entries)
        too_big = [i for i, entry in enumerate(entries) if entry_size(entry) > MAX_BYTES]
        for index in too_big:
            logger.error("event too large for EventBridge", extra={"detail_type": entries[index]["DetailType"]})
        pending = put_with_retries(
            [i for i in range(len(entries)) if i not in too_big],
            lambda i: entry_size(entries[i]),
            MAX_ENTRIES,
            MAX_BYTES,
            lambda indexes: self._put(indexes, entries, accepted),
            ATTEMPTS,
            self._backoff,
        )
        if pending:
            logger.warning("events not accepted by EventBridge", extra={"count": len(pending)})
        return accepted

    def _put(self, indexes: list[int], entries: list[dict[str, Any]], accepted: list[bool]) -> list[int]:
        """Send one batch; returns the indexes worth another try."""
        self.calls += 1
        try:
            response = self._events().put_events(Entries=[entries[i] for i in indexes])
        except Exception as exc:  # botocore already retried; the records are retried through SQS
            logger.warning("PutEvents failed", extra={"error": type(exc).__name__, "entries": len(indexes)})
            return []
        retry = []
        for index, result in zip(indexes, response.get("Entries", []), strict=False):
            if result.get("EventId"):
                accepted[index] = True
            elif result.get("ErrorCode") in _RETRYABLE:
                retry.append(index)
            else:
                logger.warning(
                    "event refused", extra={"error": result.get("ErrorCode"), "reason": result.get("ErrorMessage")}
                )
        return retry

    def _entry(self, event: DomainEvent) -> dict[str, Any]:
        return {
            "Source": SOURCE,
            "DetailType": event.detail_type.value,
            "Detail": json.dumps(event.detail, ensure_ascii=False, separators=(",", ":")),
            "EventBusName": self._bus,
        }

    def _events(self) -> Any:
        if self._client is None:
            self._client = client("events", WORKER_PROFILE)
        return self._client
