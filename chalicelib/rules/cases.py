"""How cases open, grow, get answered and close, as pure functions of a case and what happened."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from chalicelib.models.case import ACTIVE, INBOUND_TIMES_KEPT, BrandReply, Case, CaseStatus
from chalicelib.models.decision import Intent, Priority, Route
from chalicelib.models.interaction import Direction, Interaction, iso

_URGENCY = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3, Priority.P4: 4}
HISTORY_LIMIT = 50
# Replies that answered nothing when they came wait this long, at most this many per customer, for
# the message they answer (SQS redelivers for minutes, not days; a reply to a conversation we never
# saw never finds one).
WAITING_REPLY_DAYS = 7
WAITING_REPLIES_KEPT = 20


class InvalidTransition(ValueError):
    pass


def thread_key(interaction: Interaction) -> str:
    """The conversation an interaction belongs to, the same for the customer's messages and the
    brand's replies: the platform's thread where it has one (a DM thread is keyed by the customer,
    a comment by its post), else the customer's conversation with that brand account."""
    if interaction.thread_id:
        return f"{interaction.platform}:{interaction.thread_id}"
    customer = interaction.recipient_id if interaction.direction is Direction.OUTBOUND else None
    if customer is None and interaction.author is not None and interaction.direction is Direction.INBOUND:
        customer = interaction.author.user_id
    return f"{interaction.platform}:{interaction.account_id or '-'}:user:{customer or '-'}"


def reference(interaction: Interaction) -> str:
    return f"{interaction.platform}:{interaction.external_id}"


def reply_of(reply: Interaction) -> BrandReply:
    # A reply sent from socialcrm names the person who sent it; one typed in the platform's own
    # inbox only the brand's account.
    by = reply.sent_by or (f"{reply.platform}:{reply.author.user_id}" if reply.author else reply.platform)
    return BrandReply(thread_key(reply), reply.occurred_at, by, reference(reply))


def new_case_id(customer_id: str, opened_at: datetime) -> str:
    """`<customer_id>_<time><random>`: the case lives in its customer's partition, so its id says
    which; the time part sorts a customer's cases by age."""
    return f"{customer_id}_{opened_at.strftime('%Y%m%d%H%M%S')}{secrets.token_hex(3)}"


def customer_of(case_id: str) -> str | None:
    customer_id, _, suffix = case_id.rpartition("_")
    return customer_id if customer_id and len(suffix) == 20 and suffix.isalnum() else None


def for_thread(cases: Sequence[Case], key: str) -> Case | None:
    """The customer's active case on this conversation, if any (the most recent one)."""
    matching = [case for case in cases if case.status in ACTIVE and case.thread_key == key]
    return max(matching, key=lambda case: case.opened_at) if matching else None


def meant_for(cases: Sequence[Case], reply: BrandReply) -> Case | None:
    """Which of the customer's active cases a brand reply is about: the one on the reply's own
    conversation; failing that, the customer's latest open case on the same platform (the brand
    often answers a public mention by DM: the customer is answered all the same). The one rule for
    both orders: `Decider.outbound` applies it when the reply comes after the message,
    `answer_waiting` when the reply came first, so that what is answered never depends on SQS."""
    case = for_thread(cases, reply.thread_key)
    if case is not None:
        return case
    platform = platform_of(reply)
    waiting = [case for case in cases if case.status is CaseStatus.OPEN and case.platform == platform]
    return max(waiting, key=lambda case: case.last_inbound_at) if waiting else None


def platform_of(reply: BrandReply) -> str:
    """A reply's platform, from its reference (`<platform>:<external_id>`; platforms have no colon)."""
    return reply.ref.partition(":")[0]


def open_case(
    customer_id: str,
    interaction: Interaction,
    intent: Intent,
    route: Route,
    sla: Mapping[Priority, int],
    language: str | None = None,
) -> Case:
    """A new case for the customer's message; `language`, the message's (the inbox filters by it)."""
    opened = interaction.occurred_at
    return Case(
        case_id=new_case_id(customer_id, opened),
        customer_id=customer_id,
        status=CaseStatus.OPEN,
        team=route.team,
        priority=route.priority,
        intent=intent,
        rule=route.rule,
        platform=interaction.platform,
        thread_key=thread_key(interaction),
        opened_at=opened,
        due_at=opened + timedelta(minutes=sla[route.priority]),
        last_inbound_at=opened,
        interactions=(reference(interaction),),
        inbound_times=(opened,),
        history=({"at": iso(opened), "status": "open", "by": f"rule:{route.rule}"},),
        language=language,
        latest_inbound=reference(interaction),
        account_id=interaction.account_id,
    )


