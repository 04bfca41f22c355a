"""Between domain models and PynamoDB items: cases, churn state, snapshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, cast

from chalicelib.models.case import BrandReply, Case, CaseStatus
from chalicelib.models.churn import ChurnState, Signal
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import iso
from chalicelib.rules.inbox import CaseSummary
from chalicelib.store import keys
from chalicelib.store.models import CaseItem, CustomerItem


def parse_time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def churn_to_json(state: ChurnState) -> dict[str, Any]:
    return {
        "signals": {name: {"value": s.value, "at": iso(s.at)} for name, s in state.signals.items()},
        "open_complaints": state.open_complaints,
        "score": state.score,
        "reasons": list(state.reasons),
        "alerting": state.alerting,
        "alerts": state.alerts,
    }


def churn_from_json(data: dict[str, Any] | None) -> ChurnState:
    if not data:
        return ChurnState()
    return ChurnState(
        signals={
            name: Signal(float(s["value"]), parse_time(s["at"])) for name, s in (data.get("signals") or {}).items()
        },
        open_complaints=int(data.get("open_complaints", 0)),
        score=float(data.get("score", 0.0)),
        reasons=tuple(data.get("reasons", ())),
        alerting=bool(data.get("alerting", False)),
        alerts=int(data.get("alerts", 0)),
    )


def apply_churn(profile: CustomerItem, state: ChurnState) -> None:
    profile.churn = churn_to_json(state)
    profile.churn_risk = state.score


def waiting_replies_of(profile: CustomerItem) -> tuple[BrandReply, ...]:
    return tuple(BrandReply.from_dict(reply) for reply in profile.waiting_replies or ())


def segments_of(profile: CustomerItem) -> frozenset[str]:
    """The segments people gave the customer and those the daily job found: routing reads both."""
    given = {str(segment) for segment in (profile.segments or ())}
    return frozenset(given | {str(segment) for segment in (profile.auto_segments or ())})


def case_item(case: Case, retention: timedelta | None = None) -> CaseItem:
    """A case is kept as long as the interactions it lists: `retention` after its last activity."""
    last = max(moment for moment in (case.last_inbound_at, case.responded_at, case.resolved_at) if moment)
    expires_at = last + retention if retention is not None else None
    shard = keys.shard(case.case_id)
    counted = case.status is CaseStatus.OPEN and case.unread  # in the unread count
    item = CaseItem(
        keys.customer(case.customer_id),
        keys.case_sk(case.case_id),
        case_id=case.case_id,
        customer_id=case.customer_id,
        status=case.status.value,
        team=case.team,
        priority=case.priority.value,
        intent=case.intent.value,
        rule=case.rule,
        platform=case.platform,
        thread_key=case.thread_key,
        opened_at=case.opened_at,
        due_at=case.due_at,
        last_inbound_at=case.last_inbound_at,
        interactions=list(case.interactions),
        inbound_times=[iso(moment) for moment in case.inbound_times] or None,
        responded_at=case.responded_at,
        responded_by=case.responded_by,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        resolved_by=case.resolved_by,
        breaches=[iso(moment) for moment in case.breaches],
        history=list(case.history),
        assignee=case.assignee,
        language=case.language,
        latest_inbound=case.latest_inbound,
        seen_inbound_at=case.seen_inbound_at,
        account_id=case.account_id,
        waiting_since=case.waiting_since,
        unread=case.unread,
        gsi3pk=keys.worklist_cases(case.status.value, shard),
        gsi3sk=keys.case_order(case.due_at, case.case_id),
        gsi4pk=keys.inbox_cases(case.status.value, shard),
        gsi4sk=keys.case_order(case.waiting_since, case.case_id),
        gsi1pk=keys.newest_cases(case.status.value, shard),
        gsi1sk=keys.case_order(case.last_inbound_at, case.case_id),
        gsi2pk=keys.unread_cases(shard) if counted else None,
        gsi2sk=keys.case_order(case.last_inbound_at, case.case_id) if counted else None,
        expires_at=expires_at,
    )
    if case.version:
        item.version = case.version  # PynamoDB then saves on condition that the version is unchanged
    return item


def case_from_item(item: CaseItem) -> Case:
    return Case(
        case_id=item.case_id,
        customer_id=item.customer_id,
        status=CaseStatus(item.status),
        team=item.team,
        priority=Priority(item.priority),
        intent=Intent(item.intent),
        rule=item.rule,
        platform=item.platform,
        thread_key=item.thread_key,
        opened_at=item.opened_at,
        due_at=item.due_at,
        last_inbound_at=item.last_inbound_at,
        interactions=tuple(str(i) for i in item.interactions or ()),
        inbound_times=tuple(parse_time(str(moment)) for moment in item.inbound_times or ()),
        responded_at=item.responded_at,
        responded_by=item.responded_by,
        first_response_at=item.first_response_at,
        resolved_at=item.resolved_at,
        resolved_by=item.resolved_by,
        breaches=tuple(parse_time(str(moment)) for moment in item.breaches or ()),
        version=int(item.version or 0),
        history=tuple(item.history or ()),
        assignee=item.assignee,
        language=item.language,
        latest_inbound=item.latest_inbound,
        seen_inbound_at=item.seen_inbound_at,
        account_id=item.account_id,
    )


def summary_from_item(item: CaseItem) -> CaseSummary:
    """What the inbox needs of a case, from an item that holds at least the inbox index's
    projection (a case written before the inbox was kept has no `waiting_since`: read it whole)."""
    waiting_since = cast(datetime | None, item.waiting_since)  # PynamoDB types it as never None
    if waiting_since is None:
        return CaseSummary.of(case_from_item(item))
    return CaseSummary(
        case_id=item.case_id,
        customer_id=item.customer_id,
        status=CaseStatus(item.status),
        team=item.team,
        priority=Priority(item.priority),
        intent=Intent(item.intent),
        platform=item.platform,
        due_at=item.due_at,
        waiting_since=waiting_since,
        last_inbound_at=item.last_inbound_at,
        assignee=item.assignee,
        language=item.language,
        latest_inbound=item.latest_inbound,
        unread=bool(item.unread),
    )
