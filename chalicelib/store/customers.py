"""Customers, identities and timelines in DynamoDB (PynamoDB), behind plain domain models.

Every write that must not happen twice is conditional: the identity item is created only if
absent (two first messages at once make one customer), an interaction is stored together with
its pointer and the customer's new aggregates in one transaction that fails if the pointer
exists, and the aggregates carry a version so concurrent updates retry instead of overwriting.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from chalicelib.models.customer import Customer, Identity, RecentInteraction, StoredInteraction
from chalicelib.models.interaction import Author, Interaction
from chalicelib.nlp.analysis import Analysis
from chalicelib.ports import BadCursor
from chalicelib.rules.aggregates import Aggregates, add_interaction
from chalicelib.store import keys
from chalicelib.store.models import (
    CustomerIdentityItem,
    CustomerItem,
    IdentityItem,
    InteractionItem,
    PendingItem,
    PointerItem,
)

PROFILE = "PROFILE"
IDENTITY = "IDENTITY"
POINTER = "POINTER"
AGGREGATE_ATTEMPTS = 8
LAST_SEEN_RESOLUTION = timedelta(days=1)
PENDING_DAYS = 7


class CustomerStore:
    def __init__(self, retention_days: int) -> None:
        self._retention = timedelta(days=retention_days)
        self._connection: Connection | None = None

    @property
    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = Connection()
        return self._connection

    # Identities

    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        """The customer behind this identity; the first contact creates one, exactly once."""
        existing = self._identity(platform, author.user_id)
        if existing is None:
            created = self._create_customer(platform, author, seen_at)
            if created is not None:
                return created
            existing = self._identity(platform, author.user_id)
            if existing is None:  # pragma: no cover - the winner's item must exist by now
                raise RuntimeError("identity vanished while resolving")
        self._refresh_identity(existing, author, seen_at)
        return existing.customer_id

    def customer_for(self, platform: str, user_id: str) -> str | None:
        item = self._identity(platform, user_id)
        return item.customer_id if item else None

    def _identity(self, platform: str, user_id: str) -> IdentityItem | None:
        try:
            return IdentityItem.get(keys.identity(platform, user_id), IDENTITY, consistent_read=True)
        except DoesNotExist:
            return None

    def _create_customer(self, platform: str, author: Author, seen_at: datetime) -> str | None:
        customer_id = str(uuid.uuid4())
        identity = IdentityItem(
            keys.identity(platform, author.user_id),
            IDENTITY,
            customer_id=customer_id,
            platform=platform,
            user_id=author.user_id,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            handle=author.handle,
            display_name=author.display_name,
        )
        listed = CustomerIdentityItem(
            keys.customer(customer_id),
            f"IDENTITY#{platform}#{author.user_id}",
            customer_id=customer_id,
            platform=platform,
            user_id=author.user_id,
            first_seen_at=seen_at,
            last_seen_at=seen_at,
            handle=author.handle,
            display_name=author.display_name,
        )
        profile = CustomerItem(
            keys.customer(customer_id),
            PROFILE,
            customer_id=customer_id,
            created_at=datetime.now(UTC),
            handle=author.handle,
            display_name=author.display_name,
        )
        try:
            with TransactWrite(connection=self.connection) as transaction:
                transaction.save(identity, condition=IdentityItem.pk.does_not_exist())
                transaction.save(listed)
                transaction.save(profile)
        except TransactWriteError as exc:
            if _condition_failed(exc):
                return None  # someone else's first message won the race
            raise
        return customer_id

    def _refresh_identity(self, item: IdentityItem, author: Author, seen_at: datetime) -> None:
        """Keep handles and display names current; never blank one the platform left out. (The
        profile's copy is refreshed with the next interaction's aggregates, under its version.)"""
        handle = author.handle or item.handle
        display_name = author.display_name or item.display_name
        renamed = (handle, display_name) != (item.handle, item.display_name)
        if not renamed and seen_at < item.last_seen_at + LAST_SEEN_RESOLUTION:
            return  # nothing new worth two writes: last seen is kept to the day
        last_seen = max(seen_at, item.last_seen_at)
        actions: list[Action] = [
            IdentityItem.handle.set(handle) if handle else IdentityItem.handle.remove(),
            IdentityItem.display_name.set(display_name) if display_name else IdentityItem.display_name.remove(),
            IdentityItem.last_seen_at.set(last_seen),
        ]
        item.update(actions=actions)
        listed = CustomerIdentityItem(keys.customer(item.customer_id), f"IDENTITY#{item.platform}#{item.user_id}")
        listed_actions: list[Action] = [
            CustomerIdentityItem.handle.set(handle) if handle else CustomerIdentityItem.handle.remove(),
            CustomerIdentityItem.display_name.set(display_name)
            if display_name
            else CustomerIdentityItem.display_name.remove(),
            CustomerIdentityItem.last_seen_at.set(last_seen),
        ]
        listed.update(actions=listed_actions)

    # Interactions

    def add(self, customer_id: str, interaction: Interaction, analysis: Analysis | None, text: str | None) -> bool:
        """Store a new interaction and fold it into the customer's aggregates, atomically.
        False when it was stored before (a duplicate beyond the idempotency window)."""
        item = self._interaction_item(customer_id, interaction, analysis, text)
        pointer = PointerItem(
            keys.pointer(interaction.platform, interaction.external_id),
            POINTER,
            customer_id=customer_id,
            interaction_sk=item.sk,
            version_at=item.version_at,
            expires_at=item.expires_at,
        )
        polarity = analysis.sentiment.polarity if analysis and analysis.sentiment else None
        for _ in range(AGGREGATE_ATTEMPTS):
            profile = CustomerItem.get(keys.customer(customer_id), PROFILE, consistent_read=True)
            aggregates = add_interaction(_aggregates(profile), interaction.platform, interaction.occurred_at, polarity)
            _apply(profile, aggregates)
            if interaction.author is not None:
                profile.display_name = interaction.author.display_name or profile.display_name
                profile.handle = interaction.author.handle or profile.handle
            try:
                with TransactWrite(connection=self.connection) as transaction:
                    transaction.save(pointer, condition=PointerItem.pk.does_not_exist())
                    transaction.save(item)
                    transaction.save(profile)  # conditional on the version read above
            except TransactWriteError as exc:
                reasons = _cancellation_codes(exc)
                if reasons and reasons[0] == "ConditionalCheckFailed":
                    return False
                if "ConditionalCheckFailed" in reasons or "TransactionConflict" in reasons:
                    continue  # the profile changed under us: read it again
                raise
            return True
        raise RuntimeError(f"customer {customer_id} kept changing; giving up after {AGGREGATE_ATTEMPTS} attempts")

    def revise(self, interaction: Interaction, analysis: Analysis | None, text: str | None) -> bool:
        """Apply an edit or a deletion to the stored interaction. False when it is not stored
        (yet); an older revision arriving after a newer one is ignored (True)."""
        try:
            pointer = PointerItem.get(keys.pointer(interaction.platform, interaction.external_id), POINTER)
        except DoesNotExist:
            return False
        version_at = interaction.edited_at or interaction.received_at
        stored = InteractionItem(keys.customer(pointer.customer_id), pointer.interaction_sk)
        if interaction.action.value == "deleted":
            actions: list[Action] = [
                InteractionItem.deleted_at.set(version_at),
                InteractionItem.action.set("deleted"),
                InteractionItem.text.remove(),
                InteractionItem.title.remove(),
                InteractionItem.analysis.remove(),
                InteractionItem.version_at.set(version_at),
            ]
        else:
            fresh = self._interaction_item(pointer.customer_id, interaction, analysis, text)
            actions = [
                InteractionItem.text.set(fresh.text) if fresh.text is not None else InteractionItem.text.remove(),
                InteractionItem.title.set(fresh.title) if fresh.title is not None else InteractionItem.title.remove(),
                InteractionItem.text_truncated.set(interaction.text_truncated),
                InteractionItem.redacted.set(fresh.redacted),
                InteractionItem.edited_at.set(version_at),
                InteractionItem.action.set("edited"),
                InteractionItem.version_at.set(version_at),
                InteractionItem.rating.set(fresh.rating)
                if fresh.rating is not None
                else InteractionItem.rating.remove(),
            ]
            if analysis is not None:
                actions += [
                    InteractionItem.analysis.set(fresh.analysis),
                    InteractionItem.language.set(fresh.language)
                    if fresh.language
                    else InteractionItem.language.remove(),
                ]
                if fresh.sentiment_label is not None:
                    actions += [
                        InteractionItem.sentiment_label.set(fresh.sentiment_label),
                        InteractionItem.polarity.set(fresh.polarity),
                        InteractionItem.gsi2pk.set(fresh.gsi2pk),
                        InteractionItem.gsi2sk.set(fresh.gsi2sk),
                    ]
        try:
            stored.update(
                actions=actions,
                condition=InteractionItem.pk.exists() & (InteractionItem.version_at < version_at),
            )
        except UpdateError as exc:
            if _is_condition_failure(exc):
                return True  # a newer revision is already there
            raise
        return True

    def keep_pending(self, interaction: Interaction) -> None:
        """Mentions that arrived without text or author wait here until they are fetched."""
        expires = interaction.received_at + timedelta(days=PENDING_DAYS)
        item = PendingItem(
            keys.pending(interaction.platform),
            f"{keys.stamp(interaction.occurred_at)}#{interaction.external_id}",
            interaction=interaction.to_dict(),
            expires_at=expires,
        )
        try:
            item.save(condition=PendingItem.pk.does_not_exist())
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise

    def _interaction_item(
        self, customer_id: str, interaction: Interaction, analysis: Analysis | None, text: str | None
    ) -> InteractionItem:
        shard = keys.shard(customer_id)
        timeline = keys.timeline(interaction.occurred_at, interaction.platform, interaction.external_id)
        sentiment = analysis.sentiment if analysis else None
        redacted = bool(analysis and analysis.redacted_text is not None)
        return InteractionItem(
            keys.customer(customer_id),
            keys.interaction_sk(interaction.occurred_at, interaction.platform, interaction.external_id),
            customer_id=customer_id,
            platform=interaction.platform,
            kind=interaction.kind.value,
            action=interaction.action.value,
            external_id=interaction.external_id,
            account_id=interaction.account_id,
            thread_id=interaction.thread_id,
            parent_id=interaction.parent_id,
            title=interaction.title,
            text=text if text else None,
            text_truncated=interaction.text_truncated,
            redacted=redacted,
            rating=interaction.rating,
            reaction=interaction.reaction,
            attachments=list(interaction.attachments),
            language_hint=interaction.language_hint,
            occurred_at=interaction.occurred_at,
            received_at=interaction.received_at,
            edited_at=interaction.edited_at,
            version_at=interaction.edited_at or interaction.occurred_at,
            language=analysis.language if analysis else None,
            sentiment_label=sentiment.label if sentiment else None,
            polarity=sentiment.polarity if sentiment else None,
            analysis=analysis.to_dict() if analysis else None,
            gsi1pk=keys.recent(interaction.occurred_at, shard),
            gsi1sk=timeline,
            gsi2pk=keys.by_sentiment(sentiment.label, interaction.occurred_at, shard) if sentiment else None,
            gsi2sk=timeline if sentiment else None,
            expires_at=interaction.occurred_at + self._retention,
        )

    # Reading

    def customer(self, customer_id: str) -> Customer | None:
        try:
            profile = CustomerItem.get(keys.customer(customer_id), PROFILE)
        except DoesNotExist:
            return None
        return _customer(profile)

    def identities(self, customer_id: str) -> list[Identity]:
        items = CustomerIdentityItem.query(keys.customer(customer_id), CustomerIdentityItem.sk.startswith("IDENTITY#"))
        return [
            Identity(
                platform=item.platform,
                user_id=item.user_id,
                customer_id=item.customer_id,
                handle=item.handle,
                display_name=item.display_name,
                first_seen_at=item.first_seen_at,
                last_seen_at=item.last_seen_at,
            )
            for item in items
        ]

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]:
        """Newest first, `limit` at a time; the cursor is opaque to callers."""
        results = InteractionItem.query(
            keys.customer(customer_id),
            InteractionItem.sk.startswith("INTERACTION#"),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=_decode_cursor(cursor, customer_id),
        )
        page = [_stored(item) for item in results]
        return page, _encode_cursor(results.last_evaluated_key)

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


def _aggregates(profile: CustomerItem) -> Aggregates:
    return Aggregates(
        interaction_count=int(profile.interaction_count or 0),
        platform_counts={str(k): int(v) for k, v in (profile.platform_counts.as_dict() or {}).items()},
        sentiment_score=float(profile.sentiment_score) if profile.sentiment_score is not None else None,
        sentiment_samples=int(profile.sentiment_samples or 0),
        first_contact_at=profile.first_contact_at,
        last_contact_at=profile.last_contact_at,
        last_platform=profile.last_platform,
    )


def _apply(profile: CustomerItem, aggregates: Aggregates) -> None:
    profile.interaction_count = aggregates.interaction_count
    profile.platform_counts = aggregates.platform_counts
    profile.sentiment_score = aggregates.sentiment_score
    profile.sentiment_samples = aggregates.sentiment_samples
    profile.first_contact_at = aggregates.first_contact_at
    profile.last_contact_at = aggregates.last_contact_at
    profile.last_platform = aggregates.last_platform


def _customer(profile: CustomerItem) -> Customer:
    return Customer(
        customer_id=profile.customer_id,
        created_at=profile.created_at,
        display_name=profile.display_name,
        handle=profile.handle,
        aggregates=_aggregates(profile),
        version=int(profile.version or 0),
    )


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
        attachments=tuple(str(a) for a in item.attachments or ()),
        edited_at=item.edited_at,
        deleted_at=item.deleted_at,
        redacted=bool(item.redacted),
        text_truncated=bool(item.text_truncated),
        analysis=dict(item.analysis or {}),
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


def _encode_cursor(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None, customer_id: str) -> dict[str, Any] | None:
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


def _cancellation_codes(exc: TransactWriteError) -> list[str]:
    return [str(reason.code) if reason else "None" for reason in (exc.cancellation_reasons or [])]


def _condition_failed(exc: TransactWriteError) -> bool:
    return "ConditionalCheckFailed" in _cancellation_codes(exc)


def _is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"
