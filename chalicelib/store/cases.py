"""Cases in DynamoDB: the worklist across customers, one case, and changes that also move the
customer's churn state (a resolved complaint, a missed deadline), written together."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pynamodb.connection import Connection
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.expressions.condition import Condition
from pynamodb.transactions import TransactWrite

from chalicelib.insight import counts
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.ports import CaseChange
from chalicelib.rules.cases import customer_of
from chalicelib.store import keys, sort_cursor
from chalicelib.store.figures import add_counts
from chalicelib.store.models import CaseItem, CustomerItem
from chalicelib.store.serde import apply_churn, case_from_item, case_item, churn_from_json
from chalicelib.store.timeline import aggregates
from chalicelib.store.transactions import cancellation_codes, is_condition_failure

ATTEMPTS = 8


class CaseStore:
    def __init__(self, connection: Connection, retention_days: int) -> None:
        self._connection = connection
        self._retention = timedelta(days=retention_days)

    def get(self, case_id: str) -> Case | None:
        customer_id = customer_of(case_id)
        if customer_id is None:
            return None
        try:
            return case_from_item(CaseItem.get(keys.customer(customer_id), keys.case_sk(case_id), consistent_read=True))
        except DoesNotExist:
            return None

    def worklist(
        self,
        status: CaseStatus,
        team: str | None,
        limit: int,
        cursor: str | None = None,
        due_before: datetime | None = None,
    ) -> tuple[list[Case], str | None]:
        """Cases of a status, soonest deadline first, across the shards of the index. The cursor is
        the last sort key returned: every shard resumes after it, so pages merge exactly."""
        after = sort_cursor.decode(cursor)
        upper = f"{keys.stamp(due_before)}#" if due_before else None
        streams = []
        for shard in range(keys.SHARDS):
            condition: Condition | None = None
            if after and upper:
                condition = CaseItem.gsi3sk.between(after, upper)
            elif after:
                condition = CaseItem.gsi3sk > after
            elif upper:
                condition = CaseItem.gsi3sk < upper
            streams.append(
                CaseItem.worklist.query(
                    keys.worklist_cases(status.value, shard),
                    condition,
                    filter_condition=(CaseItem.team == team) if team else None,
                    # One more than a page tells whether there is more; and one more again, since
                    # `between` also returns the cursor's own item, which is dropped.
                    limit=limit + 2,
                )
            )
        merged = heapq.merge(*(_sorted(stream, after) for stream in streams), key=lambda item: item.gsi3sk)
        page: list[CaseItem] = []
        for item in merged:
            page.append(item)
            if len(page) > limit:
                break
        more = len(page) > limit
        page = page[:limit]
        return [case_from_item(item) for item in page], sort_cursor.encode(page[-1].gsi3sk) if more and page else None

    def with_customer(self, case_id: str) -> tuple[Case, ChurnState, float | None, int] | None:
        """The case with what a change looks at: its customer's churn state and sentiment trend."""
        read = _read(case_id)
        if read is None:
            return None
        item, profile = read
        figures = aggregates(profile)
        return case_from_item(item), churn_from_json(profile.churn), figures.sentiment_score, figures.sentiment_samples

    def amend(self, case_id: str, change: Callable[[Case], Case]) -> Case | None:
        """Apply `change` to the case alone (an assignment: nothing of the customer moves), on
        condition that its version is still the one read, reading it again if it moved. Returns
        the case as written (as read, if `change` returned it unchanged); None if there is no
        such case. What `change` raises ends the attempt and reaches the caller."""
        customer_id = customer_of(case_id)
        if customer_id is None:
            return None
        for _ in range(ATTEMPTS):
            try:
                item = CaseItem.get(keys.customer(customer_id), keys.case_sk(case_id), consistent_read=True)
            except DoesNotExist:
                return None
            case = case_from_item(item)
            updated = change(case)
            if updated == case:
                return case
            try:
                case_item(updated, self._retention).save()  # on condition that the version is the one read
            except PutError as exc:
                if is_condition_failure(exc):
                    continue
                raise
            return replace(updated, version=updated.version + 1)
        raise RuntimeError(f"case {case_id} kept changing; giving up after {ATTEMPTS} attempts")

    def change(self, case_id: str, change: CaseChange) -> Case | None:
        """Apply `change` to the case and its customer's churn state in one transaction, reading
        both again if either moved meanwhile. None if there is no such case or nothing changed."""
        for _ in range(ATTEMPTS):
            read = _read(case_id)
            if read is None:
                return None
            item, profile = read
            figures = aggregates(profile)
            before = case_from_item(item)
            result = change(before, churn_from_json(profile.churn), figures.sentiment_score, figures.sentiment_samples)
            if result is None:
                return None
            case, state = result
            apply_churn(profile, state)
            try:
                with TransactWrite(connection=self._connection) as transaction:
                    transaction.save(case_item(case, self._retention))
                    transaction.save(profile)
                    # What the change did to the case (resolved, answered, a deadline missed) is
                    # counted with it: once, since a change that lost a race is decided again.
                    seed = f"{case.case_id}#{before.version}"
                    add_counts(transaction, counts.for_case(before, case), seed, datetime.now(UTC))
            except TransactWriteError as exc:
                codes = cancellation_codes(exc)
                if "ConditionalCheckFailed" in codes or "TransactionConflict" in codes:
                    continue
                raise
            return case
        raise RuntimeError(f"case {case_id} kept changing; giving up after {ATTEMPTS} attempts")


def _read(case_id: str) -> tuple[CaseItem, CustomerItem] | None:
    """The case and its customer's profile, strongly consistent: what every change starts from."""
    customer_id = customer_of(case_id)
    if customer_id is None:
        return None
    try:
        item = CaseItem.get(keys.customer(customer_id), keys.case_sk(case_id), consistent_read=True)
        profile = CustomerItem.get(keys.customer(customer_id), keys.PROFILE, consistent_read=True)
    except DoesNotExist:
        return None
    return item, profile


def _sorted(stream: object, after: str | None) -> list[CaseItem]:
    items = [item for item in stream if after is None or item.gsi3sk > after]  # type: ignore[attr-defined]
    return sorted(items, key=lambda item: item.gsi3sk)
