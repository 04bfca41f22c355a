"""Deliveries kept because items in them were not read: listing them, and replaying them through
today's parser once it reads them (after a fix for a changed payload, say).

A replay queues everything the delivery holds; what was queued the first time is recognised by its
idempotency key and not stored twice. A delivery whose every item is read now is discarded (it
holds customer data and has served its purpose); one still not fully read is kept for the next fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from chalicelib.channels.base import Channel, MalformedPayload, WebhookRequest
from chalicelib.models.interaction import iso
from chalicelib.ports import DeliveryArchive, InteractionSink, KeptDelivery
from chalicelib.services.customers import InvalidRequest, page_size

MAX_REPLAY = 50


def describe(entry: KeptDelivery) -> dict[str, Any]:
    return {
        "key": entry.key,
        "channel": entry.channel,
        "received_at": iso(entry.received_at),
        "unread": entry.reasons,
        "bytes": entry.size,
    }


def listing(archive: DeliveryArchive, params: Mapping[str, str]) -> dict[str, Any]:
    channel = (params.get("channel") or "").strip() or None
    found, cursor = archive.listing(channel, page_size(params.get("limit"), default=50), params.get("cursor"))
    return {"deliveries": [describe(entry) for entry in found], "next_cursor": cursor}


def keys_to_replay(body: Any) -> list[str]:
    keys = body.get("keys") if isinstance(body, dict) else None
    if not isinstance(keys, list) or not keys or not all(isinstance(key, str) and key for key in keys):
        raise InvalidRequest('body: {"keys": ["<key>", ...]}, as GET /unread lists them')
    if len(keys) > MAX_REPLAY:
        raise InvalidRequest(f"keys: at most {MAX_REPLAY} at a time")
    return list(dict.fromkeys(keys))


def replay(
    archive: DeliveryArchive,
    channels: Mapping[str, Channel],
    queue: InteractionSink,
    keys: list[str],
    now: datetime,
) -> dict[str, Any]:
    """Raises QueueUnavailable (nothing of that delivery is discarded then)."""
    results: list[dict[str, Any]] = []
    for key in keys:
        found = archive.body(key)
        if found is None:
            results.append({"key": key, "status": "not_found"})
            continue
        entry, body = found
        channel = channels.get(entry.channel)
        if channel is None:
            results.append({"key": key, "status": "unknown_channel"})
            continue
        path = {"source": entry.source} if entry.source else {}
        try:
            parsed = channel.parse(WebhookRequest(body=body, path=path), now)
        except MalformedPayload as exc:
            results.append({"key": key, "status": "malformed", "message": str(exc)})
            continue
        queued = queue.send(parsed.interactions) if parsed.interactions else 0
        unread = parsed.unread
        if not unread:
            archive.discard(key)
        results.append(
            {
                "key": key,
                "status": "read" if not unread else "still_unread",
                "received": parsed.received,
                "queued": queued,
                "ignored": dict(sorted(parsed.ignored.items())),
                "unread": unread,
            }
        )
    return {"replayed": results}
