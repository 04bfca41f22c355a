"""The Decider with the real intent classifier and the shipped routing document: what socialcrm
does about each message of a conversation, and the events it raises (or, for the brand's own
replies, does not)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib.models.aggregates import Aggregates
from chalicelib.models.case import BrandReply, Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.events import SCHEMA_VERSION, DetailType, DomainEvent, Severity
from chalicelib.models.interaction import Author, Direction, Interaction, Kind
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis, Entity, Sentiment
from chalicelib.rules import cases
from chalicelib.rules.intent import default_classifier
from chalicelib.rules.routing import DEFAULT_PATH, load_default, parse
from chalicelib.services.decide import Decider

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
ROUTING = load_default()
DECIDER = Decider(ROUTING, default_classifier())
SHIPPED: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
ALERT_AT: float = SHIPPED["churn"]["alert_at"]
NEGATIVE = Sentiment("NEGATIVE", {"POSITIVE": 0.02, "NEGATIVE": 0.9, "NEUTRAL": 0.05, "MIXED": 0.03})
NEUTRAL = Sentiment("NEUTRAL", {"POSITIVE": 0.05, "NEGATIVE": 0.05, "NEUTRAL": 0.88, "MIXED": 0.02})
POSITIVE = Sentiment("POSITIVE", {"POSITIVE": 0.9, "NEGATIVE": 0.02, "NEUTRAL": 0.05, "MIXED": 0.03})

COMPLAINT = "still waiting for my refund, this is ridiculous"
LEAVING = "I'm cancelling, Vertex Telecom is cheaper and you never answer"
BUYING = "how much is the family plan per year? I want to buy two"


def message(external_id: str, text: str, at: datetime = T0, **changes: Any) -> Interaction:
    values: dict[str, Any] = {
        "platform": "messenger",
        "kind": Kind.MESSAGE,
        "external_id": external_id,
        "author": Author("u7", "ana"),
        "text": text,
        "occurred_at": at,
        "received_at": at,
        "account_id": "page-1",
    }
    values.update(changes)
    return Interaction(**values)


def brand_reply(external_id: str, at: datetime, **changes: Any) -> Interaction:
    values: dict[str, Any] = {"direction": Direction.OUTBOUND, "recipient_id": "u7", "author": Author("page-1")}
    values.update(changes)
    return message(external_id, "Sorry about that, we are on it", at, **values)


def analysed(sentiment: Sentiment, *entities: Entity) -> Analysis:
    return Analysis("en", 0.99, sentiment, entities=entities)


@dataclass
class Customer:
    """The customer as the store would keep them between decisions."""

    customer_id: str = "cust-1"
    aggregates: Aggregates = field(default_factory=Aggregates)
    churn: ChurnState = field(default_factory=ChurnState)
    segments: frozenset[str] = frozenset()
    cases: dict[str, Case] = field(default_factory=dict)
    events: list[DomainEvent] = field(default_factory=list)
    waiting: tuple[BrandReply, ...] = ()

    def snapshot(self) -> CustomerSnapshot:
        active = tuple(case for case in self.cases.values() if case.status is not CaseStatus.RESOLVED)
        return CustomerSnapshot(self.customer_id, self.aggregates, self.churn, self.segments, active, self.waiting)

    def keep(self, decision: Decision) -> Decision:
        self.aggregates, self.churn = decision.aggregates, decision.churn
        if decision.waiting_replies is not None:
            self.waiting = decision.waiting_replies
        if decision.case is not None:
            self.cases[decision.case.case_id] = decision.case
        self.events.extend(decision.events)
        return decision

    def writes(self, interaction: Interaction, analysis: Analysis | None) -> Decision:
        return self.keep(DECIDER.inbound(self.snapshot(), interaction, analysis))

    def is_answered(self, reply: Interaction) -> Decision:
        return self.keep(DECIDER.outbound(self.snapshot(), reply))


def kinds(decision: Decision) -> list[DetailType]:
    """What the decision raises besides its own record: every decision, whatever else it does,
    ends with the one `Interaction Stored` of the interaction it decided on."""
    stored = [event for event in decision.events if event.detail_type is DetailType.INTERACTION_STORED]
    assert len(stored) == 1, [e.detail_type for e in decision.events]
    assert decision.events[-1] is stored[0]
    return [event.detail_type for event in decision.events[:-1]]


def event(decision: Decision, detail_type: DetailType) -> dict[str, Any]:
    found = [e.detail for e in decision.events if e.detail_type is detail_type]
    assert len(found) == 1, kinds(decision)
    return found[0]


# Complaints and cases ------------------------------------------------------------------------------


def test_a_complaint_opens_a_case_and_both_events_name_the_rule() -> None:
    customer = Customer()
    decision = customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    assert decision.intent is not None
    assert decision.intent.label is Intent.COMPLAINT
    assert decision.route is not None
    assert decision.route.rule == "complaint"
    assert kinds(decision) == [DetailType.INTERACTION_ROUTED, DetailType.CASE_OPENED]
    case = decision.case
    assert case is not None
    assert decision.case_is_new
    assert (case.status, case.team, case.priority, case.rule) == (CaseStatus.OPEN, "support", Priority.P2, "complaint")
    assert case.due_at == T0 + timedelta(minutes=SHIPPED["sla_minutes"]["P2"])
    assert case.customer_id == "cust-1"

    routed = event(decision, DetailType.INTERACTION_ROUTED)
    assert routed["route"] == {"team": "support", "priority": "P2", "rule": "complaint", "actions": ["open_case"]}
    assert routed["case_id"] == case.case_id
    assert "rule complaint" in routed["reasons"]
    assert routed["intent"]["label"] == "complaint"
    assert routed["routing_version"] == SHIPPED["version"]
    assert routed["interaction"]["external_id"] == "m1"
    assert routed["severity"] == Severity.INFO.value  # no alert action: on the bus, not paged

    opened = event(decision, DetailType.CASE_OPENED)
    assert opened["case_id"] == case.case_id
    assert (opened["team"], opened["priority"], opened["intent"]) == ("support", "P2", "complaint")
    assert opened["due_at"] == "2026-11-22T12:00:00.000Z"
    assert "rule complaint" in opened["reasons"]
    assert opened["severity"] == Severity.MEDIUM.value

    assert decision.churn.open_complaints == 1
    assert any("unresolved complaint" in reason for reason in decision.churn.reasons)
    assert decision.aggregates.interaction_count == 1
    assert decision.aggregates.sentiment_samples == 1


def test_a_second_message_on_the_conversation_joins_the_open_case() -> None:
    customer = Customer()
    first = customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    second = customer.writes(message("m2", "the app keeps crashing, fix it", T0 + timedelta(minutes=10)), None)
    assert kinds(second) == [DetailType.INTERACTION_ROUTED]
    assert first.case is not None
    assert second.case is not None
    assert not second.case_is_new
    assert second.case.case_id == first.case.case_id
    assert second.case.interactions == ("messenger:m1", "messenger:m2")
    assert event(second, DetailType.INTERACTION_ROUTED)["case_id"] == first.case.case_id
    assert second.churn.open_complaints == 1  # one case, however many messages
    assert len(customer.cases) == 1


def test_a_message_in_another_conversation_opens_its_own_case() -> None:
    customer = Customer()
    customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    elsewhere = customer.writes(
        message("c1", "where is my order??", T0 + timedelta(minutes=1), kind=Kind.COMMENT, thread_id="post-9"),
        analysed(NEGATIVE),
    )
    assert elsewhere.case_is_new
    assert kinds(elsewhere) == [DetailType.INTERACTION_ROUTED, DetailType.CASE_OPENED]
    assert len(customer.cases) == 2
    assert elsewhere.churn.open_complaints == 2


def test_a_legal_threat_goes_to_escalations_and_is_flagged_for_alerting() -> None:
    decision = Customer().writes(
        message("m1", "I will call my lawyer if my refund does not arrive"), analysed(NEGATIVE)
    )
    routed = event(decision, DetailType.INTERACTION_ROUTED)
    assert routed["route"]["rule"] == "legal-threat"
    assert routed["alert"] is True
    assert routed["severity"] == Severity.HIGH.value
    assert event(decision, DetailType.CASE_OPENED)["team"] == "escalations"


def test_praise_and_chatter_open_no_case() -> None:
    decision = Customer().writes(message("m1", "thank you so much, the team was amazing!"), analysed(POSITIVE))
    assert decision.intent is not None
    assert decision.intent.label is Intent.PRAISE
    assert decision.case is None
    assert kinds(decision) == [DetailType.INTERACTION_ROUTED]


def test_a_reaction_is_counted_but_not_read() -> None:
    customer = Customer()
    decision = customer.writes(message("r1", "", kind=Kind.REACTION, reaction="angry"), None)
    assert kinds(decision) == []
    assert decision.intent is None
    assert decision.case is None
    assert decision.aggregates.interaction_count == 1


# The brand's replies -------------------------------------------------------------------------------


def test_the_brands_reply_answers_the_case_and_moves_nothing_else() -> None:
    customer = Customer()
    opened = customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    assert opened.case is not None
    before = (customer.aggregates, customer.churn)
    at = T0 + timedelta(minutes=25)
    answered = customer.is_answered(brand_reply("b1", at))
    assert kinds(answered) == []
    assert answered.intent is None
    assert answered.route is None
    assert (answered.aggregates, answered.churn) == before  # not counted, not analysed
    assert answered.case is not None
    assert not answered.case_is_new
    assert answered.case.case_id == opened.case.case_id
    assert answered.case.status is CaseStatus.RESPONDED
    assert (answered.case.responded_at, answered.case.responded_by) == (at, "messenger:page-1")
    assert cases.breach(answered.case, T0 + timedelta(days=1)) is None  # answered in time: no breach later


def test_a_reply_that_names_no_conversation_answers_the_latest_case_on_its_platform() -> None:
    customer = Customer()
    customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    later = customer.writes(
        message("c1", "where is my order??", T0 + timedelta(minutes=5), kind=Kind.COMMENT, thread_id="post-9"),
        analysed(NEGATIVE),
    )
    answered = customer.is_answered(brand_reply("b1", T0 + timedelta(minutes=6), recipient_id=None))
    assert later.case is not None
    assert answered.case is not None
    assert answered.case.case_id == later.case.case_id


@pytest.mark.parametrize("order", ["message-first", "reply-first"])
def test_a_reply_on_another_conversation_answers_the_case_in_either_order(order: str) -> None:
    """An X mention, then the brand's DM to its author four minutes later: the DM's conversation
    has no case, so it answers the latest open case on X, whichever of the two is decided first."""
    mention = message("t1", COMPLAINT, platform="x", kind=Kind.MENTION, account_id="acct")
    dm_at = T0 + timedelta(minutes=4)
    dm = brand_reply("d1", dm_at, platform="x", thread_id="u7", author=Author("acct"))
    customer = Customer()
    if order == "message-first":
        customer.writes(mention, analysed(NEGATIVE))
        customer.is_answered(dm)
    else:
        assert customer.is_answered(dm).case is None
        assert len(customer.waiting) == 1
        customer.writes(mention, analysed(NEGATIVE))
    (case,) = customer.cases.values()
    assert case.thread_key != cases.reply_of(dm).thread_key
    assert (case.status, case.responded_at, case.responded_by) == (CaseStatus.RESPONDED, dm_at, "x:acct")
    assert customer.waiting == ()


def test_a_reply_with_nothing_to_answer_changes_nothing() -> None:
    customer = Customer()
    customer.writes(message("m1", "thank you so much!"), analysed(POSITIVE))
    answered = customer.is_answered(brand_reply("b1", T0 + timedelta(minutes=1)))
    assert answered.case is None
    assert kinds(answered) == []


def test_writing_again_after_the_answer_reopens_the_case_without_a_new_one() -> None:
    customer = Customer()
    opened = customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    customer.is_answered(brand_reply("b1", T0 + timedelta(minutes=30)))
    thanks = customer.writes(message("m2", "ok thanks", T0 + timedelta(minutes=40)), analysed(POSITIVE))
    assert thanks.case is not None
    assert thanks.case.status is CaseStatus.RESPONDED
    again_at = T0 + timedelta(hours=4)
    again = customer.writes(message("m3", "still waiting for my refund!!", again_at), analysed(NEGATIVE))
    assert again.case is not None
    assert opened.case is not None
    assert again.case.case_id == opened.case.case_id
    assert again.case.status is CaseStatus.OPEN
    assert again.case.due_at == again_at + timedelta(minutes=SHIPPED["sla_minutes"]["P2"])
    assert kinds(again) == [DetailType.INTERACTION_ROUTED]
    assert again.churn.open_complaints == 1


def test_after_a_case_is_resolved_the_next_complaint_opens_a_new_case() -> None:
    customer = Customer()
    first = customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    assert first.case is not None
    customer.cases[first.case.case_id] = cases.set_status(first.case, CaseStatus.RESOLVED, "ana@ops", T0)
    second = customer.writes(message("m2", COMPLAINT, T0 + timedelta(days=1)), analysed(NEGATIVE))
    assert second.case_is_new
    assert second.case is not None
    assert second.case.case_id != first.case.case_id
    assert kinds(second) == [DetailType.INTERACTION_ROUTED, DetailType.CASE_OPENED]


# Leads ---------------------------------------------------------------------------------------------


def test_a_purchase_intent_is_a_qualified_lead_with_score_and_reasons() -> None:
    decision = Customer().writes(
        message("m1", BUYING),
        analysed(POSITIVE, Entity("COMMERCIAL_ITEM", "family plan", 0.9), Entity("QUANTITY", "two", 0.9)),
    )
    assert decision.intent is not None
    assert decision.intent.label is Intent.PURCHASE_INTENT
    assert decision.case is None
    assert kinds(decision) == [DetailType.INTERACTION_ROUTED, DetailType.LEAD_QUALIFIED]
    lead = event(decision, DetailType.LEAD_QUALIFIED)
    assert SHIPPED["leads"]["min_score"] <= lead["lead_score"] <= 1
    assert lead["team"] == "sales"
    assert lead["reasons"][0].startswith("purchase intent")
    assert any(reason.startswith("names a product") for reason in lead["reasons"])
    assert any(reason.startswith("positive tone") for reason in lead["reasons"])
    assert lead["dedupe_key"] == "lead:messenger:m1"
    assert lead["interaction"]["external_id"] == "m1"


def test_a_vague_interest_is_routed_to_sales_but_not_yet_a_lead() -> None:
    decision = Customer().writes(message("m1", "pricing for teams"), analysed(NEUTRAL))
    assert decision.route is not None
    assert decision.route.team == "sales"
    assert kinds(decision) == [DetailType.INTERACTION_ROUTED]


def test_asking_to_buy_again_makes_a_better_lead() -> None:
    customer = Customer()
    customer.writes(message("m1", "pricing for teams"), analysed(NEUTRAL))
    customer.writes(message("m2", "ok thanks", T0 + timedelta(minutes=1)), analysed(NEUTRAL))
    again = customer.writes(message("m3", "pricing for teams", T0 + timedelta(days=2)), analysed(NEUTRAL))
    lead = event(again, DetailType.LEAD_QUALIFIED)
    assert any(reason.startswith("asked to buy before") for reason in lead["reasons"])
    assert any(reason.startswith("engaged customer (3 interactions)") for reason in lead["reasons"])


# Churn ---------------------------------------------------------------------------------------------


def test_a_customer_crossing_the_churn_threshold_raises_one_retention_alert() -> None:
    customer = Customer()
    first = customer.writes(message("m1", LEAVING), analysed(NEGATIVE))
    assert first.intent is not None
    assert first.intent.label is Intent.CANCEL_INTENT
    assert first.churn.score >= ALERT_AT
    assert kinds(first) == [DetailType.INTERACTION_ROUTED, DetailType.CASE_OPENED, DetailType.RETENTION_ALERT]
    alert = event(first, DetailType.RETENTION_ALERT)
    assert alert["churn_risk"] == first.churn.score
    assert alert["threshold"] == ALERT_AT
    assert alert["episode"] == 1
    assert alert["dedupe_key"] == "retention:cust-1:1"
    assert alert["reasons"][0].startswith("cancel threats")
    assert any(reason.startswith("competitor mentions") for reason in alert["reasons"])
    assert first.case is not None
    assert alert["case_id"] == first.case.case_id
    assert event(first, DetailType.CASE_OPENED)["team"] == "retention"

    second = customer.writes(message("m2", LEAVING, T0 + timedelta(hours=1)), analysed(NEGATIVE))
    assert second.churn.score >= first.churn.score
    assert DetailType.RETENTION_ALERT not in kinds(second)
    third = customer.writes(message("m3", "I want to cancel my subscription", T0 + timedelta(days=1)), None)
    assert DetailType.RETENTION_ALERT not in kinds(third)
    assert [e.detail_type for e in customer.events].count(DetailType.RETENTION_ALERT) == 1
    assert customer.churn.alerts == 1


def test_a_single_complaint_does_not_raise_a_retention_alert() -> None:
    decision = Customer().writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    assert 0 < decision.churn.score < ALERT_AT
    assert DetailType.RETENTION_ALERT not in kinds(decision)


def test_a_new_threat_after_a_quiet_half_year_alerts_again() -> None:
    """The risk fades with time even when nothing happens: by the customer's next message it has
    long fallen below the re-arm level, so crossing the threshold again is a new alert."""
    customer = Customer()
    first = customer.writes(message("m1", LEAVING), analysed(NEGATIVE))
    assert first.case is not None
    customer.cases[first.case.case_id] = cases.set_status(first.case, CaseStatus.RESOLVED, "ana@ops", T0)
    later = T0 + timedelta(days=180)
    again = customer.writes(message("m2", LEAVING, later), analysed(NEGATIVE))
    assert DetailType.RETENTION_ALERT in kinds(again)
    alert = event(again, DetailType.RETENTION_ALERT)
    assert (alert["episode"], alert["dedupe_key"]) == (2, "retention:cust-1:2")
    assert again.churn.alerts == 2


def test_a_complaint_from_a_customer_at_risk_goes_to_retention() -> None:
    customer = Customer()
    customer.writes(message("m1", LEAVING), analysed(NEGATIVE))
    complaint = customer.writes(
        message("c1", COMPLAINT, T0 + timedelta(hours=1), kind=Kind.COMMENT, thread_id="post-3"), analysed(NEGATIVE)
    )
    assert complaint.route is not None
    assert (complaint.route.rule, complaint.route.team) == ("complaint-at-risk", "retention")


# The events' common shape --------------------------------------------------------------------------


def every_kind_of_event() -> list[DomainEvent]:
    customer = Customer()
    customer.writes(message("m1", COMPLAINT), analysed(NEGATIVE))
    customer.writes(message("m2", LEAVING, T0 + timedelta(minutes=5)), analysed(NEGATIVE))
    customer.writes(
        message("m3", BUYING, T0 + timedelta(minutes=9), thread_id="t-2"),
        analysed(POSITIVE, Entity("COMMERCIAL_ITEM", "family plan", 0.9)),
    )
    return customer.events


EVENTS = every_kind_of_event()
TEXTS = (COMPLAINT, LEAVING, BUYING)


def test_the_scenario_raises_every_kind_of_customer_event() -> None:
    assert {e.detail_type for e in EVENTS} == {
        DetailType.INTERACTION_ROUTED,
        DetailType.CASE_OPENED,
        DetailType.RETENTION_ALERT,
        DetailType.LEAD_QUALIFIED,
        DetailType.INTERACTION_STORED,
    }


@pytest.mark.parametrize("raised", EVENTS, ids=[f"{i}-{e.detail_type.value}" for i, e in enumerate(EVENTS)])
def test_every_event_detail_has_the_catalogue_fields(raised: DomainEvent) -> None:
    detail = raised.detail
    assert detail["schema_version"] == SCHEMA_VERSION
    assert Severity(detail["severity"])
    assert isinstance(detail["reasons"], list)
    assert detail["reasons"]
    assert all(isinstance(reason, str) and reason for reason in detail["reasons"])
    assert isinstance(detail["dedupe_key"], str)
    assert detail["dedupe_key"] == raised.dedupe_key
    assert detail["customer_id"] == "cust-1"
    encoded = json.dumps(detail)  # what goes on the bus
    for text in TEXTS:
        assert text not in encoded  # ids to look it up, never what the customer wrote
    assert DomainEvent.from_dict(json.loads(json.dumps(raised.to_dict()))) == raised


def test_dedupe_keys_are_unique_per_event() -> None:
    keys = [e.dedupe_key for e in EVENTS]
    assert len(keys) == len(set(keys))


def test_a_redelivered_message_is_decided_with_the_same_dedupe_keys() -> None:
    snapshot = Customer().snapshot()
    interaction = message("m1", LEAVING)
    first = DECIDER.inbound(snapshot, interaction, analysed(NEGATIVE))
    again = DECIDER.inbound(snapshot, interaction, analysed(NEGATIVE))
    stable = {DetailType.INTERACTION_ROUTED, DetailType.RETENTION_ALERT}
    assert [e.dedupe_key for e in first.events if e.detail_type in stable] == [
        e.dedupe_key for e in again.events if e.detail_type in stable
    ]
    assert replace(first, case=None, events=()) == replace(again, case=None, events=())


@pytest.mark.parametrize(
    ("text", "mentioned"),
    [
        ("Switching to O2 tomorrow, bye", True),
        ("o2, here I come", True),
        ("our o2o strategy meeting is at 3", False),
        ("moving to Nimbus Mobile next month", True),
        ("nimbus mobileplus is not a thing", False),
    ],
)
def test_competitors_are_found_as_whole_words(text: str, mentioned: bool) -> None:
    document = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    document["competitors"] = ["O2", "Nimbus Mobile"]
    decider = Decider(parse(document), default_classifier())
    assert decider.mentions_competitor(text) is mentioned


def test_a_request_for_a_quote_naming_a_quantity_alerts_sales_at_once() -> None:
    text = "We'd like to buy 40 licences for our team, could you send a quote?"
    decision = Customer().writes(message("m1", text), analysed(NEUTRAL))
    lead = event(decision, DetailType.LEAD_QUALIFIED)
    assert lead["severity"] == "medium"  # an alert now (hygiene: medium), not the hourly digest
    assert lead["lead_score"] >= 0.75
    assert lead["team"] == "sales"
