"""Cases as pure functions: opened with the priority's deadline, joined by the same conversation,
answered by the brand's reply, reopened by the customer, breached once per deadline."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority, Route, RouteAction
from chalicelib.models.interaction import Author, Direction, Interaction, Kind, iso
from chalicelib.rules import cases
from chalicelib.rules.cases import InvalidTransition
from chalicelib.rules.routing import DEFAULT_PATH, RoutingFacts, load_default

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
ROUTING = load_default()
SLA = ROUTING.sla_minutes
# The deadlines as the shipped document writes them, read without the parser.
MINUTES: dict[str, int] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))["sla_minutes"]
PAGE = Author("PAGE", "acme", "ACME")


def inbound(external_id: str, at: datetime = T0, user: str = "u7", **changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "platform": "messenger",
        "kind": Kind.MESSAGE,
        "external_id": external_id,
        "author": Author(user, "ana"),
        "text": "words",
        "occurred_at": at,
        "received_at": at,
        "account_id": "page-1",
    }
    values.update(changes)
    return Interaction(**values)


def reply(external_id: str, at: datetime, to: str = "u7", **changes: Any) -> Interaction:
    values: dict[str, Any] = {"direction": Direction.OUTBOUND, "recipient_id": to, "author": PAGE}
    values.update(changes)
    return inbound(external_id, at, **values)


def route_for(intent: Intent, text: str = "") -> Route:
    return ROUTING.route(RoutingFacts(platform="messenger", kind="message", intent=intent, confidence=0.9, text=text))


COMPLAINT = route_for(Intent.COMPLAINT)
QUESTION = route_for(Intent.QUESTION)
CANCEL = route_for(Intent.CANCEL_INTENT)
PRAISE = route_for(Intent.PRAISE)


def respond(case: Case, brand_reply: Interaction) -> Case | None:
    return cases.respond(case, cases.reply_of(brand_reply), SLA)


def opened(intent: Intent = Intent.COMPLAINT, route: Route = COMPLAINT, at: datetime = T0) -> Case:
    return cases.open_case("cust-1", inbound("m1", at), intent, route, SLA)


# Conversations and ids -----------------------------------------------------------------------------


def test_the_customers_messages_and_the_brands_replies_share_a_conversation() -> None:
    key = cases.thread_key(inbound("m1"))
    assert cases.thread_key(reply("r1", T0)) == key
    assert cases.thread_key(inbound("m2", user="u8")) != key
    assert cases.thread_key(inbound("m3", account_id="page-2")) != key
    assert cases.thread_key(inbound("m4", platform="instagram")) != key


def test_a_platform_thread_is_the_conversation_whoever_writes() -> None:
    customer = inbound("c1", thread_id="post-9", kind=Kind.COMMENT)
    brand = reply("c2", T0, to="someone", thread_id="post-9", kind=Kind.REPLY)
    other = inbound("c3", thread_id="post-10", kind=Kind.COMMENT)
    assert cases.thread_key(customer) == cases.thread_key(brand) != cases.thread_key(other)


def test_case_ids_name_their_customer_sort_by_age_and_do_not_collide() -> None:
    first = cases.new_case_id("cust_with_underscores", T0)
    later = cases.new_case_id("cust_with_underscores", T0 + timedelta(seconds=1))
    assert first.startswith("cust_with_underscores_20261122100000")
    assert first < later
    assert cases.customer_of(first) == "cust_with_underscores"
    assert len({cases.new_case_id("c", T0) for _ in range(50)}) == 50


@pytest.mark.parametrize("case_id", ["", "nounderscore", "c_123", "_20261122100000abcdef", "c_20261122100000abc-ef"])
def test_what_is_not_a_case_id_has_no_customer(case_id: str) -> None:
    assert cases.customer_of(case_id) is None


# Opening -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "route", "priority", "team"),
    [
        (Intent.COMPLAINT, COMPLAINT, "P2", "support"),
        (Intent.QUESTION, QUESTION, "P3", "support"),
        (Intent.CANCEL_INTENT, CANCEL, "P1", "retention"),
    ],
)
def test_a_case_opens_with_the_priority_deadline_of_the_routing_document(
    intent: Intent, route: Route, priority: str, team: str
) -> None:
    case = opened(intent, route)
    assert case.status is CaseStatus.OPEN
    assert (case.priority.value, case.team, case.intent) == (priority, team, intent)
    assert case.opened_at == case.last_inbound_at == T0
    assert case.due_at == T0 + timedelta(minutes=MINUTES[priority])
    assert case.customer_id == "cust-1"
    assert cases.customer_of(case.case_id) == "cust-1"
    assert case.interactions == ("messenger:m1",)
    assert case.thread_key == cases.thread_key(inbound("m1"))
    assert case.history == ({"at": "2026-11-22T10:00:00.000Z", "status": "open", "by": f"rule:{route.rule}"},)
    assert case.breaches == ()


# Joining -------------------------------------------------------------------------------------------


def test_a_second_message_on_the_conversation_joins_its_open_case() -> None:
    case = opened()
    assert cases.for_thread([case], cases.thread_key(inbound("m2"))) == case
    later = T0 + timedelta(minutes=20)
    joined = cases.join(case, inbound("m2", later), COMPLAINT, SLA)
    assert joined.case_id == case.case_id
    assert joined.status is CaseStatus.OPEN
    assert joined.interactions == ("messenger:m1", "messenger:m2")
    assert joined.last_inbound_at == later
    assert joined.due_at == case.due_at  # writing again does not push the deadline back
    assert joined.history == case.history


def test_another_customer_or_account_does_not_join_the_case() -> None:
    case = opened()
    assert cases.for_thread([case], cases.thread_key(inbound("x", user="u8"))) is None
    assert cases.for_thread([case], cases.thread_key(inbound("y", account_id="page-2"))) is None


def test_the_most_recent_active_case_of_a_conversation_is_the_one_joined() -> None:
    old = replace(opened(), status=CaseStatus.RESOLVED)
    newer = opened(at=T0 + timedelta(days=1))
    newest = opened(at=T0 + timedelta(days=2))
    key = cases.thread_key(inbound("m9"))
    assert cases.for_thread([newest, old, newer], key) == newest
    assert cases.for_thread([old], key) is None  # a resolved case is over: a new message opens a new one


def test_a_more_urgent_message_raises_the_priority_and_brings_the_deadline_forward() -> None:
    case = opened(Intent.QUESTION, QUESTION)  # P3: due at 18:00
    later = T0 + timedelta(hours=2)
    joined = cases.join(case, inbound("m2", later), CANCEL, SLA)
    assert (joined.priority, joined.team) == (Priority.P1, "retention")
    assert joined.due_at == later + timedelta(minutes=MINUTES["P1"])
    assert joined.due_at < case.due_at


def test_an_urgent_message_never_sets_a_deadline_before_itself() -> None:
    """Raised to P1 at 11:40 on a P2 case last written to at 10:50: the P1 deadline runs from the
    message that made it urgent, not from an earlier message that was not urgent (which would be
    an instant breach of a deadline nobody could have met)."""
    case = opened(Intent.COMPLAINT, COMPLAINT)  # P2: opened 10:00, due 12:00
    case = cases.join(case, inbound("m2", T0 + timedelta(minutes=50)), COMPLAINT, SLA)
    urgent_at = T0 + timedelta(minutes=100)
    joined = cases.join(case, inbound("m3", urgent_at), CANCEL, SLA)
    assert joined.priority is Priority.P1
    assert joined.due_at > urgent_at
    assert joined.due_at == T0 + timedelta(minutes=MINUTES["P2"])  # the earlier P2 deadline comes first here
    assert cases.breach(joined, urgent_at) is None


def test_a_less_urgent_message_keeps_the_priority_team_and_deadline() -> None:
    case = opened(Intent.CANCEL_INTENT, CANCEL)
    joined = cases.join(case, inbound("m2", T0 + timedelta(minutes=5)), QUESTION, SLA)
    assert (joined.priority, joined.team, joined.due_at) == (case.priority, case.team, case.due_at)


# Answering and reopening ---------------------------------------------------------------------------


def test_the_brands_reply_marks_the_case_responded_with_who_and_when() -> None:
    case = opened()
    at = T0 + timedelta(minutes=40)
    answered = respond(case, reply("r1", at))
    assert answered is not None
    assert answered.status is CaseStatus.RESPONDED
    assert (answered.responded_at, answered.responded_by) == (at, "messenger:PAGE")
    assert answered.interactions == ("messenger:m1", "messenger:r1")
    assert answered.history[-1] == {"at": "2026-11-22T10:40:00.000Z", "status": "responded", "by": "messenger:PAGE"}


def test_a_reply_between_two_messages_answers_the_first_and_the_case_waits_for_the_second() -> None:
    """Judged by when each was written: the reply at 10:10 answered the 10:00 message; the 10:30
    message still waits, its deadline running from 10:30."""
    case = cases.join(opened(), inbound("m2", T0 + timedelta(minutes=30)), COMPLAINT, SLA)
    partly = respond(case, reply("r1", T0 + timedelta(minutes=10)))
    assert partly is not None
    assert partly.status is CaseStatus.OPEN
    assert (partly.responded_at, partly.responded_by) == (T0 + timedelta(minutes=10), "messenger:PAGE")
    assert partly.due_at == T0 + timedelta(minutes=30 + MINUTES["P2"])
    assert partly.waiting_since == T0 + timedelta(minutes=30)
    assert partly.history[-1]["note"] == "answered earlier messages"
    answered = respond(partly, reply("r2", T0 + timedelta(minutes=31)))
    assert answered is not None
    assert answered.status is CaseStatus.RESPONDED


def test_a_reply_written_before_every_waiting_message_answers_none_of_them() -> None:
    case = opened(at=T0 + timedelta(minutes=30))
    assert respond(case, reply("r1", T0 + timedelta(minutes=10))) is None
    assert respond(case, reply("r2", T0 + timedelta(minutes=30))) is not None


def test_a_late_message_written_before_the_waiting_one_brings_the_deadline_forward() -> None:
    case = opened(at=T0 + timedelta(minutes=30))  # P2: due 12:30
    late = cases.join(case, inbound("m0", T0), COMPLAINT, SLA)  # written at 10:00, arrived later
    assert late.due_at == T0 + timedelta(minutes=MINUTES["P2"])
    assert late.waiting_since == T0


def test_waiting_replies_answer_the_case_when_its_message_lands() -> None:
    """The reply arrived first (SQS has no order) and waited: the case opened later is answered by
    it, because it was written after the message; a reply on another conversation, or one written
    before the message, keeps waiting."""
    early = cases.reply_of(reply("r1", T0 + timedelta(minutes=7)))
    before = cases.reply_of(reply("r0", T0 - timedelta(minutes=7)))
    elsewhere = cases.reply_of(reply("r2", T0 + timedelta(minutes=8), to="u8"))
    case, left = cases.answer_waiting(opened(), (elsewhere, early, before), SLA)
    assert case.status is CaseStatus.RESPONDED
    assert (case.responded_at, case.responded_by) == (T0 + timedelta(minutes=7), "messenger:PAGE")
    assert case.interactions == ("messenger:m1", "messenger:r1")
    assert left == (before, elsewhere)


def test_a_waiting_reply_from_another_conversation_answers_the_case_as_if_it_came_after() -> None:
    """The brand answered a public comment by DM before the comment landed: with no case on the
    DM's conversation, the reply answers the customer's latest open case on its platform, as it
    does when it comes after the message (`meant_for`, the one rule for both orders)."""
    comment = inbound("c1", kind=Kind.COMMENT, thread_id="post-9")
    case = cases.open_case("cust-1", comment, Intent.COMPLAINT, COMPLAINT, SLA)
    by_dm = cases.reply_of(reply("r1", T0 + timedelta(minutes=4)))
    assert by_dm.thread_key != case.thread_key
    answered, left = cases.answer_waiting(case, (by_dm,), SLA)
    assert (answered.status, answered.responded_at, left) == (CaseStatus.RESPONDED, T0 + timedelta(minutes=4), ())
    assert cases.meant_for((case,), by_dm) == case  # the same case the reply finds when it comes after
    elsewhere = cases.reply_of(reply("r2", T0 + timedelta(minutes=4), platform="instagram"))
    assert cases.answer_waiting(case, (elsewhere,), SLA) == (case, (elsewhere,))  # another platform


def test_a_waiting_reply_keeps_to_its_own_conversation_and_to_the_latest_open_case() -> None:
    """Same-thread first: a reply whose own conversation has an active case is about that case
    (it waited because it was written before its messages, or the case was answered), and does not
    answer another conversation's case; nor does it answer an older case while a newer one is open."""
    dm_case = opened()
    comment = inbound("c1", T0 + timedelta(minutes=1), kind=Kind.COMMENT, thread_id="post-9")
    comment_case = cases.open_case("cust-1", comment, Intent.COMPLAINT, COMPLAINT, SLA)
    before_dm = cases.reply_of(reply("r0", T0 - timedelta(minutes=3)))  # on the DM, before its message
    case, left = cases.answer_waiting(comment_case, (before_dm,), SLA, others=(dm_case,))
    assert (case, left) == (comment_case, (before_dm,))
    on_post = cases.reply_of(reply("r1", T0 + timedelta(minutes=5), thread_id="post-10", recipient_id=None))
    older, left = cases.answer_waiting(dm_case, (on_post,), SLA, others=(dm_case, comment_case))
    assert (older, left) == (dm_case, (on_post,))  # the comment's case is the latest open one
    newer, left = cases.answer_waiting(comment_case, (on_post,), SLA, others=(dm_case, comment_case))
    assert (newer.status, left) == (CaseStatus.RESPONDED, ())


