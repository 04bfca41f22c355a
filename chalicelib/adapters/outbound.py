"""The outbound queue: the ids of replies to send. The route puts a new reply's id on it; the sender
puts it back, with a delay, when the platform asked to be tried again later (a new message rather
than a failed record, so waiting out a rate limit does not spend the receives that lead to the
dead-letter queue, which are kept for failures of socialcrm's own)."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.ports import QueueUnavailable

MAX_DELAY_SECONDS = 900  # SQS's limit; a longer wait comes back early and is put back again


class OutboundQueue:
    def __init__(self, queue_url: str, sqs_client: Any = None) -> None:
        self._queue_url = queue_url
        self._client = sqs_client

    @property
    def sqs(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("sqs")
        return self._client

    def enqueue(self, reply_id: str, delay_seconds: int = 0) -> None:
        """Raises QueueUnavailable."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self._queue_url:
            raise QueueUnavailable("SOCIALCRM_OUTBOUND_QUEUE_URL is not set")
        try:
            self.sqs.send_message(
                QueueUrl=self._queue_url,
                MessageBody=json.dumps({"reply_id": reply_id}),
                DelaySeconds=max(0, min(MAX_DELAY_SECONDS, int(delay_seconds))),
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueueUnavailable(f"SendMessage failed: {type(exc).__name__}") from exc
