"""The outbound queue: the ids of replies to send. The route puts a new reply's id on it; the sender
puts it back, with a delay, when the platform asked to be tried again later (a new message rather
than a failed record, so waiting out a rate limit does not spend the receives that lead to the
dead-letter queue, which are kept for failures of socialcrm's own)."""

from __future__ import annotations

import json

from chalicelib.adapters.queue import SqsQueue
from chalicelib.ports import QueueUnavailable

MAX_DELAY_SECONDS = 900  # SQS's limit; a longer wait comes back early and is put back again


class OutboundQueue(SqsQueue):
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
