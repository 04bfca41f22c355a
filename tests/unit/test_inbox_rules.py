"""The inbox and assignment as pure functions: what a view holds and in which order, what a row
shows, when a case is unread, who may assign what, and how requests are read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.ports import BadCursor
from chalicelib.rules import cases
from chalicelib.rules.inbox import CaseSummary, InboxQuery, InboxSort, LatestMessage, first_words, row, sort_time
from chalicelib.services import case_ops, inbox
from chalicelib.services.customers import InvalidRequest
from chalicelib.store import keys
from chalicelib.store.inbox import _after, _encode
from chalicelib.store.serde import case_item, summary_from_item
from tests.unit.test_case_rules import COMPLAINT, SLA, T0, inbound, opened, reply, respond

ANA, BEA = "cognito:ana@example.com", "cognito:bea@example.com"


def case(**changes: object) -> Case:
    base = Case(
        case_id="cust-1_20261122100000abcdef",
        customer_id="cust-1",
        status=CaseStatus.OPEN,
        team="support",
        priority=Priority.P2,
        intent=Intent.COMPLAINT,
        rule="complaint",
        platform="messenger",
        thread_key="messenger:page-1:user:u7",
        opened_at=T0,
        due_at=T0 + timedelta(hours=2),
        last_inbound_at=T0,
        inbound_times=(T0,),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# When a case has been waiting since, and in which order a view lists it -----------------------------


def test_a_case_waits_since_its_oldest_unanswered_message_and_sorts_by_it() -> None:
    first = opened()
    later = cases.join(first, inbound("m2", T0 + timedelta(minutes=30)), COMPLAINT, SLA)
    assert later.waiting_since == T0  # nothing answered: the first message has waited longest
    answered = respond(later, reply("r1", T0 + timedelta(minutes=10)))
    assert answered is not None
    assert answered.waiting_since == T0 + timedelta(minutes=30)  # the answer covered the first only
    summary = CaseSummary.of(answered)
    assert sort_time(summary, InboxSort.WAITING) == T0 + timedelta(minutes=30)
    assert sort_time(summary, InboxSort.DUE) == answered.due_at
    assert sort_time(summary, InboxSort.NEWEST) == T0 + timedelta(minutes=30)
    done = respond(answered, reply("r2", T0 + timedelta(minutes=40)))
    assert done is not None
    assert done.waiting_since == done.last_inbound_at


def test_the_items_keys_put_each_case_in_its_views_partitions_in_order() -> None:
    waiting = case(
        inbound_times=(T0, T0 + timedelta(minutes=5)), last_inbound_at=T0 + timedelta(minutes=5), latest_inbound="m:x"
    )
    item = case_item(waiting)
    shard = keys.shard(waiting.case_id)
    assert (item.gsi4pk, item.gsi4sk) == (f"INBOX#open#{shard}", f"2026-11-22T10:00:00.000Z#{waiting.case_id}")
    assert (item.gsi1pk, item.gsi1sk) == (f"NEWEST#open#{shard}", f"2026-11-22T10:05:00.000Z#{waiting.case_id}")
    assert item.gsi3sk == f"2026-11-22T12:00:00.000Z#{waiting.case_id}"
    assert (item.gsi2pk, item.unread) == (f"UNREAD#{shard}", True)  # open and unread: counted
    seen = case_item(replace(waiting, seen_inbound_at=waiting.last_inbound_at))
    assert seen.unread is False
    assert {seen.gsi2pk, seen.gsi2sk} == {None}  # out of the unread partitions
    answered = case_item(replace(waiting, status=CaseStatus.RESPONDED, responded_at=T0 + timedelta(minutes=6)))
    assert answered.gsi4pk == f"INBOX#responded#{shard}"
    assert {answered.gsi2pk} == {None}
    assert summary_from_item(item) == CaseSummary.of(waiting)
    # Sort keys order by time first, then by id: later never sorts before earlier.
    assert keys.case_order(T0, "z") < keys.case_order(T0 + timedelta(milliseconds=1), "a")


def test_a_cursor_resumes_only_the_order_it_was_given_for() -> None:
    cursor = _encode(InboxSort.WAITING, "2026-11-22T10:00:00.000Z#c1")
    assert _after(InboxSort.WAITING, cursor) == "2026-11-22T10:00:00.000Z#c1"
    with pytest.raises(BadCursor):
        _after(InboxSort.NEWEST, cursor)
    with pytest.raises(BadCursor):
        _after(InboxSort.DUE, "not-ours")
    assert _after(InboxSort.DUE, None) is None


# Filters ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("view", "kept"),
    [
        (InboxQuery(), True),
        (InboxQuery(status=CaseStatus.RESPONDED), False),
        (InboxQuery(platform="messenger"), True),
        (InboxQuery(platform="instagram"), False),
        (InboxQuery(team="support"), True),
        (InboxQuery(team="retention"), False),
        (InboxQuery(priority=Priority.P2), True),
        (InboxQuery(priority=Priority.P1), False),
        (InboxQuery(intent=Intent.COMPLAINT), True),
        (InboxQuery(intent=Intent.QUESTION), False),
        (InboxQuery(language="pt"), True),
        (InboxQuery(language="en"), False),
        (InboxQuery(assignee=ANA), True),
        (InboxQuery(assignee=BEA), False),
        (InboxQuery(unassigned=True), False),
    ],
)
def test_each_filter_keeps_only_what_it_names(view: InboxQuery, kept: bool) -> None:
    assert view.matches(CaseSummary.of(case(language="pt", assignee=ANA))) is kept


def test_unassigned_keeps_cases_nobody_holds() -> None:
    assert InboxQuery(unassigned=True).matches(CaseSummary.of(case()))


def test_a_view_is_read_from_the_query_string() -> None:
    assert inbox.inbox_query({}, ANA) == InboxQuery()
    assert inbox.inbox_query({}, ANA, sort=InboxSort.DUE).sort is InboxSort.DUE
    view = inbox.inbox_query(
        {
            "status": "Responded",
            "sort": "newest",
            "channel": "Instagram",
            "team": "support",
            "priority": "p1",
            "intent": "complaint",
            "language": "pt",
            "assignee": "mine",
        },
        ANA,
    )
    assert view == InboxQuery(
        status=CaseStatus.RESPONDED,
        sort=InboxSort.NEWEST,
        platform="instagram",
        team="support",
        priority=Priority.P1,
        intent=Intent.COMPLAINT,
        language="pt",
        assignee=ANA,
    )
    assert inbox.inbox_query({"assignee": "unassigned"}, ANA) == InboxQuery(unassigned=True)
    assert inbox.inbox_query({"assignee": "anyone"}, ANA) == InboxQuery()
    assert inbox.inbox_query({"assignee": BEA}, ANA).assignee == BEA
    assert inbox.inbox_query({"language": "zh-TW"}, ANA).language == "zh-TW"


@pytest.mark.parametrize(
    "params",
    [
        {"status": "waiting"},
        {"status": "closed"},
        {"sort": "oldest"},
        {"priority": "P5"},
        {"intent": "anger"},
        {"channel": "face book"},
        {"team": "<b>"},
        {"language": "english"},
        {"assignee": "two words"},
        {"assignee": "me"},  # a word the inbox reserves, not a person
    ],
)
def test_a_view_that_is_not_valid_says_which_part(params: dict[str, str]) -> None:
    (name,) = params
    with pytest.raises(InvalidRequest, match=rf"^{name}:"):
        inbox.inbox_query(params, ANA)


# Rows ------------------------------------------------------------------------------------------------


def test_the_first_words_fold_whitespace_and_cut_at_a_word() -> None:
    assert first_words(None) is None
    assert first_words("") is None
    assert first_words("  my   order\nnever came ") == "my order never came"
    long = "word " * 60
    cut = first_words(long)
    assert cut is not None
    assert len(cut) <= 120
    assert cut.endswith("word…")
    unbroken = first_words("x" * 300)
    assert unbroken == "x" * 119 + "…"


def test_a_row_shows_the_newest_message_as_stored_and_overdue_by_the_clock() -> None:
    waiting = CaseSummary.of(case(assignee=ANA, language="en", latest_inbound="messenger:m1"))
    before = row(waiting, "Ana", LatestMessage("my e-mail is [EMAIL]", "NEGATIVE"), T0 + timedelta(hours=1))
    shown = before.to_dict()
    assert shown["preview"] == "my e-mail is [EMAIL]"
    assert (shown["sentiment"], shown["customer_name"], shown["assignee"]) == ("NEGATIVE", "Ana", ANA)
    assert (shown["overdue"], shown["waiting_since"], shown["unread"]) == (False, "2026-11-22T10:00:00.000Z", True)
    assert row(waiting, None, None, waiting.due_at).overdue is True
    deleted = row(waiting, None, LatestMessage("gone", "NEUTRAL", deleted=True), T0).to_dict()
    assert deleted["preview"] is None
    answered = CaseSummary.of(case(status=CaseStatus.RESPONDED, responded_at=T0 + timedelta(minutes=1)))
    shown = row(answered, None, None, T0 + timedelta(days=1)).to_dict()
    assert (shown["overdue"], shown["waiting_since"], shown["unread"]) == (False, None, False)


def test_a_case_is_unread_until_seen_answered_or_resolved_after_its_newest_message() -> None:
    fresh = case(last_inbound_at=T0 + timedelta(minutes=5))
    assert fresh.unread
    assert not replace(fresh, seen_inbound_at=fresh.last_inbound_at).unread
    assert not replace(fresh, responded_at=T0 + timedelta(minutes=6)).unread
    assert replace(fresh, responded_at=T0 + timedelta(minutes=4)).unread  # written after the answer
    assert not replace(fresh, resolved_at=T0 + timedelta(minutes=6), responded_at=T0).unread
    seen_then_more = replace(fresh, seen_inbound_at=T0, last_inbound_at=T0 + timedelta(minutes=9))
    assert seen_then_more.unread


def test_a_case_knows_its_language_and_newest_message_as_they_are_written() -> None:
    first = cases.open_case("cust-1", inbound("m1"), Intent.COMPLAINT, COMPLAINT, SLA, "pt")
    assert (first.language, first.latest_inbound) == ("pt", "messenger:m1")
    newer = cases.join(first, inbound("m2", T0 + timedelta(minutes=5)), COMPLAINT, SLA, language="en")
    assert (newer.language, newer.latest_inbound) == ("pt", "messenger:m2")  # the first language stays
    late = cases.join(newer, inbound("m0", T0 - timedelta(minutes=5)), COMPLAINT, SLA)
    assert late.latest_inbound == "messenger:m2"  # written earlier: not the newest
    unknown = cases.open_case("cust-1", inbound("m1"), Intent.COMPLAINT, COMPLAINT, SLA)
    assert cases.join(unknown, inbound("m2", T0 + timedelta(minutes=1)), COMPLAINT, SLA, language="es").language == "es"


# Assignment -------------------------------------------------------------------------------------------


def test_an_assignment_is_kept_in_the_history_and_the_same_one_again_changes_nothing() -> None:
    at = T0 + timedelta(minutes=3)
    taken = cases.assign(case(), ANA, None, ANA, at)
    assert (taken.assignee, taken.team) == (ANA, "support")
    assert taken.history[-1] == {
        "at": "2026-11-22T10:03:00.000Z",
        "status": "open",
        "by": ANA,
        "assignee": ANA,
        "team": "support",
    }
    assert cases.assign(taken, ANA, "support", ANA, at) is taken
    moved = cases.assign(taken, None, "billing", "cognito:sup@example.com", at)
    assert (moved.assignee, moved.team, moved.history[-1]["assignee"]) == (None, "billing", None)
    with pytest.raises(cases.InvalidTransition):
        cases.assign(case(status=CaseStatus.RESOLVED), ANA, None, ANA, at)


def test_the_assignee_stays_through_answers_resolution_and_reopening() -> None:
    held = cases.assign(opened(), ANA, None, ANA, T0)
    answered = respond(held, reply("r1", T0 + timedelta(minutes=5)))
    assert answered is not None
    assert answered.assignee == ANA
    reopened = cases.join(answered, inbound("m2", T0 + timedelta(minutes=9)), COMPLAINT, SLA)
    assert (reopened.status, reopened.assignee) == (CaseStatus.OPEN, ANA)
    resolved = cases.set_status(reopened, CaseStatus.RESOLVED, BEA, T0 + timedelta(minutes=20))
    assert resolved.assignee == ANA


@pytest.mark.parametrize(
    ("holder", "assignee", "team", "refused", "conflict"),
    [
        (None, ANA, None, False, False),  # take a case nobody holds
        (ANA, ANA, None, False, False),  # hold it still
        (ANA, None, None, False, False),  # let go of one's own
        (None, None, "billing", False, False),  # pass a case nobody holds to another team
        (ANA, None, "billing", False, False),  # pass one's own
        (None, BEA, None, True, False),  # give it to a colleague: a supervisor's call
        (BEA, ANA, None, True, True),  # take it from a colleague
        (BEA, None, None, True, True),  # let go of a colleague's
        (BEA, BEA, "billing", True, False),  # assigning someone else, whoever holds it
    ],
)
def test_what_an_agent_may_assign(
    holder: str | None, assignee: str | None, team: str | None, refused: bool, conflict: bool
) -> None:
    current = case(assignee=holder)
    if not refused:
        cases.check_assignment(current, ANA, False, assignee, team)
        return
    with pytest.raises(cases.AssignmentRefused) as caught:
        cases.check_assignment(current, ANA, False, assignee, team)
    assert caught.value.conflict is conflict
    cases.check_assignment(current, ANA, True, assignee, team)  # a supervisor may


def test_an_assignment_request_says_who_and_which_team() -> None:
    assert case_ops.assignment({"assignee": "me"}, ANA) == case_ops.Assignment(ANA, None)
    assert case_ops.assignment({"assignee": " ME "}, ANA) == case_ops.Assignment(ANA, None)
    assert case_ops.assignment({"assignee": None, "team": "billing"}, ANA) == case_ops.Assignment(None, "billing")
    assert case_ops.assignment({"assignee": BEA}, ANA) == case_ops.Assignment(BEA, None)
    bad: object
    for bad in (
        None,
        [],
        {},
        {"team": "billing"},
        {"assignee": 7},
        {"assignee": "two words"},
        {"assignee": "unassigned"},
        {"assignee": "me", "team": ""},
        {"assignee": "me", "team": 3},
        {"assignee": "me", "by": BEA},
        {"assignee": "me", "at": "2026-01-01T00:00:00Z"},
        {"assignee": "me", "note": "x"},
    ):
        with pytest.raises(InvalidRequest):
            case_ops.assignment(bad, ANA)


def test_an_unknown_team_is_refused_before_the_case_is_read() -> None:
    from chalicelib.models.access import Principal, Role
    from chalicelib.rules.routing import load_default

    class Untouchable:
        def amend(self, case_id: str, change: object) -> Case | None:
            raise AssertionError("read")

    with pytest.raises(InvalidRequest, match=r"^team: one of"):
        case_ops.assign(
            Untouchable(),
            None,  # type: ignore[arg-type]  # not reached
            load_default,
            "cust-1_20261122100000abcdef",
            case_ops.Assignment(None, "nowhere"),
            Principal(ANA, Role.SUPERVISOR),
            datetime.now(UTC),
        )