def test_waiting_replies_are_kept_for_a_week_and_a_few_at_most() -> None:
    replies = [cases.reply_of(reply(f"r{index}", T0 + timedelta(hours=index))) for index in range(30)]
    kept = cases.keep_waiting(replies, T0 + timedelta(hours=29))
    assert len(kept) == cases.WAITING_REPLIES_KEPT
    assert kept[-1] == replies[-1]
    assert cases.keep_waiting(replies, T0 + timedelta(days=9)) == ()


def test_a_second_reply_to_an_answered_case_changes_nothing() -> None:
    answered = respond(opened(), reply("r1", T0 + timedelta(minutes=5)))
    assert answered is not None
    assert respond(answered, reply("r2", T0 + timedelta(minutes=6))) is None


def test_the_customer_writing_again_after_the_answer_reopens_with_a_fresh_deadline() -> None:
    answered = respond(opened(), reply("r1", T0 + timedelta(minutes=30)))
    assert answered is not None
    again = T0 + timedelta(hours=3)
    reopened = cases.join(answered, inbound("m2", again), COMPLAINT, SLA, reopen=True)
    assert reopened.status is CaseStatus.OPEN
    assert reopened.case_id == answered.case_id
    assert reopened.due_at == again + timedelta(minutes=MINUTES["P2"])
    assert reopened.history[-1] == {"at": "2026-11-22T13:00:00.000Z", "status": "open", "by": "customer wrote again"}
    assert reopened.responded_at == answered.responded_at  # the earlier answer stays on record


