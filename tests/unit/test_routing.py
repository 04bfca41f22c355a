"""Routing documents: validation that names the rule and the field, and first-match routing."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from chalicelib.models.decision import Intent, Priority, RouteAction
from chalicelib.rules.routing import DEFAULT_PATH, RoutingError, RoutingFacts, load_default, parse


def document(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = json.loads(DEFAULT_PATH.read_text(encoding="utf-8"))
    base.update(changes)
    return base


def with_rule(index: int, **changes: Any) -> dict[str, Any]:
    doc = document()
    doc["rules"][index] = {**doc["rules"][index], **changes}
    return doc


def facts(intent: Intent, text: str = "", **changes: Any) -> RoutingFacts:
    return RoutingFacts(
        platform=changes.pop("platform", "x"), kind="mention", intent=intent, confidence=0.6, text=text, **changes
    )


def test_the_shipped_document_is_valid_and_ends_with_a_catch_all() -> None:
    routing = load_default()
    assert routing.rules[-1].name == "everything-else"
    assert routing.sla_minutes[Priority.P1] < routing.sla_minutes[Priority.P4]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (with_rule(1, team="Escalations Desk"), r"rules\[1\] 'legal-threat': team"),
        (with_rule(1, team="escalations\n"), r"rules\[1\] 'legal-threat': team"),
        (with_rule(3, priority="urgent"), r"rules\[3\] 'cancel': priority: one of P1, P2, P3, P4"),
        (
            with_rule(3, actions=["open_case", "page_someone"]),
            r"rules\[3\] 'cancel': actions: unknown action 'page_someone'",
        ),
        (
            with_rule(5, when={"intent": ["complain"]}),
            r"rules\[5\] 'complaint': when.intent: unknown intent 'complain'",
        ),
        (with_rule(5, when={"sentiment": ["ANGRY"]}), r"rules\[5\] 'complaint': when.sentiment: unknown label"),
        (
            with_rule(4, when={"min_churn_risk": 1.5}),
            r"rules\[4\] 'complaint-at-risk': when.min_churn_risk: expected a number from 0 to 1",
        ),
        (
            with_rule(2, when={"segments": ["vip"]}),
            r"rules\[2\] 'vip-unhappy': when: unknown field\(s\) \['segments'\]",
        ),
        (with_rule(1, when={"keywords": "procon"}, name="legal"), None),  # a single string is a list of one
        (with_rule(6, name="complaint"), r"rules\[6\] 'complaint': name: used by an earlier rule"),
        (
            with_rule(9, when={"intent": ["other"]}),
            r"rules\[9\] 'everything-else': when: the last rule must have no conditions",
        ),
        (with_rule(0, name=""), r"rules\[0\]: name: required"),
        (document(sla_minutes={"P1": 30, "P2": 60, "P3": 0, "P4": 10}), r"sla_minutes.P3: required, a whole number"),
        (document(churn={"alert_at": 0.5, "rearm_below": 0.6}), r"churn.rearm_below: must be below churn.alert_at"),
        (document(crisis={"bucket_minutes": 7}), r"crisis.bucket_minutes: must divide a day"),
        (document(rules=[]), r"rules: required, a non-empty list"),
        (document(version=True), r"version: required"),
        (document(colour="blue"), r"unknown field\(s\) \['colour'\]"),
    ],
)
def test_invalid_documents_are_refused_naming_the_rule_and_field(doc: dict[str, Any], message: str | None) -> None:
    if message is None:
        parse(doc)
        return
    with pytest.raises(RoutingError, match=message):
        parse(doc, source="ssm:/socialcrm/dev/routing")


def test_not_json_at_all_is_refused_with_its_source() -> None:
    with pytest.raises(RoutingError, match="ssm:/x: not valid JSON"):
        parse("{rules: []", source="ssm:/x")


def test_the_first_matching_rule_wins() -> None:
    routing = load_default()
    legal = routing.route(facts(Intent.COMPLAINT, "Vou abrir reclamação no PROCON"))
    assert (legal.rule, legal.team, legal.priority) == ("legal-threat", "escalations", Priority.P1)
    assert legal.actions == (RouteAction.OPEN_CASE, RouteAction.ALERT)
    assert routing.route(facts(Intent.COMPLAINT, "parcel late")).rule == "complaint"
    assert routing.route(facts(Intent.OTHER)).rule == "everything-else"


def test_keywords_match_whole_words_without_case_or_diacritics() -> None:
    doc = document()
    doc["rules"].insert(
        0, {"name": "press", "when": {"keywords": ["Prensa", "Česká televize"]}, "team": "pr", "priority": "P1"}
    )
    routing = parse(doc)
    assert routing.route(facts(Intent.OTHER, "soy periodista de PRENSA local")).rule == "press"
    assert routing.route(facts(Intent.OTHER, "volala mi ceska televize")).rule == "press"
    assert routing.route(facts(Intent.OTHER, "comprensa")).rule == "everything-else"


def test_segments_churn_risk_platform_and_entities_are_conditions() -> None:
    doc = document()
    doc["rules"][0:0] = [
        {
            "name": "wa-vip",
            "when": {"platform": ["whatsapp"], "segment": ["vip"]},
            "team": "vip-care",
            "priority": "P1",
        },
        {"name": "at-risk", "when": {"min_churn_risk": 0.8}, "team": "retention", "priority": "P2"},
        {
            "name": "about-acme",
            "when": {"entities": ["acme"], "entity_types": ["ORGANIZATION"]},
            "team": "pr",
            "priority": "P3",
        },
    ]
    routing = parse(doc)
    assert routing.route(facts(Intent.PRAISE, platform="whatsapp", segments=frozenset({"vip"}))).rule == "wa-vip"
    assert routing.route(facts(Intent.PRAISE, platform="x", segments=frozenset({"vip"}))).rule == "praise"
    assert routing.route(facts(Intent.PRAISE, churn_risk=0.85)).rule == "at-risk"
    about = facts(Intent.OTHER, entity_types=frozenset({"ORGANIZATION"}), entity_texts=("ACME Corp",))
    assert routing.route(about).rule == "about-acme"


def test_a_rule_can_ask_how_sure_the_sentiment_is() -> None:
    """The offline engine's sentiment scores are calibrated: a rule may act only on a label the
    analysis is sure of, and an unsure NEGATIVE falls through to the next rule."""
    doc = document()
    doc["rules"][0:0] = [
        {
            "name": "surely-angry",
            "when": {"sentiment": ["NEGATIVE"], "min_sentiment_confidence": 0.8},
            "team": "care",
            "priority": "P2",
        }
    ]
    routing = parse(doc)
    sure = facts(Intent.OTHER, sentiment="NEGATIVE", sentiment_confidence=0.85)
    unsure = facts(Intent.OTHER, sentiment="NEGATIVE", sentiment_confidence=0.55)
    assert routing.route(sure).rule == "surely-angry"
    assert routing.route(unsure).rule != "surely-angry"
    doc["rules"][0]["when"]["min_sentiment_confidence"] = 1.5
    with pytest.raises(RoutingError, match="min_sentiment_confidence"):
        parse(doc)


def test_the_document_is_not_changed_by_parsing() -> None:
    doc = document()
    before = copy.deepcopy(doc)
    parse(doc)
    assert doc == before
