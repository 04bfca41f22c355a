"""The SLA watch over a worklist that pages: a backlog of breaches already reported (they stay
open, and first in the index, until someone answers) must not hide a new one behind it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.events import DomainEvent
from chalicelib.ports import CaseChange
from chalicelib.rules import churn
from chalicelib.rules.routing import load_default
from chalicelib.services import sla
from chalicelib.services.sla import PAGE, SlaWatch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def case(number: int, due_at: datetime, reported: bool) -> Case:
    opened = due_at - timedelta(hours=2)
    return Case(
        case_id=f"c-{number:05d}",
        customer_id=f"cust-{number}",
        status=CaseStatus.OPEN,
        team="support",
        priority=Priority.P2,
        intent=Intent.COMPLAINT,
        rule="complaint",
        platform="messenger",
        thread_key=f"messenger:t-{number}",
        opened_at=opened,
        due_at=due_at,
        last_inbound_at=opened,
        breaches=(due_at,) if reported else (),
    )


@dataclass
class PagedCases:
    """A worklist ordered by deadline, `limit` at a time, with a cursor, as the table's index is."""

    items: dict[str, Case]
    pages_read: int = 0

    def worklist(
        self,
        status: CaseStatus,
        team: str | None,
        limit: int,
        cursor: str | None = None,
        due_before: datetime | None = None,
    ) -> tuple[list[Case], str | None]:
        self.pages_read += 1
        ordered = sorted(
            (c for c in self.items.values() if c.status is status and (due_before is None or c.due_at <= due_before)),
            key=lambda c: (c.due_at, c.case_id),
        )
        start = int(cursor or 0)
        page = ordered[start : start + limit]
        return page, str(start + limit) if start + limit < len(ordered) else None

    def with_customer(self, case_id: str) -> tuple[Case, ChurnState, float | None, int] | None:
        return self.items[case_id], ChurnState(), None, 0

    def change(self, case_id: str, change: CaseChange) -> Case | None:
        changed = change(self.items[case_id], ChurnState(), None, 0)
        if changed is None:
            return None
        self.items[case_id] = changed[0]
        return changed[0]


@dataclass
class Bus:
    published: list[DomainEvent] = field(default_factory=list)
    calls: int = 0

    def publish(self, events: Sequence[DomainEvent]) -> list[bool]:
        self.calls += 1
        self.published.extend(events)
        return [True] * len(events)


def test_a_new_breach_behind_a_backlog_of_reported_ones_is_found_and_reported_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sla, "MAX_CASES_PER_RUN", PAGE)  # a backlog bigger than one run's share
    backlog = {f"c-{n:05d}": case(n, NOW - timedelta(days=3, minutes=n), reported=True) for n in range(PAGE * 3)}
    fresh = case(99_999, NOW - timedelta(minutes=5), reported=False)
    store = PagedCases({**backlog, fresh.case_id: fresh})
    bus = Bus()
    watch = SlaWatch(store, bus, load_default())

    report = watch.run(NOW)

    assert report.breached == 1
    breached = [e for e in bus.published if e.detail_type.value == "SLA Breached"]
    assert [e.detail["case_id"] for e in breached] == [fresh.case_id]
    assert store.pages_read == 4  # the whole backlog was paged through, no more
    again = watch.run(NOW + timedelta(minutes=5))
    assert again.breached == 0
    assert [e.detail["case_id"] for e in bus.published if e.detail_type.value == "SLA Breached"] == [fresh.case_id]


@dataclass
class Drifting(PagedCases):
    """The customer's churn state moves between the watch's planning read and its write."""

    planning_state: ChurnState = field(default_factory=ChurnState)
    writing_state: ChurnState = field(default_factory=ChurnState)

    def with_customer(self, case_id: str) -> tuple[Case, ChurnState, float | None, int] | None:
        return self.items[case_id], self.planning_state, None, 0

    def change(self, case_id: str, change: CaseChange) -> Case | None:
        changed = change(self.items[case_id], self.writing_state, None, 0)
        if changed is None:
            return None
        self.items[case_id], self.writing_state = changed
        return changed[0]


def test_a_breach_that_would_raise_an_unpublished_alert_waits_for_the_next_run_to_publish_it() -> None:
    # 0.685 from a cancel threat and a competitor: the breach's 0.2 takes it past 0.7.
    near = churn.record(churn.record(ChurnState(), churn.CANCEL_INTENT, NOW), churn.COMPETITOR, NOW)
    overdue = case(7, NOW - timedelta(minutes=10), reported=False)
    store = Drifting({overdue.case_id: overdue}, writing_state=near)
    bus = Bus()
    watch = SlaWatch(store, bus, load_default())

    first = watch.run(NOW)
    assert first.breached == 0  # planned without the alert, so not written
    assert [e.detail_type.value for e in bus.published] == ["SLA Breached"]

    store.planning_state = near  # the next run reads the customer as they now are
    second = watch.run(NOW + timedelta(minutes=5))
    assert (second.breached, second.retention_alerts) == (1, 1)
    kinds = [e.detail_type.value for e in bus.published]
    assert kinds == ["SLA Breached", "SLA Breached", "Retention Alert"]  # published before it was written
    assert store.writing_state.alerting