def test_a_thank_you_after_the_answer_does_not_reopen() -> None:
    answered = respond(opened(), reply("r1", T0 + timedelta(minutes=30)))
    assert answered is not None
    thanked = cases.join(answered, inbound("m2", T0 + timedelta(hours=1)), PRAISE, SLA, reopen=False)
    assert thanked.status is CaseStatus.RESPONDED
    assert thanked.due_at == answered.due_at
    assert thanked.interactions[-1] == "messenger:m2"


def test_a_message_written_before_the_answer_but_arriving_after_it_does_not_reopen() -> None:
    answered = respond(opened(), reply("r1", T0 + timedelta(minutes=30)))
    assert answered is not None
    late = cases.join(answered, inbound("m2", T0 + timedelta(minutes=20)), COMPLAINT, SLA, reopen=True)
    assert late.status is CaseStatus.RESPONDED
    assert late.due_at == answered.due_at
    assert late.interactions[-1] == "messenger:m2"


def test_a_late_message_does_not_move_the_latest_inbound_time_back() -> None:
    case = cases.join(opened(), inbound("m2", T0 + timedelta(minutes=30)), COMPLAINT, SLA)
    late = cases.join(case, inbound("m3", T0 + timedelta(minutes=10)), COMPLAINT, SLA)
    assert late.last_inbound_at == T0 + timedelta(minutes=30)


