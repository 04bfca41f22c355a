"""The inbox as pure functions: which cases a view holds, in which order, and what a row shows.

A view is a status (open by default: waiting for the brand's answer), an order and filters. The
orders: `waiting`, the case whose oldest unanswered message is oldest first (first come, first
served: what an agent should answer next); `due`, the soonest deadline first; `newest`, the most
recent message first. The store serves each from an index; `InboxQuery.matches` is the same
filter applied to the cases themselves, which also drops what a lagging index still lists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import iso

PREVIEW_CHARS = 120


class InboxSort(StrEnum):
    WAITING = "waiting"  # oldest unanswered message first
    DUE = "due"  # soonest deadline first
    NEWEST = "newest"  # most recent message first


@dataclass(frozen=True)
class CaseSummary:
    """What the inbox knows of a case without reading it whole: what its index holds."""

    case_id: str
    customer_id: str
    status: CaseStatus
    team: str
    priority: Priority
    intent: Intent
    platform: str
    due_at: datetime
    waiting_since: datetime
    last_inbound_at: datetime
    assignee: str | None = None
    language: str | None = None
    latest_inbound: str | None = None
    unread: bool = False

    @classmethod
    def of(cls, case: Case) -> CaseSummary:
        return cls(
            case_id=case.case_id,
            customer_id=case.customer_id,
            status=case.status,
            team=case.team,
            priority=case.priority,
            intent=case.intent,
            platform=case.platform,
            due_at=case.due_at,
            waiting_since=case.waiting_since,
            last_inbound_at=case.last_inbound_at,
            assignee=case.assignee,
            language=case.language,
            latest_inbound=case.latest_inbound,
            unread=case.unread,
        )


@dataclass(frozen=True)
class InboxQuery:
    """One view of the inbox. `assignee`: only cases held by that principal; `unassigned`: only
    cases nobody holds; neither: anyone's."""

    status: CaseStatus = CaseStatus.OPEN
    sort: InboxSort = InboxSort.WAITING
    platform: str | None = None
    team: str | None = None
    priority: Priority | None = None
    intent: Intent | None = None
    language: str | None = None
    assignee: str | None = None
    unassigned: bool = False

    def matches(self, case: CaseSummary) -> bool:
        checks = (
            case.status is self.status,
            self.platform is None or case.platform == self.platform,
            self.team is None or case.team == self.team,
            self.priority is None or case.priority is self.priority,
            self.intent is None or case.intent is self.intent,
            self.language is None or case.language == self.language,
            self.assignee is None or case.assignee == self.assignee,
            not self.unassigned or case.assignee is None,
        )
        return all(checks)


def sort_time(case: CaseSummary, sort: InboxSort) -> datetime:
    """The time a case is ordered by: when its oldest unanswered message was written (its newest
    one, once every message is answered), its deadline, or its newest message."""
    if sort is InboxSort.WAITING:
        return case.waiting_since
    if sort is InboxSort.DUE:
        return case.due_at
    return case.last_inbound_at


def first_words(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    """The start of a message for a one-line preview: whitespace folded, cut at a word boundary
    near `limit` characters, with an ellipsis when cut."""
    if not text:
        return None
    folded = " ".join(text.split())
    if len(folded) <= limit:
        return folded
    cut = folded[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class LatestMessage:
    """The customer's newest message on a case, as stored (redacted): its words and sentiment."""

    text: str | None
    sentiment: str | None
    deleted: bool = False


@dataclass(frozen=True)
class InboxRow:
    case: CaseSummary
    customer_name: str | None
    latest: LatestMessage | None
    overdue: bool

    def to_dict(self) -> dict[str, Any]:
        case = self.case
        latest = self.latest
        return {
            "case_id": case.case_id,
            "customer_id": case.customer_id,
            "customer_name": self.customer_name,
            "platform": case.platform,
            "intent": case.intent.value,
            "sentiment": latest.sentiment if latest else None,
            "preview": first_words(latest.text) if latest and not latest.deleted else None,
            "waiting_since": iso(case.waiting_since) if case.status is CaseStatus.OPEN else None,
            "last_inbound_at": iso(case.last_inbound_at),
            "due_at": iso(case.due_at),
            "overdue": self.overdue,
            "priority": case.priority.value,
            "team": case.team,
            "assignee": case.assignee,
            "status": case.status.value,
            "language": case.language,
            "unread": case.unread,
        }


def row(case: CaseSummary, customer_name: str | None, latest: LatestMessage | None, now: datetime) -> InboxRow:
    """A case as the inbox lists it. Overdue: still waiting for an answer past its deadline (now,
    not when the SLA watch next notices)."""
    return InboxRow(case, customer_name, latest, case.status is CaseStatus.OPEN and case.due_at <= now)
