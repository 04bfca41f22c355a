"""The SLA watch (a schedule): open cases past their first-response deadline are reported once
per case and deadline with `SLA Breached`, and the breach counts towards the customer's churn risk
(which may raise a `Retention Alert`).

Publish, then write: the events go out first, in PutEvents batches, and only a case whose events
were accepted is marked breached. A run that dies in between reports that case again next time,
under the same dedupe key; a case whose events were refused stays unmarked and is tried again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.events import DomainEvent
from chalicelib.ports import CaseRepository, EventPublisher
from chalicelib.rules import cases, catalogue, churn
from chalicelib.rules.routing import RoutingDocument

PAGE = 100
MAX_CASES_PER_RUN = 2_000
MAX_PAGES_PER_RUN = 200  # reads bounded even under a huge backlog of reported breaches


@dataclass
class SlaReport:
    due: int = 0
    breached: int = 0
    retention_alerts: int = 0
    unpublished: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {
            "due": self.due,
            "breached": self.breached,
            "retention_alerts": self.retention_alerts,
            "unpublished": self.unpublished,
        }


class SlaWatch:
    def __init__(self, store: CaseRepository, bus: EventPublisher, routing: RoutingDocument) -> None:
        self._store = store
        self._bus = bus
        self._routing = routing

    def run(self, now: datetime) -> SlaReport:
        report = SlaReport()
        due = self._due(now)
        report.due = len(due)
        planned: dict[str, tuple[DomainEvent, ...]] = {}
        for case in due:
            current = self._store.with_customer(case.case_id)
            if current is None:
                continue
            outcome = self._breach(now)(*current)
            if outcome is not None:
                planned[case.case_id] = outcome[2]
        accepted = self._publish(planned)
        report.unpublished = len(planned) - len(accepted)
        for case_id in accepted:
            sent = {event.dedupe_key for event in planned[case_id]}
            raised: list[DomainEvent] = []

            def change(
                case: Case,
                state: ChurnState,
                trend: float | None,
                samples: int,
                raised: list[DomainEvent] = raised,
                sent: set[str] = sent,
            ) -> tuple[Case, ChurnState] | None:
                outcome = self._breach(now)(case, state, trend, samples)
                if outcome is None or any(event.dedupe_key not in sent for event in outcome[2]):
                    # Answered meanwhile, or the customer changed so that this breach now raises
                    # an event not yet published: leave it for the next run, which publishes first.
                    return None
                raised[:] = outcome[2]
                return outcome[0], outcome[1]

            if self._store.change(case_id, change) is None:
                continue
            report.breached += 1
            report.retention_alerts += sum(1 for event in raised if event.detail_type.value == "Retention Alert")
        return report

    def _due(self, now: datetime) -> list[Case]:
        """Open cases past their deadline and not yet reported for it, oldest deadline first.
        Reported ones stay open (and first in the index) until answered, so they are skipped
        rather than counted: a backlog of old breaches must not hide the new ones."""
        found: list[Case] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES_PER_RUN):
            page, cursor = self._store.worklist(CaseStatus.OPEN, None, PAGE, cursor, due_before=now)
            found.extend(case for case in page if cases.breach(case, now) is not None)
            if cursor is None or len(found) >= MAX_CASES_PER_RUN:
                break
        return found[:MAX_CASES_PER_RUN]

    def _breach(
        self, now: datetime
    ) -> Callable[[Case, ChurnState, float | None, int], tuple[Case, ChurnState, tuple[DomainEvent, ...]] | None]:
        routing = self._routing

        def breach(
            case: Case, state: ChurnState, trend: float | None, samples: int
        ) -> tuple[Case, ChurnState, tuple[DomainEvent, ...]] | None:
            breached = cases.breach(case, now)
            if breached is None:
                return None
            events = [catalogue.sla_breached(case, now)]
            state = churn.record(churn.settle(state, trend, samples, now, routing.churn), churn.SLA_BREACH, now)
            state, fire = churn.update(state, trend, samples, now, routing.churn)
            if fire:
                events.append(
                    catalogue.retention_alert(
                        case.customer_id,
                        state.alerts,
                        state.score,
                        routing.churn.alert_at,
                        state.reasons,
                        None,
                        case.case_id,
                    )
                )
            return breached, state, tuple(events)

        return breach

    def _publish(self, planned: dict[str, tuple[DomainEvent, ...]]) -> list[str]:
        owners = [case_id for case_id, events in planned.items() for _ in events]
        events: Sequence[DomainEvent] = [event for events in planned.values() for event in events]
        if not events:
            return []
        accepted = self._bus.publish(events)
        refused = {owner for owner, ok in zip(owners, accepted, strict=True) if not ok}
        return [case_id for case_id in planned if case_id not in refused]
