"""Everything kept about one customer, found to hand it over or to erase it (LGPD art. 18; GDPR
arts. 15, 17 and 20: access, erasure, portability).

What belongs to a customer: their partition (profile, identity listings, interactions, cases,
references to the alerts that name them, their halves of links and suggested links, and the list of
their search index entries), each identity's unique item, each interaction's pointer, the alerts
raised about them with their cooldowns, their search index entries, and the other halves of their
links and suggestions (in the other customers' partitions: the link goes, the other customer keeps
everything of their own); a brand's crisis alert that lists one of their interactions as a sample
loses that sample. (Crisis states hold counts only.) All of it is found from their partition, so
both an export and an erasure cost what the customer has, not what everyone has. Events already
published (EventBridge, SNS, e-mail) are beyond the table; so is the audit trail, which holds their
random id only.

An erasure leaves one thing behind for each identity: a suppression record keyed by a hash of the
identity, holding when the erasure was requested (store/identities.py `suppress`), so that what the
person wrote before then, reaching us late or replayed, cannot make them a customer again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pynamodb.exceptions import DoesNotExist, UpdateError

from chalicelib.config import settings
from chalicelib.models.alert import Alert
from chalicelib.models.case import Case
from chalicelib.models.directory import Link, Suggestion
from chalicelib.models.events import DetailType
from chalicelib.models.note import Note
from chalicelib.models.reply import Reply
from chalicelib.store import keys
from chalicelib.store.alerts import ABOUT, ALERT, COOLDOWN, SAMPLE, alert_from_item, without_customer
from chalicelib.store.identities import release, suppress
from chalicelib.store.links import LinkStore
from chalicelib.store.models import (
    AlertItem,
    AlertRefItem,
    CaseItem,
    CooldownItem,
    CustomerIdentityItem,
    CustomerItem,
    InteractionItem,
    Item,
    LinkItem,
    PointerItem,
    ReplyItem,
    SearchEntryItem,
    SearchKeysItem,
    SuggestionItem,
    ViewingItem,
)
from chalicelib.store.serde import case_from_item
from chalicelib.store.timeline import POINTER
from chalicelib.store.topics import TopicStore
from chalicelib.store.transactions import is_condition_failure

MARK_ATTEMPTS = 5
STRIP_ATTEMPTS = 8


class CustomerRecords:
    def __init__(self, retention_days: int | None = None) -> None:
        # dependencies.customer_records() builds it without one: the stage's retention, as the
        # other stores are given it, so suppression records outlive what they protect against.
        days = settings().retention_days if retention_days is None else retention_days
        self._retention = timedelta(days=days)

    def cases(self, customer_id: str) -> list[Case]:
        query = CaseItem.query(keys.customer(customer_id), CaseItem.sk.startswith("CASE#"), consistent_read=True)
        return [case_from_item(item) for item in query]

    def alerts(self, customer_id: str) -> list[Alert]:
        """The alerts about the customer, found through the references in their partition."""
        refs = AlertRefItem.query(
            keys.customer(customer_id), AlertRefItem.sk.startswith("ALERT#"), consistent_read=True
        )
        wanted = [(keys.alert(ref.alert_id), ALERT) for ref in refs if ref.relation == ABOUT]
        found = [alert_from_item(item) for item in AlertItem.batch_get(wanted)] if wanted else []
        return sorted(found, key=lambda alert: alert.raised_at)

    def replies(self, customer_id: str) -> list[Reply]:
        """The replies sent to the customer from socialcrm, oldest first."""
        query = ReplyItem.query(keys.customer(customer_id), ReplyItem.sk.startswith("REPLY#"), consistent_read=True)
        found = [Reply.from_record(dict(item.record)) for item in query]
        return sorted(found, key=lambda reply: reply.created_at)

    def notes(self, customer_id: str) -> list[Note]:
        """The private notes agents wrote on the customer's cases, oldest first."""
        from chalicelib.store.notes import NoteStore

        return NoteStore(0).of_customer(customer_id)

    def links(self, customer_id: str) -> list[Link]:
        return LinkStore().links(customer_id)

    def suggestions(self, customer_id: str) -> list[Suggestion]:
        """Dismissed ones too: they are kept, so they are handed over."""
        return LinkStore().suggestions(customer_id, dismissed=True)

    def search_kinds(self, customer_id: str) -> dict[str, int]:
        """How many search index entries of each kind the customer has (the values are not kept)."""
        try:
            item = SearchKeysItem.get(keys.customer(customer_id), keys.SEARCH_KEYS, consistent_read=True)
        except DoesNotExist:
            return {}
        kinds: dict[str, int] = {}
        for entry in item.entries or ():
            kind = entry.split(":", 1)[0]
            kinds[kind] = kinds.get(kind, 0) + 1
        return dict(sorted(kinds.items()))

    def erase(self, customer_id: str) -> dict[str, int] | None:
        """Delete every item about the customer; None if there is no such customer.

        The profile is marked first (which also moves its version), so from then on the
        processor's writes for this customer fail (a message written after the mark starts a new
        customer; one written before is dropped); only then is the partition read, so whatever was
        written before the mark is found. Each identity gets its suppression record before its
        unique item goes (only while it still leads to this customer), so that no message written
        before the request can make the person a customer again, however late it comes.

        Everything is found from the partition, so the order is what makes a rerun finish an
        erasure interrupted half-way: what lies outside the partition (pointers, alerts about
        them, their samples in others' alerts, cooldowns) goes before the partition's items that
        lead to it (interactions, alert references), and the profile, by which a rerun finds the
        customer at all, goes last. The topics' examples are found through the hours the messages
        were written in, which the profile keeps (`erasing_hours`) before the messages go: the
        second pass over them, after the messages went, may still fail, and its rerun needs them."""
        erasing_at = _mark_erasing(customer_id)
        if erasing_at is None:
            return None
        partition = list(cast(Iterable[Item], Item.query(keys.customer(customer_id), consistent_read=True)))
        identities = [item for item in partition if isinstance(item, CustomerIdentityItem)]
        pointers = [
            PointerItem(keys.pointer(item.platform, item.external_id), POINTER)
            for item in partition
            if isinstance(item, InteractionItem)
        ]
        refs = [item for item in partition if isinstance(item, AlertRefItem)]
        alerts = [AlertItem(keys.alert(ref.alert_id), ALERT) for ref in refs if ref.relation == ABOUT]
        cooldowns = [CooldownItem(keys.cooldown(customer_id, kind.value), COOLDOWN) for kind in DetailType]
        # The other halves of their links and suggested links, and their search index entries: found
        # through the items in their partition, so deleted before those.
        mirrored = [
            *(
                LinkItem(keys.customer(item.other_id), keys.link(customer_id))
                for item in partition
                if isinstance(item, LinkItem)
            ),
            *(
                SuggestionItem(keys.customer(item.other_id), keys.suggestion(customer_id))
                for item in partition
                if isinstance(item, SuggestionItem)
            ),
        ]
        entries = [
            SearchEntryItem(keys.search(entry.split(":", 1)[1]), keys.customer(customer_id))
            for item in partition
            if isinstance(item, SearchKeysItem)
            for entry in item.entries or ()
            if ":" in entry
        ]
        profile = [item for item in partition if isinstance(item, CustomerItem)]
        for listed in identities:
            suppress(listed.platform, listed.user_id, erasing_at, self._retention)
            release(listed.platform, listed.user_id, customer_id)
        for ref in refs:  # a brand's crisis alert keeps its other samples
            if ref.relation == SAMPLE:
                _strip(ref.alert_id, customer_id)
        # Who had their cases open: keyed by the case id, which names the customer (gone by TTL
        # anyway, within days; an erasure does not wait for it).
        viewers = [
            viewer
            for item in partition
            if isinstance(item, CaseItem)
            for viewer in ViewingItem.query(keys.viewing(item.case_id))
        ]
        # Their messages among the topics' examples (references that name them): in the hours they
        # wrote in, or a late one was counted in; kept on the profile until it goes.
        written = _keep_hours(profile, partition)
        TopicStore().forget(customer_id, written)
        _delete([*pointers, *alerts, *cooldowns, *mirrored, *entries, *viewers])
        _delete([item for item in partition if item not in profile])  # the references among them
        TopicStore().forget(customer_id, written)  # again: a count that read them before they went
        _delete(profile)
        return {
            "identities": len(identities),
            "interactions": len(pointers),
            "cases": sum(isinstance(item, CaseItem) for item in partition),
            "alerts": len(alerts),
            "items": len(identities) + len(pointers) + len(alerts) + len(mirrored) + len(entries) + len(partition),
        }


