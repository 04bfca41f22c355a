"""Contract tests: every event socialcrm puts on its bus, built by the code that builds it in
production (the Decider with the default classifier and routing, the SLA and crisis watches, the
catalogue) and published through EventBus, validates against its JSON Schema in events/schemas/
(draft 2020-12, date-times checked). The schemas must be strict enough to fail a detail with a
field missing, mistyped or added, or the contract would prove nothing."""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.compat import HTTPHeaders
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no types-jsonschema

from chalicelib.adapters.events import MAX_BYTES, EventBus, entry_size
from chalicelib.handlers.processor import publish as publish_raised
from chalicelib.models.aggregates import Aggregates
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.churn import ChurnState
from chalicelib.models.customer import RecentInteraction
from chalicelib.models.decision import Intent, IntentResult, Priority, Route, RouteAction
from chalicelib.models.events import SCHEMA_VERSION, SOURCE, DetailType, DomainEvent
from chalicelib.models.interaction import Author, Direction, Interaction, Kind
from chalicelib.models.snapshot import CustomerSnapshot, Decision
from chalicelib.nlp.analysis import Analysis, Entity, Sentiment
from chalicelib.ports import CaseChange
from chalicelib.rules import catalogue, churn
from chalicelib.rules.cases import open_case
from chalicelib.rules.crisis import CrisisState
from chalicelib.rules.intent import default_classifier
from chalicelib.rules.routing import load_default
from chalicelib.services.crisis import CrisisWatch
from chalicelib.services.decide import Decider
from chalicelib.services.sla import SlaWatch

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas"
BUS = "socialcrm-dev"
T0 = datetime(2026, 11, 22, 9, 30, 12, 345000, tzinfo=UTC)
BRAND = "2244994945"


def file_name(detail_type: DetailType) -> str:
    return detail_type.value.lower().replace(" ", "-") + ".json"


@cache
def schema(detail_type: DetailType) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / file_name(detail_type)).read_text(encoding="utf-8"))
    return loaded


