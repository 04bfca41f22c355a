"""Reading customers back: the profile, a timeline page, and recent interactions across customers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.exceptions import DoesNotExist

from chalicelib.models.customer import Customer, RecentInteraction, StoredInteraction
from chalicelib.models.interaction import Attachment
from chalicelib.ports import BadCursor
from chalicelib.store import keys
from chalicelib.store.models import CustomerItem, InteractionItem, PointerItem
from chalicelib.store.serde import churn_from_json, segments_of
from chalicelib.store.timeline import POINTER, aggregates


class CustomerViews:
    def customer(self, customer_id: str) -> Customer | None:
        try:
            profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE)
        except DoesNotExist:
            return None
        churn = churn_from_json(profile.churn)
        return Customer(
            customer_id=profile.customer_id,
            created_at=profile.created_at,
            display_name=profile.display_name,
            handle=profile.handle,
            aggregates=aggregates(profile),
            version=int(profile.version or 0),
            segments=tuple(sorted(segments_of(profile))),
            churn_score=churn.score,
            churn_reasons=churn.reasons,
            churn_alerting=churn.alerting,
        )

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]:
        """Newest first, `limit` at a time; the cursor is opaque to callers."""
        results = InteractionItem.query(
            keys.customer(customer_id),
            InteractionItem.sk.startswith("INTERACTION#"),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_cursor(cursor, customer_id),
        )
        page = [_stored(item) for item in results]
        return page, encode_cursor(results.last_evaluated_key)

    def interactions_of(self, customer_id: str, refs: Sequence[str]) -> list[StoredInteraction]:
        """The customer's interactions named by `refs` ("<platform>:<external_id>", as a case lists
        them), oldest first: their pointers, then the items, each read in batches, so that a case's
        conversation costs what the case holds, however long the customer's timeline is. A ref
        whose pointer leads elsewhere (another customer, nothing yet) is left out."""
        wanted = list(dict.fromkeys(refs))
        pointers = PointerItem.batch_get([(keys.pointer(*ref.split(":", 1)), POINTER) for ref in wanted if ":" in ref])
        where = [
            (keys.customer(customer_id), pointer.interaction_sk)
            for pointer in pointers
            if pointer.customer_id == customer_id and pointer.interaction_sk
        ]
        found = [_stored(item) for item in InteractionItem.batch_get(where)] if where else []
        return sorted(found, key=lambda interaction: interaction.occurred_at)

    def recent(self, since: datetime, until: datetime, sentiment: str | None = None) -> list[RecentInteraction]:
        """Interactions of every customer in [since, until), newest first, from the sharded indexes."""
        found: list[RecentInteraction] = []
        low, high = keys.stamp(since), keys.stamp(until)
        for bucket in _buckets(since, until, hourly=sentiment is None):
            for shard in range(keys.SHARDS):
                if sentiment is None:
                    query = InteractionItem.recent.query(
                        keys.recent(bucket, shard), InteractionItem.gsi1sk.between(low, high)
                    )
                else:
                    query = InteractionItem.by_sentiment.query(
                        keys.by_sentiment(sentiment, bucket, shard), InteractionItem.gsi2sk.between(low, high)
                    )
                found.extend(_recent(item) for item in query)
        return sorted((r for r in found if r.occurred_at < until), key=lambda r: r.occurred_at, reverse=True)


def _buckets(since: datetime, until: datetime, hourly: bool) -> list[datetime]:
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start = since.replace(minute=0, second=0, microsecond=0)
    if not hourly:
        start = start.replace(hour=0)
    buckets = []
    while start < until:
        buckets.append(start)
        start += step
    return buckets


def _stored(item: InteractionItem) -> StoredInteraction:
    return StoredInteraction(
        customer_id=item.customer_id,
        platform=item.platform,
        kind=item.kind,
        action=item.action,
        external_id=item.external_id,
        occurred_at=item.occurred_at,
        text=item.text,
        title=item.title,
        account_id=item.account_id,
        thread_id=item.thread_id,
        parent_id=item.parent_id,
        rating=float(item.rating) if item.rating is not None else None,
        reaction=item.reaction,
        attachments=tuple(Attachment.from_value(a) for a in (item.media or item.attachments or ())),
        edited_at=item.edited_at,
        deleted_at=item.deleted_at,
        redacted=bool(item.redacted),
        text_truncated=bool(item.text_truncated),
        pii_types=tuple(str(t) for t in item.pii_types or ()),
        analysis=dict(item.analysis or {}),
        direction=item.direction or "inbound",
        intent=dict(item.intent) if item.intent else None,
        route=dict(item.route) if item.route else None,
        case_id=item.case_id,
        reply_id=item.reply_id,
    )


def _recent(item: InteractionItem) -> RecentInteraction:
    """From an index entry: the sort key `<occurred_at>#<platform>#<external_id>` and the projection."""
    occurred, platform, external_id = (item.gsi1sk or item.gsi2sk or "").split("#", 2)
    return RecentInteraction(
        customer_id=item.customer_id,
        platform=platform,
        kind=item.kind,
        external_id=external_id,
        occurred_at=datetime.strptime(occurred, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC),
        account_id=item.account_id,
        language=item.language,
        sentiment_label=item.sentiment_label,
        polarity=float(item.polarity) if item.polarity is not None else None,
    )


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, customer_id: str) -> dict[str, Any] | None:
    """Only a key of this customer's timeline: a cursor cannot be used to read someone else's."""
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error):
        raise BadCursor("cursor: not one this API returned") from None
    pk = key.get("pk", {}).get("S") if isinstance(key, dict) else None
    sk = key.get("sk", {}).get("S") if isinstance(key, dict) else None
    if pk != keys.customer(customer_id) or not isinstance(sk, str) or not sk.startswith("INTERACTION#"):
        raise BadCursor("cursor: not one this API returned for this customer")
    return {"pk": {"S": pk}, "sk": {"S": sk}}
