"""Puts interactions on the ingest queue with SendMessageBatch: ten per call, never over SQS's
size limit, and failed entries sent again before anyone is told the delivery was accepted.

Bodies are ASCII-only JSON: SQS rejects some code points (U+FFFE, lone surrogates) that platform
text can legally contain, and `\\uXXXX` escapes carry every character through unchanged.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from chalicelib.models.interaction import Interaction

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
MAX_MESSAGE_BYTES = MAX_BATCH_BYTES
ENTRY_ATTEMPTS = 3


class MessageTooLarge(ValueError):
    """One interaction alone is over SQS's message size limit; nothing was sent."""


class QueueUnavailable(RuntimeError):
    """Some entries could not be queued after retries; the caller must not acknowledge."""


def encode(interaction: Interaction) -> str:
    return json.dumps(interaction.to_dict(), ensure_ascii=True, separators=(",", ":"))


def batches(bodies: Sequence[str]) -> list[list[str]]:
    """Greedy packing in order: a new batch at ten entries or when the next body would overflow."""
    packed: list[list[str]] = []
    current: list[str] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body)  # ASCII: characters are bytes
        if length > MAX_MESSAGE_BYTES:
            raise MessageTooLarge(f"interaction {index} is {length} bytes; SQS takes at most {MAX_MESSAGE_BYTES}")
        if current and (len(current) == MAX_BATCH_ENTRIES or size + length > MAX_BATCH_BYTES):
            packed.append(current)
            current, size = [], 0
        current.append(body)
        size += length
    if current:
        packed.append(current)
    return packed


class InteractionQueue:
    def __init__(self, queue_url: str, sqs_client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = sqs_client

    @property
    def sqs(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("sqs")
        return self._client

    def send(self, interactions: Sequence[Interaction]) -> int:
        """Queue all or raise; returns the number of messages queued."""
        for batch in batches([encode(item) for item in interactions]):
            self._send_batch(batch)
        return len(interactions)

    def _send_batch(self, bodies: list[str]) -> None:
        pending = {str(index): body for index, body in enumerate(bodies)}
        failures: list[dict[str, Any]] = []
        for _ in range(ENTRY_ATTEMPTS):
            response = self._call(
                QueueUrl=self._queue_url,
                Entries=[{"Id": entry_id, "MessageBody": body} for entry_id, body in pending.items()],
            )
            failures = response.get("Failed", [])
            # Client-side faults (a malformed entry) will fail the same way again.
            if not failures or any(failure.get("SenderFault") for failure in failures):
                break
            pending = {failure["Id"]: pending[failure["Id"]] for failure in failures}
        if failures:
            codes = sorted({str(failure.get("Code")) for failure in failures})
            raise QueueUnavailable(f"{len(failures)} of {len(bodies)} messages not queued: {', '.join(codes)}")

    def _call(self, **request: Any) -> dict[str, Any]:
        """One SendMessageBatch; botocore has already retried throttling and 5xx by now."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response: dict[str, Any] = self.sqs.send_message_batch(**request)
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"SendMessageBatch failed: {type(exc).__name__}") from exc
        return response

    def ping(self) -> None:
        """Raise unless the queue exists and we may use it (readiness probes)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"queue not reachable: {type(exc).__name__}") from exc