def join(
    case: Case,
    interaction: Interaction,
    route: Route,
    sla: Mapping[Priority, int],
    reopen: bool = True,
    language: str | None = None,
) -> Case:
    """The customer wrote again on a case's conversation. What the message changes depends on when
    it was written, not when it arrived: after the latest answer, an answered case waits for the
    brand again with a fresh deadline when the message needs an answer (`reopen`: a "thanks!" does
    not), and an open case's deadline comes forward if the message has been waiting longer (a late
    arrival) or is more urgent; before the latest answer, it was answered already. A more urgent
    route raises the case's priority (and moves it to that route's team; whoever it is assigned
    to keeps it). The newest message becomes the one the inbox shows; a case without a language
    takes this message's."""
    priority = route.priority if _URGENCY[route.priority] < _URGENCY[case.priority] else case.priority
    written = interaction.occurred_at
    newest = written >= case.last_inbound_at
    updated = replace(
        case,
        priority=priority,
        team=route.team if priority is not case.priority else case.team,
        last_inbound_at=max(case.last_inbound_at, written),
        inbound_times=_with(_inbound_times(case), written),
        interactions=(*case.interactions, reference(interaction)),
        latest_inbound=reference(interaction) if newest else case.latest_inbound,
        language=case.language or language,
    )
    unanswered = case.responded_at is None or written > case.responded_at
    if reopen and case.status is CaseStatus.RESPONDED and unanswered:
        return replace(
            updated,
            status=CaseStatus.OPEN,
            due_at=written + timedelta(minutes=sla[priority]),
            history=_history(case, written, "open", "customer wrote again"),
        )
    if case.status is CaseStatus.OPEN and unanswered:
        return replace(updated, due_at=min(case.due_at, written + timedelta(minutes=sla[priority])))
    return updated


def respond(case: Case, reply: BrandReply, sla: Mapping[Priority, int]) -> Case | None:
    """The brand's reply answers the case's messages written before it. None when it answers none
    of those still waiting (it came before them, or the case is not open): it may answer a message
    that has not arrived yet. A reply written between two waiting messages answers the first; the
    case stays open for the later one, with its deadline running from that message."""
    if case.status is not CaseStatus.OPEN:
        return None
    waiting = [moment for moment in _inbound_times(case) if case.responded_at is None or moment > case.responded_at]
    if not waiting or reply.at < min(waiting):
        return None
    answered = replace(
        case,
        responded_at=reply.at,
        responded_by=reply.by,
        first_response_at=min(case.first_response_at or reply.at, reply.at),
        interactions=(*case.interactions, reply.ref),
    )
    later = [moment for moment in waiting if moment > reply.at]
    if not later:
        return replace(answered, status=CaseStatus.RESPONDED, history=_history(case, reply.at, "responded", reply.by))
    entry = {"at": iso(reply.at), "status": "open", "by": reply.by, "note": "answered earlier messages"}
    return replace(
        answered,
        due_at=min(later) + timedelta(minutes=sla[case.priority]),
        history=(*case.history, entry)[-HISTORY_LIMIT:],
    )


def answer_waiting(
    case: Case, waiting: Sequence[BrandReply], sla: Mapping[Priority, int], others: Sequence[Case] = ()
) -> tuple[Case, tuple[BrandReply, ...]]:
    """Replies kept because they answered nothing when they came (the message they answer had not
    landed: SQS has no order) answer the case of the message that lands now as if they had come
    just after it: those `meant_for` this case among the customer's active ones (`others`: its
    conversation's, or else, from another conversation of the same platform, the latest open one)
    answer it if they were written after its messages. Returns the case and the replies still
    waiting."""
    left: list[BrandReply] = []
    active = [other for other in others if other.case_id != case.case_id]
    for reply in sorted(waiting, key=lambda r: r.at):
        target = meant_for((*active, case), reply)
        answered = respond(case, reply, sla) if target is not None and target.case_id == case.case_id else None
        if answered is None:
            left.append(reply)
        else:
            case = answered
    return case, tuple(left)


def reopen(case: Case, by: str, at: datetime, sla: Mapping[Priority, int]) -> Case:
    """A person reopens a resolved case (resolved too early, or the answer did not hold): open
    again with a fresh deadline for its priority from now, as a new case would have. Its first
    response stays what it was; its breaches stay reported."""
    if case.status is not CaseStatus.RESOLVED:
        raise InvalidTransition(f"case {case.case_id} is {case.status.value}, not resolved: there is nothing to reopen")
    return replace(
        case,
        status=CaseStatus.OPEN,
        resolved_at=None,
        resolved_by=None,
        due_at=at + timedelta(minutes=sla[case.priority]),
        history=_history(case, at, "reopened", by),
    )