# Status by hand ------------------------------------------------------------------------------------


def test_an_agent_marks_a_case_responded_then_resolved() -> None:
    at = T0 + timedelta(minutes=15)
    responded = cases.set_status(opened(), CaseStatus.RESPONDED, "ana@ops", at)
    assert (responded.status, responded.responded_at, responded.responded_by) == (CaseStatus.RESPONDED, at, "ana@ops")
    resolved = cases.set_status(responded, CaseStatus.RESOLVED, "bo@ops", at + timedelta(hours=1))
    assert resolved.status is CaseStatus.RESOLVED
    assert (resolved.resolved_at, resolved.resolved_by) == (at + timedelta(hours=1), "bo@ops")
    assert (resolved.responded_at, resolved.responded_by) == (at, "ana@ops")  # the answer keeps its author
    assert [entry["status"] for entry in resolved.history] == ["open", "responded", "resolved"]


def test_resolving_an_unanswered_case_counts_as_its_answer() -> None:
    at = T0 + timedelta(minutes=15)
    resolved = cases.set_status(opened(), CaseStatus.RESOLVED, "ana@ops", at)
    assert (resolved.responded_at, resolved.responded_by) == (at, "ana@ops")


@pytest.mark.parametrize(
    ("before", "status", "message"),
    [
        (CaseStatus.OPEN, CaseStatus.OPEN, "open reopens a resolved case"),
        (CaseStatus.RESPONDED, CaseStatus.OPEN, "open reopens a resolved case"),
        (CaseStatus.RESPONDED, CaseStatus.RESPONDED, "already responded"),
        (CaseStatus.RESOLVED, CaseStatus.RESPONDED, "is resolved"),
        (CaseStatus.RESOLVED, CaseStatus.RESOLVED, "is resolved"),
    ],
)
def test_invalid_transitions_are_refused(before: CaseStatus, status: CaseStatus, message: str) -> None:
    case = replace(opened(), status=before)
    with pytest.raises(InvalidTransition, match=message):
        cases.set_status(case, status, "ana@ops", T0 + timedelta(minutes=1))
    assert issubclass(InvalidTransition, ValueError)


