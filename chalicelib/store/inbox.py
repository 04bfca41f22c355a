"""The inbox in DynamoDB: pages of cases in the order a view asks for, what their rows show, the
unread count, and who has a case open.

Each order has its index, sharded like the worklist (a case's shard is a hash of its id): `waiting`
the `inbox` index (`INBOX#<status>#<shard>`, sorted by when the oldest unanswered message was
written), `due` the `worklist` (by deadline), `newest` the `recent` index's `NEWEST#<status>#<shard>`
partitions (by the newest message, read backwards). A page reads the shards lazily, a few items
from each, and merges them; the cursor is the last sort key returned, after which every shard
resumes, so pages never repeat or skip a case. The inbox index holds what a row needs, so a page in
the default order reads no case whole; the customers' names and the newest messages of a page come
in one BatchGetItem. The unread count reads the `sentiment` index's `UNREAD#<shard>` partitions,
which hold only open cases with a message nobody has seen, and stops counting past a cap.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import cast

from pynamodb.constants import COUNT
from pynamodb.exceptions import DoesNotExist, UpdateError
from pynamodb.expressions.condition import Condition

from chalicelib.models.case import Case
from chalicelib.ports import BadCursor
from chalicelib.rules.cases import customer_of
from chalicelib.rules.inbox import CaseSummary, InboxQuery, InboxSort, LatestMessage, sort_time
from chalicelib.store import keys, sort_cursor
from chalicelib.store.models import (
    INBOX_PROJECTION,
    CaseItem,
    CustomerItem,
    InteractionItem,
    Item,
    ViewingItem,
)
from chalicelib.store.serde import case_from_item, summary_from_item
from chalicelib.store.transactions import is_condition_failure

BATCH = 100  # keys per BatchGetItem
# A view whose filters its index cannot apply (`newest` by team, priority, intent or assignee)
# reads at most this many cases for one page, then gives back what it found with a cursor.
MAX_EXAMINED = 1000
_SUMMARY = ["pk", "sk", *INBOX_PROJECTION]
_READERS = ThreadPoolExecutor(max_workers=keys.SHARDS, thread_name_prefix="inbox-shard")
_DETAILS = ["pk", "sk", "item_type", "display_name", "handle", "text", "sentiment_label", "deleted_at"]


class InboxStore:
    def cases(self, query: InboxQuery, limit: int, cursor: str | None = None) -> tuple[list[CaseSummary], str | None]:
        """Up to `limit` cases of the view, in its order, and a cursor when there may be more. A
        page is shorter than `limit` only at the end, or when a `newest` view filtered by what
        its index does not hold read MAX_EXAMINED cases without filling it."""
        after = _after(query.sort, cursor)
        # About twice a fair share of the page from each shard, read at once, so that a page rarely
        # needs a second read of any; with filters, which drop some of what is read, a read is
        # asked to look at a page's worth.
        fair = max(10, -(-2 * (limit + 1) // keys.SHARDS))
        filtered = _filter(query, everything=True) is not None
        stream = self._stream(query, after, page_size=limit + 1 if filtered else fair, first=fair)
        found: list[tuple[str, CaseSummary]] = []
        examined = 0
        size = limit + 1
        while len(found) <= limit:
            chunk = list(itertools.islice(stream, size))
            if not chunk:
                return [case for _, case in found], None
            size = BATCH
            for key, case in self._summaries(chunk, query.sort):
                if case is not None and query.matches(case):
                    found.append((key, case))
                    if len(found) > limit:
                        break
            examined += len(chunk)
            if len(found) <= limit and examined >= MAX_EXAMINED:
                return [case for _, case in found], _encode(query.sort, _sort_key(chunk[-1], query.sort))
        return [case for _, case in found[:limit]], _encode(query.sort, found[limit - 1][0])

    def whole(self, cases: Sequence[CaseSummary]) -> dict[str, Case]:
        """These cases read whole (history, messages, answers), by case id: one batch read."""
        wanted = {(keys.customer(case.customer_id), keys.case_sk(case.case_id)) for case in cases}
        found = CaseItem.batch_get(wanted) if wanted else iter(())
        return {item.case_id: case_from_item(item) for item in found}

    def details(self, cases: Sequence[CaseSummary]) -> tuple[dict[str, str | None], dict[str, LatestMessage]]:
        """For a page of cases, in one batch read: each customer's name (display name, else
        handle) by customer id, and each case's newest customer message by case id."""
        wanted: set[tuple[str, str]] = set()
        message_of: dict[tuple[str, str], str] = {}
        for case in cases:
            partition = keys.customer(case.customer_id)
            wanted.add((partition, keys.PROFILE))
            if case.latest_inbound:
                platform, _, external_id = case.latest_inbound.partition(":")
                key = (partition, keys.interaction_sk(case.last_inbound_at, platform, external_id))
                wanted.add(key)
                message_of[key] = case.case_id
        names: dict[str, str | None] = {}
        latest: dict[str, LatestMessage] = {}
        found = Item.batch_get(wanted, attributes_to_get=_DETAILS) if wanted else iter(())
        for item in found:
            if isinstance(item, CustomerItem):
                names[item.pk.removeprefix("CUSTOMER#")] = item.display_name or item.handle
            elif isinstance(item, InteractionItem) and (item.pk, item.sk) in message_of:
                deleted = cast(datetime | None, item.deleted_at) is not None
                latest[message_of[(item.pk, item.sk)]] = LatestMessage(item.text, item.sentiment_label, deleted)
        return names, latest

    def unread_count(self, cap: int) -> int:
        """How many open cases have a message nobody has seen, counted up to `cap` + 1 (more
        than `cap`): COUNT queries of the unread partitions, one shard after another, each asking
        only for what is still missing, so that a backlog costs no more than the cap."""
        total = 0
        for shard in range(keys.SHARDS):
            result = CaseItem._get_connection().query(  # the model's own connection: its table, its keys
                keys.unread_cases(shard),
                index_name=CaseItem.unread_cases.Meta.index_name,
                select=COUNT,
                limit=cap + 1 - total,
            )
            total += int(result.get("Count", 0))
            if total > cap:
                break
        return total

    def mark_seen(self, case_id: str) -> bool:
        """Someone has the case page open: its messages so far are seen. Written only when there is
        something unread, on condition that the case is as read (a message landing meanwhile is
        marked at the next look). False if there is no such case."""
        customer_id = customer_of(case_id)
        if customer_id is None:
            return False
        try:
            item = CaseItem.get(
                keys.customer(customer_id),
                keys.case_sk(case_id),
                attributes_to_get=["pk", "sk", "item_type", "unread", "last_inbound_at", "version"],
            )
        except DoesNotExist:
            return False
        if item.unread:
            try:
                item.update(
                    actions=[
                        CaseItem.seen_inbound_at.set(item.last_inbound_at),
                        CaseItem.unread.set(False),
                        CaseItem.gsi2pk.remove(),  # out of the unread count
                        CaseItem.gsi2sk.remove(),
                    ]
                )  # on condition that the version is the one read
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
        return True

    def look(self, case_id: str, principal: str, now: datetime, seconds: int) -> list[tuple[str, datetime]]:
        """Record that `principal` has the case open for `seconds`; the others who have it open
        now, with until when, by principal id."""
        partition = keys.viewing(case_id)
        ViewingItem(partition, principal, expires_at=now + timedelta(seconds=seconds)).save()
        others = [
            (item.sk, item.expires_at)
            for item in ViewingItem.query(partition, consistent_read=True)
            if item.sk != principal and item.expires_at > now
        ]
        return sorted(others)

    def _stream(self, query: InboxQuery, after: str | None, page_size: int, first: int) -> Iterator[CaseItem]:
        """The view's index items in order, merged over the shards, read `page_size` at a time
        (what DynamoDB looks at, before filters), the `first` of each shard at once."""
        status = query.status.value
        streams: list[Iterable[CaseItem]] = []
        for shard in range(keys.SHARDS):
            if query.sort is InboxSort.WAITING:
                streams.append(
                    CaseItem.inbox.query(
                        keys.inbox_cases(status, shard),
                        CaseItem.gsi4sk > after if after else None,
                        filter_condition=_filter(query, everything=True),
                        page_size=page_size,
                    )
                )
            elif query.sort is InboxSort.DUE:
                due = CaseItem.worklist.query(
                    keys.worklist_cases(status, shard),
                    CaseItem.gsi3sk > after if after else None,
                    filter_condition=_filter(query, everything=True),
                    page_size=page_size,
                )
                streams.append(cast(Iterable[CaseItem], due))  # the index is typed for alerts too
            else:
                streams.append(
                    CaseItem.newest.query(
                        keys.newest_cases(status, shard),
                        CaseItem.gsi1sk < after if after else None,
                        filter_condition=_filter(query, everything=False),
                        scan_index_forward=False,
                        page_size=page_size,
                    )
                )
        # The shards' first pages are read at once; what more a page needs, as the merge asks.
        firsts = list(_READERS.map(lambda stream: list(itertools.islice(stream, first)), streams))
        merged = [itertools.chain(first, stream) for first, stream in zip(firsts, streams, strict=True)]
        newest = query.sort is InboxSort.NEWEST
        return heapq.merge(*merged, key=lambda item: _sort_key(item, query.sort), reverse=newest)

    def _summaries(self, items: Sequence[CaseItem], sort: InboxSort) -> list[tuple[str, CaseSummary | None]]:
        """Each index item's sort key and its case's summary. The inbox and worklist indexes hold
        the summary; `recent` only keys, so those cases are read by key (a case erased meanwhile,
        or moved since the index listed it, gives None: it is listed at its new place once the
        index catches up, so no page repeats it)."""
        if sort is not InboxSort.NEWEST:
            return [(_sort_key(item, sort), summary_from_item(item)) for item in items]
        read = CaseItem.batch_get([(item.pk, item.sk) for item in items], attributes_to_get=_SUMMARY)
        current = {item.sk: summary_from_item(item) for item in read}
        listed: list[tuple[str, CaseSummary | None]] = []
        for item in items:
            key, case = _sort_key(item, sort), current.get(item.sk)
            moved = case is not None and keys.case_order(sort_time(case, sort), case.case_id) != key
            listed.append((key, None if moved else case))
        return listed


