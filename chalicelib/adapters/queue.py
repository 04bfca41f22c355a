"""Puts interactions on the ingest queue with SendMessageBatch: ten per call, never over SQS's
size limit, and failed entries sent again before anyone is told the delivery was accepted.

Bodies are UTF-8 JSON in which only the code points SQS refuses (lone surrogates, U+FFFE,
U+FFFF; control characters are escaped by JSON already) are written as `\\uXXXX`, so every
character arrives unchanged and Cyrillic or CJK text costs two or three bytes, not six.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from chalicelib.adapters.batching import pack
from chalicelib.models.interaction import Interaction
from chalicelib.models.reply import ReplyStatus
from chalicelib.ports import MessageTooLarge, QueueUnavailable

MAX_BATCH_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
ENTRY_ATTEMPTS = 2
FIRST_RETRY_DELAY = 30
MAX_RETRY_DELAY = 900

_SQS_INVALID = re.compile("[\ud800-\udfff\ufffe\uffff]")


def encode(interaction: Interaction | ReplyStatus) -> str:
    text = json.dumps(interaction.to_dict(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _SQS_INVALID.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def size(body: str) -> int:
    return len(body.encode("utf-8"))


def fit(interaction: Interaction, limit: int = MAX_BATCH_BYTES) -> tuple[Interaction, str]:
    """The interaction and its body, with the text cut (on a character) if the whole would not
    fit in one SQS message. Platforms' own limits keep this from happening; it is a safety net
    that keeps one giant item from costing its neighbours their delivery."""
    body = encode(interaction)
    while (excess := size(body) - limit) > 0:
        cut = excess // 6 + 1  # no character takes more than six bytes here (`\uXXXX`)
        if interaction.text:
            interaction = replace(interaction, text=interaction.text[:-cut], text_truncated=True)
        elif interaction.title:
            interaction = replace(interaction, title=interaction.title[:-cut], text_truncated=True)
        else:
            raise MessageTooLarge(f"{interaction.idempotency_key} does not fit in one SQS message")
        body = encode(interaction)
    return interaction, body


def batches(bodies: Sequence[str]) -> list[list[str]]:
    """Greedy packing in order: a new batch at ten entries or when the next body would overflow."""
    return pack(bodies, size, MAX_BATCH_ENTRIES, MAX_BATCH_BYTES)


class SqsQueue:
    """One queue's URL and an SQS client made on first use, with the retry profile of whoever
    uses it: short for the webhook route (its callers give up within seconds), longer for the
    queue consumers (`worker`)."""

    worker = False

    def __init__(self, queue_url: str, sqs_client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = sqs_client

    @property
    def sqs(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import WORKER_PROFILE, client

            self._client = client("sqs", WORKER_PROFILE) if self.worker else client("sqs")
        return self._client


class InteractionQueue(SqsQueue):
    def send(self, interactions: Sequence[Interaction | ReplyStatus]) -> int:
        """Queue all or raise QueueUnavailable; returns the number of messages queued. Statuses of
        the brand's messages travel the same queue (they are small: ids and a state)."""
        bodies = [fit(item)[1] if isinstance(item, Interaction) else encode(item) for item in interactions]
        for batch in batches(bodies):
            self._send_batch(batch)
        return len(interactions)

    def ping(self) -> None:
        """Raise unless the queue exists and we may use it (readiness probes)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"queue not reachable: {type(exc).__name__}") from exc

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


def receive_count(record: dict[str, Any]) -> int:
    """How often SQS has handed this record over (1 the first time), from a Lambda SQS record."""
    try:
        return int(record.get("attributes", {}).get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        return 1


class RetryScheduler(SqsQueue):
    """Brings failed records back sooner than the queue's visibility timeout would.

    The timeout (30 minutes) must cover the slowest whole batch; a record that failed in
    seconds, throttled or waiting for another invocation's claim, should not wait that long. Each
    retry waits twice as long as the one before, up to 15 minutes: 30 s, 1, 2, 4, 8, then 15
    minutes. With the queues' ten receives, a record is retried for about 90 minutes before the
    dead-letter queue, so a Comprehend or DynamoDB outage of an hour needs no manual redrive.
    """

    worker = True

    @staticmethod
    def delay(receive_count: int) -> int:
        return int(min(MAX_RETRY_DELAY, FIRST_RETRY_DELAY * 2 ** max(0, receive_count - 1)))

    def postpone(self, failed: Sequence[tuple[str, int]], longest: bool = False) -> None:
        """`failed`: (receipt handle, receive count). `longest`: every record waits the longest
        delay, whatever its count (nothing will change sooner: a person must fix something).
        Best effort: if this fails, SQS still redelivers the records after the visibility timeout."""
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(failed), MAX_BATCH_ENTRIES):
            entries = [
                {
                    "Id": str(index),
                    "ReceiptHandle": handle,
                    "VisibilityTimeout": MAX_RETRY_DELAY if longest else self.delay(count),
                }
                for index, (handle, count) in enumerate(failed[start : start + MAX_BATCH_ENTRIES])
            ]
            try:
                self.sqs.change_message_visibility_batch(QueueUrl=self._queue_url, Entries=entries)
            except (BotoCoreError, ClientError):
                return


class DeadLetters(SqsQueue):
    """Sends what can never be processed (a body that is not an interaction) straight to the
    dead-letter queue, where it is kept for a replay after a fix and the queue's alarm tells ops,
    instead of being retried for an hour and a half first."""

    worker = True

    def send(self, bodies: dict[str, tuple[str, str]]) -> set[str]:
        """`bodies`: message id -> (body, reason). Returns the ids now on the dead-letter queue;
        the others stay with their queue (retried, and dead-lettered by SQS in the end)."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self._queue_url:
            return set()
        moved: set[str] = set()
        items = list(bodies.items())
        for start in range(0, len(items), MAX_BATCH_ENTRIES):
            chunk = dict(items[start : start + MAX_BATCH_ENTRIES])
            entries = [
                {
                    "Id": str(index),
                    "MessageBody": body,
                    "MessageAttributes": {"reason": {"DataType": "String", "StringValue": reason[:256]}},
                }
                for index, (body, reason) in enumerate(chunk.values())
            ]
            ids = list(chunk)
            try:
                response = self.sqs.send_message_batch(QueueUrl=self._queue_url, Entries=entries)
            except (BotoCoreError, ClientError):
                continue
            moved |= {ids[int(entry["Id"])] for entry in response.get("Successful", [])}
        return moved
