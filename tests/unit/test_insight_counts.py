"""The figures' rules: what an interaction and a case's change add, and how reports read them."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from chalicelib.insight import counts, report
from chalicelib.insight.counts import Row, Where
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import Author, Direction, Interaction, Kind

T0 = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def case(**changes: object) -> Case:
    base = Case(
        case_id="c1",
        customer_id="u1",
        status=CaseStatus.OPEN,
        team="care",
        priority=Priority.P3,
        intent=Intent.COMPLAINT,
        rule="complaints",
        platform="messenger",
        thread_key="t",
        opened_at=T0,
        due_at=T0 + timedelta(hours=1),
        last_inbound_at=T0,
        account_id="page1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def at(moment: datetime, account: str = "page1") -> Where:
    return counts.where(moment, "messenger", account)


def test_an_inbound_message_counts_its_volume_sentiment_intent_language_and_competitors() -> None:
    message = Interaction(
        platform="messenger",
        external_id="m1",
        kind=Kind.MESSAGE,
        occurred_at=T0,
        received_at=T0,
        text="x",
        author=Author("psid1"),
        account_id="page#1",
    )
    added = counts.for_interaction(message, "NEGATIVE", "pt", "complaint", {"nimbus": None, "kappa": "POSITIVE"})
    assert added == {
        Where("2026-12-06T09", "messenger", "page_1"): Counter(
            {"in": 1, "s:NEGATIVE": 1, "i:complaint": 1, "l:pt": 1, "c:nimbus": 1, "cs:nimbus:NEGATIVE": 1,
             "c:kappa": 1, "cs:kappa:POSITIVE": 1}
        )
    }  # fmt: skip
    reply = replace(message, direction=Direction.OUTBOUND, account_id=None)
    assert counts.for_interaction(reply, None, None, None) == {
        Where("2026-12-06T09", "messenger", "-"): Counter({"out": 1})
    }


def test_a_case_counts_opened_answered_in_time_and_resolved_once_each() -> None:
    opened = case()
    assert counts.for_case(None, opened) == {at(T0): Counter({"co": 1})}
    answered = replace(opened, status=CaseStatus.RESPONDED, responded_at=T0 + timedelta(minutes=3),
                       first_response_at=T0 + timedelta(minutes=3), responded_by="cognito:ana")  # fmt: skip
    assert counts.for_case(opened, answered) == {
        at(T0): Counter({"cr": 1, "fr:1": 1, "ft:care:1": 1, "fa:cognito_ana:1": 1, "sm": 1})
    }
    # A later answer, or a change that answers nothing, adds nothing.
    assert counts.for_case(answered, replace(answered, responded_at=T0 + timedelta(minutes=9))) == {}
    resolved = replace(
        answered, status=CaseStatus.RESOLVED, resolved_at=T0 + timedelta(hours=3), resolved_by="cognito:bea"
    )
    assert counts.for_case(answered, resolved) == {
        at(T0 + timedelta(hours=3)): Counter({"cz": 1, "rt:6": 1, "rtt:care:6": 1, "rta:cognito_bea:6": 1})
    }


def test_a_missed_deadline_counts_once_whether_seen_by_the_watch_or_at_the_late_answer() -> None:
    opened = case()
    breached = replace(opened, breaches=(opened.due_at,))
    assert counts.for_case(opened, breached) == {at(opened.due_at): Counter({"sx": 1})}
    late = replace(
        breached,
        status=CaseStatus.RESPONDED,
        responded_at=T0 + timedelta(hours=2),
        first_response_at=T0 + timedelta(hours=2),
    )
    assert "sx" not in counts.for_case(breached, late)[at(T0 + timedelta(hours=2))]
    unseen = replace(
        opened,
        status=CaseStatus.RESPONDED,
        responded_at=T0 + timedelta(hours=2),
        first_response_at=T0 + timedelta(hours=2),
    )
    assert counts.for_case(opened, unseen)[at(T0 + timedelta(hours=2))]["sx"] == 1


def test_what_belongs_to_a_closed_day_is_booked_at_the_hour_it_arrives() -> None:
    now = datetime(2026, 12, 7, 10, 30, tzinfo=UTC)
    old = Where("2026-11-20T09", "messenger", "p")  # long closed
    edge = Where("2026-11-30T23", "messenger", "p")  # still rolled up today, but closed a day early
    still_open = Where("2026-12-01T23", "messenger", "p")
    added = {old: Counter({"in": 1}), edge: Counter({"co": 1}), still_open: Counter({"in": 2})}
    assert counts.booked(added, now) == {
        Where("2026-12-07T10", "messenger", "p"): Counter({"in": 1, "co": 1}),
        still_open: Counter({"in": 2}),
    }


def test_percentiles_interpolate_within_their_bucket() -> None:
    assert counts.percentile({}, 0.5) is None
    assert counts.percentile({0: 10}, 0.5) == 30.0  # half of the first minute
    assert counts.percentile({1: 4}, 0.5) == 180.0  # 60 + (300 - 60) / 2
    assert counts.percentile({0: 1, 11: 1}, 0.9) == 604800.0  # beyond the last bound: the bound
    assert counts.histogram({"fr:0": 2, "fr:3": 1, "ft:care:0": 5, "frx": 1}, "fr:") == {0: 2, 3: 1}


def test_net_sentiment_has_a_margin_that_narrows_with_volume() -> None:
    few = report.net_sentiment(6, 2, 2)
    many = report.net_sentiment(600, 200, 200)
    assert few.value == many.value == 40.0
    assert few.margin is not None
    assert many.margin is not None
    assert many.margin < few.margin / 5
    assert report.net_sentiment(0, 0, 0).value is None


def test_roi_shows_its_assumptions_and_no_cost_until_one_is_configured() -> None:
    rows = [Row("2026-12-06", "messenger", "page1", {"cz": 4, "sm": 3, "sx": 1, "fr:0": 3, "fr:5": 1, "ft:care:0": 3})]
    unset = report.roi(rows, report.Assumptions())
    assert (unset["resolved_on_social"], unset["contacts_avoided"], unset["cost_avoided"]) == (4, 4.0, None)
    assert unset["within_sla"] == 0.75
    assert set(unset["teams"]) == {"care"}
    priced = report.roi(rows, report.Assumptions(0.5, 6.0, "EUR"))
    assert (priced["contacts_avoided"], priced["cost_avoided"]) == (2.0, 12.0)
    assert priced["assumptions"]["currency"] == "EUR"


def test_share_of_voice_counts_the_brand_against_the_competitors_named() -> None:
    rows = [
        Row("2026-12-06", "x", "a", {"in": 6, "s:POSITIVE": 3, "s:NEGATIVE": 3, "c:nimbus": 2, "cs:nimbus:NEGATIVE": 2})
    ]
    figures = report.reputation(rows, ["nimbus", "kappa"])["total"]
    assert figures["share_of_voice"] == 0.75
    assert figures["competitors"]["nimbus"] == {
        "mentions": 2,
        "index": -100.0,
        "margin": 0.0,
        "samples": 2,
        "share_of_voice": 0.25,
    }
    assert figures["competitors"]["kappa"]["index"] is None
