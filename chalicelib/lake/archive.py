"""Archiving the bus's events in the lake: the lake queue's consumer hands a batch of EventBridge
envelopes here. Each customer's salt is read (made on first use) once per batch, every event
becomes one record, and the records go to Firehose together. An event whose record did not get
there is reported failed, so SQS brings it back (and, after its retries, keeps it on the lake's
dead-letter queue for a replay): at least once, never silently dropped."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.lake.records import Pseudonyms, customer_of, record
from chalicelib.observability import logger
from chalicelib.ports import LakeKeys, LakeSink


@dataclass
class Archived:
    """What a batch came to: records accepted, and the messages to retry (by SQS message id)."""

    accepted: int = 0
    failed: set[str] = field(default_factory=set)
    unreadable: int = 0


class Archiver:
    def __init__(self, keys: LakeKeys, sink: LakeSink, lake_key: Callable[[], bytes]) -> None:
        self._keys = keys
        self._sink = sink
        self._lake_key = lake_key

    def archive(self, bodies: Mapping[str, str]) -> Archived:
        """`bodies`: SQS message id -> the EventBridge envelope as JSON."""
        result = Archived()
        envelopes: dict[str, dict[str, Any]] = {}
        for message_id, body in bodies.items():
            try:
                envelope = json.loads(body)
                if not isinstance(envelope, dict) or not isinstance(envelope.get("detail"), dict):
                    raise ValueError("not an EventBridge event")
                envelopes[message_id] = envelope
            except ValueError:
                # Only our own rule writes to this queue; what it cannot read is kept, retried and
                # dead-lettered like a failure, and counted (never quoted: it may hold ids).
                result.unreadable += 1
                result.failed.add(message_id)
        if not envelopes:
            return result
        pseudonyms = Pseudonyms(self._lake_key())
        salts = self._keys.salts({customer for e in envelopes.values() if (customer := customer_of(e))})
        owners: list[str] = []
        records: list[dict[str, Any]] = []
        for message_id, envelope in envelopes.items():
            try:
                records.append(record(envelope, salts.get(customer_of(envelope) or ""), pseudonyms))
            except (KeyError, ValueError, TypeError) as exc:
                logger.warning("event not archivable", extra={"error": type(exc).__name__})
                result.unreadable += 1
                result.failed.add(message_id)
                continue
            owners.append(message_id)
        accepted = self._sink.put(records) if records else []
        for owner, ok in zip(owners, accepted, strict=True):
            if ok:
                result.accepted += 1
            else:
                result.failed.add(owner)
        return result