def validator(detail_type: DetailType) -> Draft202012Validator:
    return Draft202012Validator(schema(detail_type), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(detail_type: DetailType, detail: Any) -> list[str]:
    found = validator(detail_type).iter_errors(detail)
    return [f"{'/'.join(map(str, error.absolute_path)) or '<detail>'}: {error.message}" for error in found]


# --- what the code emits ------------------------------------------------------------------------


class AcceptingEvents:
    """A real boto3 `events` client (botocore validates every call against the service model)
    whose PutEvents is answered here, as AWS documents the response, and recorded."""

    def __init__(self) -> None:
        self.client: Any = boto3.client("events", region_name="us-east-1")
        self.calls: list[dict[str, Any]] = []
        self.client.meta.events.register("provide-client-params.events.PutEvents", self._record)
        self.client.meta.events.register("before-call.events.PutEvents", self._answer)

    def _record(self, params: dict[str, Any], **kwargs: Any) -> None:
        self.calls.append(copy.deepcopy(params))

    def _answer(self, **kwargs: Any) -> tuple[AWSResponse, dict[str, Any]]:
        entries = self.calls[-1]["Entries"]
        ids = [{"EventId": str(uuid.uuid4())} for _ in entries]
        return AWSResponse("https://events.us-east-1.amazonaws.com/", 200, HTTPHeaders(), None), {
            "FailedEntryCount": 0,
            "Entries": ids,
            "ResponseMetadata": {"HTTPStatusCode": 200},
        }

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [entry for call in self.calls for entry in call["Entries"]]


def message(
    text: str,
    external_id: str,
    *,
    user: str = "u-1",
    platform: str = "x",
    kind: Kind = Kind.MESSAGE,
    thread_id: str | None = None,
    title: str | None = None,
    rating: float | None = None,
    at: datetime = T0,
) -> Interaction:
    return Interaction(
        platform=platform,
        kind=kind,
        external_id=external_id,
        author=Author(user, handle=f"@{user}"),
        text=text,
        occurred_at=at,
        received_at=at + timedelta(seconds=2),
        account_id=BRAND,
        thread_id=thread_id,
        title=title,
        rating=rating,
    )


def analysed(label: str, entities: Sequence[str] = (), language: str = "en") -> Analysis:
    scores = {"POSITIVE": 0.02, "NEGATIVE": 0.02, "NEUTRAL": 0.02, "MIXED": 0.02}
    scores[label] = 0.94
    return Analysis(
        language,
        0.99,
        Sentiment(label, scores),
        entities=tuple(Entity(kind, kind.lower(), 0.9) for kind in entities),
        engine="test",
    )


def snapshot(segments: frozenset[str] = frozenset(), active: tuple[Case, ...] = ()) -> CustomerSnapshot:
    return CustomerSnapshot(str(uuid.uuid4()), Aggregates(), ChurnState(), segments, active)


def decider() -> Decider:
    return Decider(load_default(), default_classifier())


@dataclass
class Scenario:
    name: str
    decision: Decision
    snapshot: CustomerSnapshot


@cache
def decisions() -> tuple[Scenario, ...]:
    """Inbound interactions through the Decider as the processor calls it."""
    d = decider()
    found: list[Scenario] = []

    def run(name: str, snap: CustomerSnapshot, item: Interaction, analysis: Analysis | None) -> Decision:
        decision = d.inbound(snap, item, analysis)
        found.append(Scenario(name, decision, snap))
        return decision

    leaving = "I want to cancel my subscription, switching to Kappa Bank. Terrible service."
    run("cancel with a competitor", snapshot(), message(leaving, "1001"), analysed("NEGATIVE"))
    complaint = "My order arrived broken and nobody answers. Very disappointed."
    snap = snapshot()
    first = run("complaint", snap, message(complaint, "1002", user="u-2"), analysed("NEGATIVE"))
    assert first.case is not None
    joined = replace(snap, aggregates=first.aggregates, churn=first.churn, active_cases=(first.case,))
    run("complaint again, same thread", joined, message("Still nothing??", "1003", user="u-2"), None)
    buy = "How much does the premium plan cost? I'd like to buy two for my team."
    run(
        "purchase by a VIP",
        snapshot(frozenset({"vip"})),
        message(buy, "1004", platform="instagram", kind=Kind.COMMENT, thread_id="post-9"),
        analysed("POSITIVE", ("COMMERCIAL_ITEM", "QUANTITY")),
    )
    run("purchase, not analysed", snapshot(), message(buy, "1005", user="u-5"), None)
    run("question", snapshot(), message("When do you open on Sunday?", "1006"), analysed("NEUTRAL"))
    run("question from a VIP", snapshot(frozenset({"vip"})), message("Where is my order?", "1007"), None)
    run("praise", snapshot(), message("Love the new app, great job!", "1008"), analysed("POSITIVE"))
    review = message("Never again.", "r-1", platform="trustpilot", kind=Kind.REVIEW, title="Awful", rating=1)
    run("one-star review", snapshot(), review, analysed("NEGATIVE", language="es"))
    return tuple(found)


@dataclass
class MemoryCases:
    """CaseRepository in memory: case id -> (case, customer's churn state)."""

    items: dict[str, tuple[Case, ChurnState]] = field(default_factory=dict)

    def worklist(
        self,
        status: CaseStatus,
        team: str | None,
        limit: int,
        cursor: str | None = None,
        due_before: datetime | None = None,
    ) -> tuple[list[Case], str | None]:
        found = [
            case
            for case, _ in self.items.values()
            if case.status is status and (due_before is None or case.due_at <= due_before)
        ]
        return sorted(found, key=lambda case: case.due_at)[:limit], None

    def with_customer(self, case_id: str) -> tuple[Case, ChurnState, float | None, int] | None:
        if case_id not in self.items:
            return None
        case, state = self.items[case_id]
        return case, state, None, 0

    def change(self, case_id: str, change: CaseChange) -> Case | None:
        case, state = self.items[case_id]
        changed = change(case, state, None, 0)
        if changed is None:
            return None
        self.items[case_id] = changed
        return changed[0]


@dataclass
class MemoryCrises:
    found: list[RecentInteraction]
    saved: list[CrisisState] = field(default_factory=list)

    def states(self) -> dict[str, CrisisState]:
        return {}

    def negatives(self, since: datetime, until: datetime) -> list[RecentInteraction]:
        return [item for item in self.found if since <= item.occurred_at <= until]

    def save(self, state: CrisisState) -> bool:
        self.saved.append(state)
        return True


def sla_cases() -> MemoryCases:
    """The cases the Decider opened, plus one whose customer is near the churn threshold (so the
    breach raises a Retention Alert too)."""
    store = MemoryCases()
    for scenario in decisions():
        case = scenario.decision.case
        if case is not None and scenario.decision.case_is_new:
            store.items[case.case_id] = (case, scenario.decision.churn)
    state = churn.record(churn.record(ChurnState(), churn.CANCEL_INTENT, T0), churn.COMPETITOR, T0)
    at_risk = snapshot()
    opened = decider().inbound(at_risk, message("Still waiting for my refund??", "2001", user="u-9"), None)
    assert opened.case is not None
    store.items[opened.case.case_id] = (opened.case, state)
    return store


@dataclass
class Published:
    entries: list[dict[str, Any]]
    events: list[DomainEvent]
    calls: int


@cache
def published() -> Published:
    """Everything the scenarios raise, through EventBus as production publishes it."""
    client = AcceptingEvents()
    bus = EventBus(BUS, client.client, backoff_seconds=0)
    raised = {f"msg-{i}": scenario.decision.events for i, scenario in enumerate(decisions())}
    assert publish_raised(bus, raised) == set()

    events = [event for scenario in decisions() for event in scenario.decision.events]
    now = T0 + timedelta(days=2)
    report = SlaWatch(sla_cases(), bus, load_default()).run(now)
    assert (report.breached, report.retention_alerts, report.unpublished) == (6, 1, 0)

    negatives = [
        RecentInteraction(
            str(uuid.uuid4()), "x", "message", f"neg-{i}", now - timedelta(seconds=i), BRAND, "en", "NEGATIVE", -0.9
        )
        for i in range(12)
    ]
    crisis = CrisisWatch(MemoryCrises(negatives), bus, load_default()).run(now)
    assert crisis.started == [BRAND]
    # The sender, when a platform refuses a channel account's credentials (services/replies.py).
    from chalicelib.rules.catalogue import channel_needs_reauthorization

    reauth = channel_needs_reauthorization("messenger", "PAGE1", "190", "Error validating access token", now)
    assert bus.publish([reauth]) == [True]
    decoded = [DomainEvent(DetailType(e["DetailType"]), json.loads(e["Detail"])) for e in client.entries]
    assert [e.detail for e in decoded[: len(events)]] == [e.detail for e in events]
    return Published(client.entries, decoded, len(client.calls))


def case_for(interaction: Interaction, priority: Priority, intent: Intent) -> Case:
    route = Route("support", priority, "complaint", (RouteAction.OPEN_CASE,))
    return open_case(str(uuid.uuid4()), interaction, intent, route, load_default().sla_minutes)


def built_by_catalogue() -> list[DomainEvent]:
    """Edge values straight from the builders: nulls, every priority, thresholds on the dot."""
    item = message("hi", "3001")
    intent = IntentResult(Intent.OTHER, 1.0, ("no text",))
    events = [
        catalogue.interaction_routed(
            "c-1", item, intent, Route("social", Priority.P4, "everything-else"), "7", None, None, None
        ),
        catalogue.retention_alert(
            "c-1", 3, 0.9, 0.7, ("cancel threats: 1.0 (each halves in 30 days), last 2026-11-20 (+0.55)",), None, None
        ),
        catalogue.retention_alert(
            "c-1", 1, 0.7, 0.7, ("cancel threats: 1.0 (each halves in 30 days), last 2026-11-20 (+0.55)",), item, None
        ),
        catalogue.lead_qualified("c-1", item, 0.75, ("purchase intent (0.90) (+0.32)",), "sales"),
        catalogue.lead_qualified("c-1", item, 0.5, ("purchase intent (0.90) (+0.32)",), "sales"),
        catalogue.interaction_stored("c-1", item, None, None, None, None, None, (), None),
        catalogue.interaction_stored(
            "c-1",
            replace(item, direction=Direction.OUTBOUND, sent_by="agent-7"),
            None,
            None,
            None,
            None,
            case_for(item, Priority.P1, Intent.COMPLAINT),
            (),
            0.0,
        ),
    ]
    for priority in Priority:
        case = case_for(item, priority, Intent.QUESTION)
        events.append(catalogue.case_opened(case, item, intent))
        events.append(catalogue.sla_breached(case, case.due_at))  # on the dot: 0 minutes overdue
    return events


# --- the schema files -----------------------------------------------------------------------------


def test_every_detail_type_has_a_schema_and_every_schema_a_detail_type() -> None:
    files = {path.name for path in SCHEMAS.glob("*.json")}
    assert files == {file_name(detail_type) for detail_type in DetailType}
    assert not [path for path in SCHEMAS.iterdir() if path.suffix != ".json"]


@pytest.mark.parametrize("detail_type", list(DetailType), ids=str)
def test_schema_is_valid_draft_2020_12_and_names_its_detail_type(detail_type: DetailType) -> None:
    doc = schema(detail_type)
    Draft202012Validator.check_schema(doc)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$id"] == f"urn:socialcrm:events:{file_name(detail_type).removesuffix('.json')}"
    assert doc["title"] == detail_type.value
    assert doc["description"]
    assert doc["type"] == "object"
    assert doc["additionalProperties"] is False
    assert {"schema_version", "dedupe_key", "severity", "reasons"} <= set(doc["required"])
    assert set(doc["required"]) == set(doc["properties"]), "every field the builder writes is always written"
    assert doc["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    for example in doc["examples"]:
        assert errors(detail_type, example) == []


def test_schemas_about_a_customer_require_its_id() -> None:
    for detail_type in DetailType:
        required = set(schema(detail_type)["required"])
        about_no_one = (DetailType.CRISIS_ALERT, DetailType.CHANNEL_NEEDS_REAUTHORIZATION)
        assert ("customer_id" in required) is (detail_type not in about_no_one), detail_type
    # a crisis is about a brand (its samples name the customers); a reauthorization about a channel
    samples = schema(DetailType.CRISIS_ALERT)["properties"]["sample_interactions"]["items"]
    assert "customer_id" in samples["required"]


# --- what the code emits validates ----------------------------------------------------------------


def test_the_scenarios_raise_every_detail_type() -> None:
    kinds = {event.detail_type for event in published().events}
    assert kinds == set(DetailType)
    by_name = {scenario.name: [e.detail_type for e in scenario.decision.events] for scenario in decisions()}
    assert by_name["cancel with a competitor"] == [
        DetailType.INTERACTION_ROUTED,
        DetailType.CASE_OPENED,
        DetailType.RETENTION_ALERT,
        DetailType.INTERACTION_STORED,
    ]
    assert by_name["complaint again, same thread"] == [DetailType.INTERACTION_ROUTED, DetailType.INTERACTION_STORED]
    assert by_name["purchase by a VIP"] == [
        DetailType.INTERACTION_ROUTED,
        DetailType.LEAD_QUALIFIED,
        DetailType.INTERACTION_STORED,
    ]


def test_every_published_detail_validates_against_its_schema() -> None:
    failures = {
        f"{event.detail_type.value} {event.dedupe_key}": problems
        for event in published().events
        if (problems := errors(event.detail_type, event.detail))
    }
    assert failures == {}
    assert len(published().events) == 35


@pytest.mark.parametrize("event", built_by_catalogue(), ids=lambda e: f"{e.detail_type}-{e.detail['severity']}")
def test_catalogue_edge_values_validate(event: DomainEvent) -> None:
    assert errors(event.detail_type, event.detail) == []


def test_details_survive_the_outbox() -> None:
    """Stored with the interaction (DomainEvent.to_dict, JSON) and published again on redelivery."""
    for scenario in decisions():
        for event in scenario.decision.events:
            again = DomainEvent.from_dict(json.loads(json.dumps(event.to_dict())))
            assert again == event
            assert errors(again.detail_type, again.detail) == []


def test_the_emitted_values_are_the_ones_expected() -> None:
    """Spot checks that the valid details also say the right thing."""
    cancel = next(s for s in decisions() if s.name == "cancel with a competitor")
    routed, opened, retention, stored = (event.detail for event in cancel.decision.events)
    customer = cancel.snapshot.customer_id
    assert routed["customer_id"] == opened["customer_id"] == retention["customer_id"] == customer
    assert stored["customer_id"] == customer
    assert stored["case_id"] == opened["case_id"]
    assert stored["intent"]["label"] == routed["intent"]["label"]
    assert stored["direction"] == "inbound"
    assert routed["route"] == {
        "team": "retention",
        "priority": "P1",
        "rule": "cancel",
        "actions": ["open_case", "alert"],
    }
    assert (routed["alert"], routed["severity"]) == (True, "high")
    assert (routed["sentiment"], routed["language"]) == ("NEGATIVE", "en")
    assert routed["case_id"] == opened["case_id"] == retention["case_id"]
    assert routed["interaction"] == {
        "platform": "x",
        "kind": "message",
        "external_id": "1001",
        "account_id": BRAND,
        "occurred_at": "2026-11-22T09:30:12.345Z",
    }
    assert opened["due_at"] == "2026-11-22T10:00:12.345Z"  # P1: 30 minutes
    assert retention["episode"] == 1
    assert retention["churn_risk"] >= retention["threshold"] == 0.7
    complaint = next(s for s in decisions() if s.name == "complaint")
    assert complaint.decision.events[0].detail["severity"] == "info"  # routed, no alert
    assert complaint.decision.events[1].detail["severity"] == "medium"  # P2 case
    sla = [e.detail for e in published().events if e.detail_type is DetailType.SLA_BREACHED]
    assert {d["priority"]: d["severity"] for d in sla} == {"P1": "critical", "P2": "medium", "P3": "low"}
    late = [e.detail for e in published().events if e.detail_type is DetailType.RETENTION_ALERT][-1]
    assert late["interaction"] is None  # raised by the SLA watch, not by an interaction
    assert late["case_id"] is not None


# --- the envelope ---------------------------------------------------------------------------------


def test_every_entry_is_a_well_formed_put_events_entry() -> None:
    entries = published().entries
    assert len(entries) == len(published().events)
    for entry in entries:
        assert set(entry) == {"Source", "DetailType", "Detail", "EventBusName"}
        assert entry["Source"] == SOURCE == "socialcrm"
        assert entry["EventBusName"] == BUS
        assert isinstance(entry["DetailType"], str)
        assert entry["DetailType"] in {t.value for t in DetailType}
        detail = json.loads(entry["Detail"])
        assert isinstance(detail, dict)
        assert detail["schema_version"] == SCHEMA_VERSION
        assert entry_size(entry) <= MAX_BYTES
        assert len(entry["Detail"].encode()) < 8 * 1024, "details carry ids, not what customers wrote"
    # the batch's 26 events (9 of them Interaction Stored) in three calls (ten at most each), the
    # SLA watch's 7 in one, the crisis in one, the re-authorisation alert in one
    assert published().calls == 6


def test_details_never_carry_what_customers_wrote() -> None:
    for event in published().events:
        text = json.dumps(event.detail)
        for phrase in ("Terrible service", "arrived broken", "premium plan cost", "Never again", "Awful"):
            assert phrase not in text, (event.detail_type, phrase)


# --- the schemas reject what they should ----------------------------------------------------------


def samples() -> dict[DetailType, dict[str, Any]]:
    first: dict[DetailType, dict[str, Any]] = {}
    for event in published().events:
        first.setdefault(event.detail_type, event.detail)
    return first


def wrong_type(value: Any) -> Any:
    """A value of another JSON type: a list for anything that is not one, else a string."""
    return "wrong" if isinstance(value, list) else [value]


@pytest.mark.parametrize("detail_type", list(DetailType), ids=str)
def test_a_missing_field_fails_the_contract(detail_type: DetailType) -> None:
    detail = samples()[detail_type]
    assert errors(detail_type, detail) == []
    for name in schema(detail_type)["required"]:
        broken = {key: value for key, value in detail.items() if key != name}
        assert any(f"'{name}' is a required property" in e for e in errors(detail_type, broken)), name


@pytest.mark.parametrize("detail_type", list(DetailType), ids=str)
def test_a_mistyped_field_fails_the_contract(detail_type: DetailType) -> None:
    detail = samples()[detail_type]
    for name, value in detail.items():
        broken = {**detail, name: wrong_type(value)}
        assert errors(detail_type, broken), name


@pytest.mark.parametrize("detail_type", list(DetailType), ids=str)
def test_an_unknown_field_fails_the_contract(detail_type: DetailType) -> None:
    broken = {**samples()[detail_type], "text": "what the customer wrote"}
    assert any("Additional properties are not allowed" in e for e in errors(detail_type, broken))


@pytest.mark.parametrize(
    ("detail_type", "change", "expected"),
    [
        (DetailType.INTERACTION_ROUTED, {"schema_version": "1"}, "schema_version"),
        (DetailType.INTERACTION_ROUTED, {"schema_version": 2}, "schema_version"),
        (DetailType.INTERACTION_ROUTED, {"severity": "urgent"}, "severity"),
        (DetailType.INTERACTION_ROUTED, {"severity": "critical"}, "severity"),  # routed is never critical
        (DetailType.INTERACTION_ROUTED, {"alert": "true"}, "alert"),
        (DetailType.CASE_OPENED, {"priority": "P5"}, "priority"),
        (DetailType.CASE_OPENED, {"intent": "refund"}, "intent"),
        (DetailType.CASE_OPENED, {"case_id": "not-a-case-id"}, "case_id"),
        (DetailType.CASE_OPENED, {"due_at": "2026-13-45T10:00:00.000Z"}, "due_at"),  # format checked
        (DetailType.CASE_OPENED, {"due_at": "2026-11-22 10:00:00"}, "due_at"),
        (DetailType.CASE_OPENED, {"reasons": []}, "reasons"),
        (DetailType.SLA_BREACHED, {"overdue_minutes": 1.5}, "overdue_minutes"),
        (DetailType.SLA_BREACHED, {"overdue_minutes": -1}, "overdue_minutes"),
        (DetailType.SLA_BREACHED, {"severity": "high"}, "severity"),
        (DetailType.RETENTION_ALERT, {"churn_risk": 1.2}, "churn_risk"),
        (DetailType.RETENTION_ALERT, {"churn_risk": "0.8"}, "churn_risk"),
        (DetailType.RETENTION_ALERT, {"episode": 0}, "episode"),
        (DetailType.RETENTION_ALERT, {"episode": True}, "episode"),
        (DetailType.RETENTION_ALERT, {"customer_id": None}, "customer_id"),
        (DetailType.LEAD_QUALIFIED, {"lead_score": None}, "lead_score"),
        (DetailType.LEAD_QUALIFIED, {"team": "Sales Team"}, "team"),
        (DetailType.CRISIS_ALERT, {"negative_count": "12"}, "negative_count"),
        (DetailType.CRISIS_ALERT, {"severity": "high"}, "severity"),
        (DetailType.CRISIS_ALERT, {"sample_interactions": []}, "sample_interactions"),
        (DetailType.CRISIS_ALERT, {"baseline": {"mean": 0.0}}, "baseline"),
    ],
)
def test_a_wrong_value_fails_the_contract(detail_type: DetailType, change: dict[str, Any], expected: str) -> None:
    broken = {**samples()[detail_type], **change}
    found = errors(detail_type, broken)
    assert any(e.startswith(expected) for e in found), found


@pytest.mark.parametrize(
    ("detail_type", "path", "value"),
    [
        (DetailType.INTERACTION_ROUTED, ("interaction", "kind"), "tweet"),
        (DetailType.INTERACTION_ROUTED, ("interaction", "occurred_at"), 1763803812),
        (DetailType.INTERACTION_ROUTED, ("intent", "label"), "angry"),
        (DetailType.INTERACTION_ROUTED, ("intent", "confidence"), "high"),
        (DetailType.INTERACTION_ROUTED, ("route", "actions"), ["escalate"]),
        (DetailType.INTERACTION_ROUTED, ("route", "priority"), 1),
        (DetailType.LEAD_QUALIFIED, ("interaction", "external_id"), 1004),
        (DetailType.CRISIS_ALERT, ("bucket", "start"), "yesterday"),
    ],
)
def test_a_wrong_nested_value_fails_the_contract(detail_type: DetailType, path: tuple[str, str], value: Any) -> None:
    broken = copy.deepcopy(samples()[detail_type])
    broken[path[0]][path[1]] = value
    assert any(e.startswith(f"{path[0]}/{path[1]}") for e in errors(detail_type, broken))
    del broken[path[0]][path[1]]
    assert any(f"'{path[1]}' is a required property" in e for e in errors(detail_type, broken))


def test_severity_must_agree_with_what_the_builder_derives_it_from() -> None:
    routed = next(
        e.detail for e in published().events if e.detail_type is DetailType.INTERACTION_ROUTED and e.detail["alert"]
    )
    assert errors(DetailType.INTERACTION_ROUTED, {**routed, "severity": "info"})
    assert errors(DetailType.INTERACTION_ROUTED, {**routed, "alert": False})
    sla = next(e.detail for e in published().events if e.detail_type is DetailType.SLA_BREACHED)
    assert errors(DetailType.SLA_BREACHED, {**sla, "priority": "P1", "severity": "low"})
    lead = samples()[DetailType.LEAD_QUALIFIED]
    assert errors(DetailType.LEAD_QUALIFIED, {**lead, "lead_score": 0.9, "severity": "low"})
    assert errors(DetailType.LEAD_QUALIFIED, {**lead, "lead_score": 0.6, "severity": "medium"})