def _keep_hours(profile: list[CustomerItem], partition: list[Item]) -> list[datetime]:
    """The hours the customer's messages were written or counted late in: those in the partition
    and those an interrupted run kept on the profile, which keeps them all before anything goes."""
    hours = {
        int(moment.timestamp()) // 3600
        for item in partition
        if isinstance(item, InteractionItem)
        for moment in (item.occurred_at, item.topics_at)
        if moment is not None
    }
    for item in profile:
        kept = set(cast(set[int], item.erasing_hours or set()))  # PynamoDB types it as never None
        if hours - kept:
            # Not conditional on its version: an agent's action, or the segments, may still save the
            # profile during the erasure; the hours are added to whatever it holds.
            item.update(
                actions=[CustomerItem.erasing_hours.add(hours - kept)],
                condition=CustomerItem.erasing_at.exists(),
                add_version_condition=False,
            )
        hours |= kept
    return [datetime.fromtimestamp(hour * 3600, UTC) for hour in sorted(hours)]


def _strip(alert_id: str, customer_id: str) -> None:
    """Take the customer's samples out of a brand's alert, on condition that its detail is still
    what was read: two customers sampled in the same alert, erased at once, would otherwise each
    write back the other's sample (and it would stay for the alert's retention)."""
    for _ in range(STRIP_ATTEMPTS):
        try:
            item = AlertItem.get(keys.alert(alert_id), ALERT, consistent_read=True)
        except DoesNotExist:
            return
        read = item.detail or {}
        stripped = without_customer(read, customer_id)
        if stripped == read:
            return  # stripped before (a rerun), or never sampled them
        try:
            # JSONAttribute compares the detail as serialised, which re-serialising what was read reproduces.
            item.update(actions=[AlertItem.detail.set(stripped)], condition=AlertItem.detail == read)
        except UpdateError as exc:
            if is_condition_failure(exc):
                continue  # another erasure stripped its own customer meanwhile: read it again
            raise
        return
    raise RuntimeError(f"alert {alert_id} kept changing; giving up after {STRIP_ATTEMPTS} attempts")


def _mark_erasing(customer_id: str) -> datetime | None:
    """When the erasure was requested; None if there is no such customer (or its erasure already
    finished). A rerun keeps the first request's time: nothing was written for the customer since
    (so the version need not move again), and a message written after that time started a new
    customer already, which a late copy of it must still be able to do."""
    for _ in range(MARK_ATTEMPTS):
        try:
            profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
        except DoesNotExist:
            return None
        marked = cast(datetime | None, profile.erasing_at)  # PynamoDB types it as never None
        if marked is not None:
            return marked
        now = datetime.now(UTC)
        try:
            profile.update(actions=[CustomerItem.erasing_at.set(now)])  # conditional on its version
        except UpdateError as exc:
            if is_condition_failure(exc):
                continue  # the processor changed it meanwhile: read it again
            raise
        return now
    raise RuntimeError(f"customer {customer_id} kept changing; giving up after {MARK_ATTEMPTS} attempts")


def _delete(items: list[Any]) -> None:
    """Batched deletes (25 a call; PynamoDB retries what DynamoDB leaves unprocessed). Deleting
    an item that is already gone is no error, so an erasure interrupted half-way can be rerun."""
    if not items:
        return
    with Item.batch_write() as batch:
        for item in items:
            batch.delete(item)