def test_a_resolved_case_reopened_by_hand_is_open_with_a_fresh_deadline() -> None:
    sla = {Priority.P1: 30, Priority.P2: 120, Priority.P3: 480, Priority.P4: 1440}
    resolved = cases.set_status(opened(), CaseStatus.RESOLVED, "ana@ops", T0 + timedelta(minutes=15))
    at = T0 + timedelta(days=2)
    reopened = cases.reopen(resolved, "bo@ops", at, sla)
    assert reopened.status is CaseStatus.OPEN
    assert (reopened.resolved_at, reopened.resolved_by) == (None, None)
    assert reopened.due_at == at + timedelta(minutes=sla[reopened.priority])
    assert reopened.first_response_at == resolved.first_response_at
    assert reopened.history[-1] == {"at": iso(at), "status": "reopened", "by": "bo@ops"}
    for status in (CaseStatus.OPEN, CaseStatus.RESPONDED):
        with pytest.raises(InvalidTransition, match="not resolved"):
            cases.reopen(replace(resolved, status=status), "bo@ops", at, sla)


# SLA breaches --------------------------------------------------------------------------------------


def test_a_breach_is_recorded_once_per_deadline() -> None:
    case = opened()  # P2: due 12:00
    assert cases.breach(case, case.due_at - timedelta(seconds=1)) is None
    breached = cases.breach(case, case.due_at + timedelta(minutes=1))
    assert breached is not None
    assert breached.breaches == (case.due_at,)
    assert breached.status is CaseStatus.OPEN
    assert cases.breach(breached, case.due_at + timedelta(minutes=2)) is None
    assert cases.breach(breached, case.due_at + timedelta(days=3)) is None


def test_an_answered_or_resolved_case_is_not_breached() -> None:
    late = T0 + timedelta(days=1)
    answered = respond(opened(), reply("r1", T0 + timedelta(minutes=1)))
    assert answered is not None
    assert cases.breach(answered, late) is None
    assert cases.breach(cases.set_status(opened(), CaseStatus.RESOLVED, "ana", T0), late) is None


def test_a_reopened_case_can_miss_its_new_deadline_too() -> None:
    case = opened()
    breached = cases.breach(case, case.due_at + timedelta(minutes=5))
    assert breached is not None
    answered = respond(breached, reply("r1", case.due_at + timedelta(minutes=10)))
    assert answered is not None
    reopened = cases.join(answered, inbound("m2", T0 + timedelta(hours=5)), COMPLAINT, SLA)
    assert reopened.breaches == (case.due_at,)
    again = cases.breach(reopened, reopened.due_at + timedelta(minutes=1))
    assert again is not None
    assert again.breaches == (case.due_at, reopened.due_at)
    assert cases.breach(again, reopened.due_at + timedelta(hours=1)) is None
    assert again.to_dict()["overdue"] is True


def test_history_is_bounded() -> None:
    case = opened()
    for index in range(cases.HISTORY_LIMIT + 10):
        at = T0 + timedelta(minutes=2 * index + 1)
        answered = respond(case, reply(f"r{index}", at))
        assert answered is not None
        case = cases.join(answered, inbound(f"m{index + 2}", at + timedelta(minutes=1)), COMPLAINT, SLA)
    assert len(case.history) == cases.HISTORY_LIMIT
    assert case.history[-1]["status"] == "open"
    assert RouteAction.OPEN_CASE in COMPLAINT.actions