def set_status(case: Case, status: CaseStatus, by: str, at: datetime) -> Case:
    """An agent marks a case responded (answered outside the platforms) or resolved (`reopen`
    opens a resolved one again)."""
    if status is CaseStatus.OPEN:
        raise InvalidTransition("status: open reopens a resolved case (rules.cases.reopen)")
    if case.status is CaseStatus.RESOLVED:
        raise InvalidTransition(f"case {case.case_id} is resolved; a new message opens a new case")
    if status is CaseStatus.RESPONDED:
        if case.status is CaseStatus.RESPONDED:
            raise InvalidTransition(f"case {case.case_id} is already responded")
        return replace(
            case, status=status, responded_at=at, responded_by=by, history=_history(case, at, status.value, by)
        )
    return replace(
        case,
        status=status,
        resolved_at=at,
        resolved_by=by,
        responded_at=case.responded_at or at,
        responded_by=case.responded_by or by,
        history=_history(case, at, status.value, by),
    )


# What an inbox's assignee filter and `assign` reserve: never a principal's id.
ASSIGNEE_WORDS = frozenset({"me", "mine", "unassigned", "anyone"})


def assign(case: Case, assignee: str | None, team: str | None, by: str, at: datetime) -> Case:
    """Give the case to `assignee` (None: nobody) and, if `team` is given, to that team; kept in
    its history. The same assignee and team again change nothing (the case is returned as it
    was). A resolved case is closed: the customer's next message opens a new one, so it is not
    assigned any more (it keeps whoever had it when it was resolved)."""
    if case.status is CaseStatus.RESOLVED:
        raise InvalidTransition(f"case {case.case_id} is resolved; a new message opens a new case")
    new_team = team or case.team
    if assignee == case.assignee and new_team == case.team:
        return case
    entry: dict[str, Any] = {
        "at": iso(at),
        "status": case.status.value,
        "by": by,
        "assignee": assignee,
        "team": new_team,
    }
    return replace(case, assignee=assignee, team=new_team, history=(*case.history, entry)[-HISTORY_LIMIT:])


class AssignmentRefused(ValueError):
    """Who asked may not make this assignment. `conflict`: not because of their role but because
    of the case as it stands (a colleague holds it), which another look at the case explains."""

    def __init__(self, message: str, conflict: bool = False) -> None:
        super().__init__(message)
        self.conflict = conflict


def check_assignment(case: Case, by: str, supervisor: bool, assignee: str | None, team: str | None) -> None:
    """May `by` make this assignment? A supervisor may make any. An agent works the queue: they
    take a case nobody holds (or that they hold), let go of their own, and may pass a case they
    may take to another team's queue; giving a case to a named colleague, or taking one a
    colleague holds, is a supervisor's call, as it moves someone else's work (an agent who could
    would be able to empty a colleague's queue, or take a case from under someone mid-answer).
    Decided on the case as read for the write, so that of two agents taking the same case at
    once, the second is refused rather than silently taking it over."""
    if supervisor:
        return
    if assignee is not None and assignee != by:
        raise AssignmentRefused("assigning a case to someone else needs the supervisor role")
    changes_team = team is not None and team != case.team
    if case.assignee not in (None, by) and (assignee != case.assignee or changes_team):
        raise AssignmentRefused(
            f"case {case.case_id} is assigned to {case.assignee}; a supervisor can reassign it", conflict=True
        )


def breach(case: Case, now: datetime) -> Case | None:
    """An open case past its deadline, not yet reported for this deadline, is breached once."""
    if case.status is not CaseStatus.OPEN or now < case.due_at or case.due_at in case.breaches:
        return None
    return replace(case, breaches=(*case.breaches, case.due_at))


def keep_waiting(replies: Sequence[BrandReply], now: datetime) -> tuple[BrandReply, ...]:
    """The waiting replies still worth keeping, oldest first: a week back from `now`, the newest few."""
    recent = sorted((r for r in replies if r.at >= now - timedelta(days=WAITING_REPLY_DAYS)), key=lambda r: r.at)
    return tuple(recent[-WAITING_REPLIES_KEPT:])


def _inbound_times(case: Case) -> tuple[datetime, ...]:
    """Cases stored before the times were kept know their first and latest message only."""
    return case.inbound_times or tuple(sorted({case.opened_at, case.last_inbound_at}))


def _with(times: tuple[datetime, ...], moment: datetime) -> tuple[datetime, ...]:
    return tuple(sorted({*times, moment}))[-INBOUND_TIMES_KEPT:]


def _history(case: Case, at: datetime, status: str, by: str) -> tuple[dict[str, str], ...]:
    entry = {"at": iso(at), "status": status, "by": by}
    return (*case.history, entry)[-HISTORY_LIMIT:]
