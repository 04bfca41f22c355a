"""A case: something a customer is waiting for the brand to answer, with a deadline."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import iso, parse_iso


class CaseStatus(StrEnum):
    OPEN = "open"  # waiting for the brand's answer; `due_at` is the deadline
    RESPONDED = "responded"  # the brand answered; the customer's next message reopens it
    RESOLVED = "resolved"  # closed by a person; the next message opens a new case


ACTIVE = (CaseStatus.OPEN, CaseStatus.RESPONDED)
INBOUND_TIMES_KEPT = 50


@dataclass(frozen=True)
class Case:
    case_id: str
    customer_id: str
    status: CaseStatus
    team: str
    priority: Priority
    intent: Intent
    rule: str
    platform: str
    thread_key: str
    opened_at: datetime
    due_at: datetime
    last_inbound_at: datetime
    interactions: tuple[str, ...] = ()  # "<platform>:<external_id>", oldest first
    # When the customer's messages on the case were written (the newest INBOUND_TIMES_KEPT, in
    # order): a reply answers those before it, whatever order SQS brings them in.
    inbound_times: tuple[datetime, ...] = ()
    responded_at: datetime | None = None  # the latest reply that answered the case
    responded_by: str | None = None
    # When the brand first answered the case (kept through reopenings): its first-response time is
    # this minus `opened_at`.
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    breaches: tuple[datetime, ...] = ()  # deadlines missed, each reported once
    version: int = 0
    history: tuple[dict[str, Any], ...] = field(default=())
    # Who works on it (a principal id such as `cognito:ana@example.com`), None while unassigned.
    # Kept when the case is answered, resolved or reopened; changed only by `rules.cases.assign`.
    assignee: str | None = None
    # The language of its first message that had one (the analysis', else a trusted hint): the
    # inbox filters by it without reading the customer's messages.
    language: str | None = None
    # The customer's newest message on it ("<platform>:<external_id>", written at
    # `last_inbound_at`): the inbox shows its first words and sentiment, read from the message
    # itself, so an edit or a deletion there shows at once.
    latest_inbound: str | None = None
    # The newest message someone has seen on the case page (its `last_inbound_at` then).
    seen_inbound_at: datetime | None = None
    # The brand's account the customer wrote to (its page, number, bot): the figures count per account.
    account_id: str | None = None

    @property
    def waiting_since(self) -> datetime:
        """When the earliest message no reply has answered yet was written."""
        times = self.inbound_times or (self.opened_at, self.last_inbound_at)
        unanswered = [moment for moment in times if self.responded_at is None or moment > self.responded_at]
        return min(unanswered) if unanswered else self.last_inbound_at

    @property
    def unread(self) -> bool:
        """The customer wrote after anyone last looked: their newest message is newer than the
        newest one seen on the case page, than the brand's latest answer and than resolution."""
        marks = [moment for moment in (self.seen_inbound_at, self.responded_at, self.resolved_at) if moment]
        return not marks or self.last_inbound_at > max(marks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "customer_id": self.customer_id,
            "status": self.status.value,
            "team": self.team,
            "priority": self.priority.value,
            "intent": self.intent.value,
            "rule": self.rule,
            "platform": self.platform,
            "opened_at": iso(self.opened_at),
            "due_at": iso(self.due_at),
            "overdue": self.status is CaseStatus.OPEN and bool(self.breaches) and self.breaches[-1] == self.due_at,
            "last_inbound_at": iso(self.last_inbound_at),
            "waiting_since": iso(self.waiting_since) if self.status is CaseStatus.OPEN else None,
            "interactions": list(self.interactions),
            "responded_at": iso(self.responded_at) if self.responded_at else None,
            "responded_by": self.responded_by,
            "first_response_at": iso(self.first_response_at) if self.first_response_at else None,
            "first_response_seconds": (
                round((self.first_response_at - self.opened_at).total_seconds()) if self.first_response_at else None
            ),
            "resolved_at": iso(self.resolved_at) if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "sla_breaches": [iso(moment) for moment in self.breaches],
            "history": list(self.history),
            "assignee": self.assignee,
            "language": self.language,
            "unread": self.unread,
        }


@dataclass(frozen=True)
class BrandReply:
    """A reply of the brand's as cases see it: on which conversation, when, by whom, which one.
    Kept on the customer's profile while it answers no case yet (it arrived before the message it
    answers: SQS has no order), until that message lands."""

    thread_key: str
    at: datetime
    by: str
    ref: str  # "<platform>:<external_id>"

    def to_dict(self) -> dict[str, str]:
        return {"thread_key": self.thread_key, "at": iso(self.at), "by": self.by, "ref": self.ref}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BrandReply:
        return cls(str(data["thread_key"]), parse_iso(str(data["at"])), str(data["by"]), str(data["ref"]))
