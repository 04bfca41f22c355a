"""Lead score for a purchase intent: what sales people look for, with reasons, in [0, 1]."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.models.decision import Intent, IntentResult
from chalicelib.rules import leads
from chalicelib.rules.leads import LeadFacts
from chalicelib.rules.routing import LeadSettings, load_default

MIN_SCORE = load_default().leads.min_score
_WEIGHT = re.compile(r"\(([+-]\d+\.\d+)\)$")


def facts(confidence: float = 0.7, **changes: Any) -> LeadFacts:
    base = LeadFacts(
        intent=IntentResult(Intent.PURCHASE_INTENT, confidence, ("words (en): 'how much is'",)),
        sentiment="NEUTRAL",
        entity_types=frozenset(),
        segments=frozenset(),
        interaction_count=1,
        purchase_signals=0,
        churn_risk=0.0,
    )
    return replace(base, **changes)


def scored(lead_facts: LeadFacts) -> leads.LeadScore:
    result = leads.score(lead_facts)
    assert result is not None
    return result


def stated(reasons: tuple[str, ...]) -> list[float]:
    found = [_WEIGHT.search(reason) for reason in reasons]
    assert all(found), reasons
    return [float(match.group(1)) for match in found if match]


def test_the_shipped_threshold_is_the_documented_default() -> None:
    assert MIN_SCORE == LeadSettings().min_score == 0.5


@pytest.mark.parametrize("intent", [intent for intent in Intent if intent is not Intent.PURCHASE_INTENT])
def test_only_a_purchase_intent_is_a_lead(intent: Intent) -> None:
    assert leads.score(facts(intent=IntentResult(intent, 0.99), sentiment="POSITIVE")) is None


def test_a_hot_lead_scores_high_and_says_why() -> None:
    hot = scored(
        facts(
            0.95,
            sentiment="POSITIVE",
            entity_types=frozenset({"COMMERCIAL_ITEM", "QUANTITY"}),
            segments=frozenset({"vip"}),
            interaction_count=5,
            purchase_signals=1,
        )
    )
    assert MIN_SCORE < hot.score <= 1.0
    text = " | ".join(hot.reasons)
    for factor in (
        "purchase intent (0.95)",
        "names a product",
        "gives a quantity or date",
        "positive tone",
        "VIP customer",
        "asked to buy before",
        "engaged customer (5 interactions)",
    ):
        assert factor in text
    assert len(hot.reasons) == 7


def test_a_vague_question_about_buying_is_not_yet_a_lead() -> None:
    vague = scored(facts(0.35))
    assert 0 < vague.score < MIN_SCORE
    assert vague.reasons == ("purchase intent (0.35) (+0.12)",)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity_types": frozenset({"COMMERCIAL_ITEM"})}, "names a product"),
        ({"entity_types": frozenset({"TITLE"})}, "names a product"),
        ({"entity_types": frozenset({"DATE"})}, "gives a quantity or date"),
        ({"sentiment": "POSITIVE"}, "positive tone"),
        ({"segments": frozenset({"vip", "b2b"})}, "VIP customer"),
        ({"purchase_signals": 2}, "asked to buy before"),
        ({"interaction_count": 3}, "engaged customer (3 interactions)"),
    ],
)
def test_each_thing_sales_looks_for_raises_the_score_and_is_named(change: dict[str, Any], reason: str) -> None:
    plain = scored(facts())
    better = scored(facts(**change))
    assert better.score > plain.score
    assert any(item.startswith(reason) for item in better.reasons)
    assert not any(item.startswith(reason) for item in plain.reasons)


def test_more_confidence_in_the_intent_is_a_better_lead() -> None:
    assert scored(facts(0.9)).score > scored(facts(0.5)).score > scored(facts(0.1)).score


def test_unrelated_entities_and_segments_do_not_count() -> None:
    plain = scored(facts())
    assert scored(facts(entity_types=frozenset({"PERSON", "LOCATION"}), segments=frozenset({"b2b"}))) == plain
    assert scored(facts(interaction_count=2)) == plain


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"sentiment": "NEGATIVE"}, "negative tone (-0.10)"),
        ({"churn_risk": 0.85}, "high churn risk (0.85) (-0.20)"),
    ],
)
def test_an_upset_or_leaving_customer_is_a_weaker_lead(change: dict[str, Any], reason: str) -> None:
    plain = scored(facts(0.9, sentiment="POSITIVE"))
    changed = {"sentiment": "POSITIVE", **change}
    weaker = scored(facts(0.9, **changed))
    assert weaker.score < plain.score
    assert reason in weaker.reasons


def test_a_moderate_churn_risk_is_not_held_against_the_lead() -> None:
    assert scored(facts(churn_risk=0.4)) == scored(facts())


def test_reasons_are_ordered_by_how_much_they_moved_the_score() -> None:
    result = scored(
        facts(
            0.8,
            sentiment="NEGATIVE",
            entity_types=frozenset({"COMMERCIAL_ITEM"}),
            segments=frozenset({"vip"}),
            churn_risk=0.7,
            interaction_count=4,
        )
    )
    weights = stated(result.reasons)
    assert [abs(weight) for weight in weights] == sorted((abs(weight) for weight in weights), reverse=True)
    assert result.reasons[0].startswith("purchase intent (0.80)")
    assert any(weight < 0 for weight in weights)


def test_the_score_stays_between_0_and_1() -> None:
    best = scored(
        facts(
            1.0,
            sentiment="POSITIVE",
            entity_types=frozenset({"COMMERCIAL_ITEM", "TITLE", "QUANTITY", "DATE"}),
            segments=frozenset({"vip"}),
            interaction_count=1000,
            purchase_signals=50,
        )
    )
    worst = scored(facts(0.0, sentiment="NEGATIVE", churn_risk=1.0))
    assert best.score == 1.0
    assert worst.score == 0.0


@pytest.mark.parametrize(
    "text",
    [
        "We'd like to buy 40 licences for our team, could you send a quote?",
        "Gostaríamos de comprar 40 licenças para a equipe, podem enviar um orçamento?",
        "Queremos comprar 25 licencias, ¿nos pueden enviar una cotización?",
        "Vorremmo acquistare 30 licenze, potete mandarci un preventivo?",
        "Chtěli bychom koupit 40 licencí, můžete nám poslat cenovou nabídku?",
        "Chcielibyśmy kupić 40 licencji, czy możecie przesłać wycenę?",
    ],
)
def test_a_quantity_and_a_quote_asked_make_a_lead_sales_hear_of_at_once(text: str) -> None:
    """The offline classifier gives these purchase intent at 0.72 to 0.93: with the quantity and
    the quote asked, the score reaches medium severity (an alert now, not the hourly digest)."""
    result = scored(facts(0.72, text=text))
    assert result.score >= 0.75
    assert any("asks for a quote" in reason for reason in result.reasons)
    assert any("quantity" in reason for reason in result.reasons)
    plain = scored(facts(0.72, text="I like your product, maybe I'll buy one someday"))
    assert plain.score < 0.75
    assert not any("quote" in reason or "quantity" in reason for reason in plain.reasons)


def test_numbers_that_are_not_quantities_and_percentages_are_not_counted() -> None:
    for text in ("call me at 555 0101 tomorrow", "prices rose 10 % this year", "version 2.5 please"):
        reasons = scored(facts(0.7, text=text)).reasons
        assert not any("quantity" in reason for reason in reasons), text
