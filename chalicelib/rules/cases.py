"""How cases open, grow, get answered and close, as pure functions of a case and what happened."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib.models.case import ACTIVE, Case, CaseStatus
from chalicelib.models.decision import Intent, Priority, Route
from chalicelib.models.interaction import Direction, Interaction, iso

_URGENCY = {Priority.P1: 1, Priority.P2: 2, Priority.P3: 3, Priority.P4: 4}
HISTORY_LIMIT = 50


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


def open_case(
    customer_id: str, interaction: Interaction, intent: Intent, route: Route, sla: Mapping[Priority, int]
) -> Case:
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
        history=({"at": iso(opened), "status": "open", "by": f"rule:{route.rule}"},),
    )


def join(case: Case, interaction: Interaction, route: Route, sla: Mapping[Priority, int], reopen: bool = True) -> Case:
    """The customer wrote again on a case's conversation. An answered case waits for the brand
    again, with a fresh deadline, when the new message needs an answer (`reopen`: a "thanks!" does
    not); a more urgent route raises the case's priority."""
    priority = route.priority if _URGENCY[route.priority] < _URGENCY[case.priority] else case.priority
    latest = max(case.last_inbound_at, interaction.occurred_at)
    updated = replace(
        case,
        priority=priority,
        team=route.team if priority is not case.priority else case.team,
        last_inbound_at=latest,
        interactions=(*case.interactions, reference(interaction)),
    )
    answered_before = interaction.occurred_at > (case.responded_at or case.opened_at)
    if reopen and case.status is CaseStatus.RESPONDED and answered_before:
        return replace(
            updated,
            status=CaseStatus.OPEN,
            due_at=interaction.occurred_at + timedelta(minutes=sla[priority]),
            history=_history(case, interaction.occurred_at, "open", "customer wrote again"),
        )
    if priority is not case.priority and case.status is CaseStatus.OPEN:
        due = min(case.due_at, interaction.occurred_at + timedelta(minutes=sla[priority]))
        return replace(updated, due_at=due)
    return updated


def respond(case: Case, reply: Interaction) -> Case | None:
    """The brand's reply answers the case if it came after the customer's latest message."""
    if case.status is not CaseStatus.OPEN or reply.occurred_at < case.last_inbound_at:
        return None
    by = f"{reply.platform}:{reply.author.user_id}" if reply.author else reply.platform
    return replace(
        case,
        status=CaseStatus.RESPONDED,
        responded_at=reply.occurred_at,
        responded_by=by,
        interactions=(*case.interactions, reference(reply)),
        history=_history(case, reply.occurred_at, "responded", by),
    )


def set_status(case: Case, status: CaseStatus, by: str, at: datetime) -> Case:
    """An agent marks a case responded (answered outside the platforms) or resolved."""
    if status is CaseStatus.OPEN:
        raise InvalidTransition("status: a case is reopened by the customer writing again, not by hand")
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


def breach(case: Case, now: datetime) -> Case | None:
    """An open case past its deadline, not yet reported for this deadline, is breached once."""
    if case.status is not CaseStatus.OPEN or now < case.due_at or case.due_at in case.breaches:
        return None
    return replace(case, breaches=(*case.breaches, case.due_at))


def _history(case: Case, at: datetime, status: str, by: str) -> tuple[dict[str, str], ...]:
    entry = {"at": iso(at), "status": status, "by": by}
    return (*case.history, entry)[-HISTORY_LIMIT:]