def _filter(query: InboxQuery, everything: bool) -> Condition | None:
    """The view's filters as a DynamoDB condition on what the index projects: all of them on the
    inbox and worklist indexes; only platform and language on `recent` (`everything` False)."""
    parts: list[Condition] = []
    if query.platform is not None:
        parts.append(CaseItem.platform == query.platform)
    if query.language is not None:
        parts.append(CaseItem.language == query.language)
    if everything:
        if query.team is not None:
            parts.append(CaseItem.team == query.team)
        if query.priority is not None:
            parts.append(CaseItem.priority == query.priority.value)
        if query.intent is not None:
            parts.append(CaseItem.intent == query.intent.value)
        if query.assignee is not None:
            parts.append(CaseItem.assignee == query.assignee)
        if query.unassigned:
            parts.append(CaseItem.assignee.does_not_exist())
    condition: Condition | None = None
    for part in parts:
        condition = part if condition is None else condition & part
    return condition


def _sort_key(item: CaseItem, sort: InboxSort) -> str:
    if sort is InboxSort.WAITING:
        return str(item.gsi4sk)
    if sort is InboxSort.DUE:
        return item.gsi3sk
    return str(item.gsi1sk)


def _encode(sort: InboxSort, sort_key: str) -> str:
    return sort_cursor.encode(f"{sort.value}|{sort_key}")


def _after(sort: InboxSort, cursor: str | None) -> str | None:
    """The sort key a cursor resumes after; a cursor of another order is not this view's."""
    value = sort_cursor.decode(cursor)
    if value is None:
        return None
    order, _, sort_key = value.partition("|")
    if order != sort.value or not sort_key:
        raise BadCursor("cursor: not one this API returned for this order")
    return sort_key
