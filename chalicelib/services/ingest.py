"""Receiving a webhook delivery: check its size, authenticate it, parse it, queue it.

The HTTP layer only translates: it builds a WebhookRequest and maps the errors below onto status
codes. Nothing here calls NLP or the database: platforms want an answer within seconds (X within
3) and redeliver what is not acknowledged, so this does the least that makes a delivery safe.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from chalicelib.channels.base import Channel, WebhookRequest
from chalicelib.models.interaction import Interaction
from chalicelib.models.reply import ReplyStatus
from chalicelib.observability import logger
from chalicelib.ports import DeliveryArchive, InteractionSink, MessageTooLarge, SecretReader


class BodyTooLarge(ValueError):
    pass


@dataclass(frozen=True)
class Ack:
    """The response body of a webhook: counts only, so it is safe to log and to return. `unread`:
    the items not read, by reason (also in `ignored`); their delivery was kept for a replay."""

    received: int
    queued: int
    ignored: dict[str, int] = field(default_factory=dict)
    unread: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"received": self.received, "queued": self.queued, "ignored": self.ignored}


def receive(
    channel: Channel,
    request: WebhookRequest,
    secrets: SecretReader,
    queue: InteractionSink,
    max_body_bytes: int,
    archive: DeliveryArchive,
) -> Ack:
    """Raises BodyTooLarge, InvalidSignature, MalformedPayload, SecretUnavailable, ArchiveUnavailable,
    QueueUnavailable. A delivery with items not read is kept whole before anything is queued: if it
    cannot be kept, nothing is acknowledged and the platform delivers it again."""
    started = time.perf_counter()
    if len(request.body) > max_body_bytes:
        raise BodyTooLarge(f"the body is {len(request.body)} bytes; the limit is {max_body_bytes}")
    channel.authenticate(request, secrets, time.time())
    received_at = datetime.now(UTC)
    result = channel.parse(request, received_at)
    kept = None
    if result.unread:
        kept = archive.keep(channel.name, request.body, request.path.get("source"), received_at, result.unread)
    if result.problems:
        logger.warning(
            "webhook items skipped", extra={"channel": channel.name, "problems": result.problems, "kept": kept}
        )
    try:
        items: list[Interaction | ReplyStatus] = [*result.interactions, *result.statuses]
        queued = queue.send(items) if items else 0
    except MessageTooLarge as exc:
        raise BodyTooLarge(str(exc)) from None
    ack = Ack(result.received, queued, dict(sorted(result.ignored.items())), result.unread)
    logger.info(
        "webhook accepted",
        extra={"channel": channel.name, **ack.to_dict(), "ms": round((time.perf_counter() - started) * 1000, 2)},
    )
    return ack
