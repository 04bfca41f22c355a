"""Lead score for a purchase intent: how likely a sale, in [0, 1], with reasons.

Starts from the classifier's confidence and adds what sales people look for: a product named, a
positive tone, a price or quantity asked, a customer who is already engaged or marked VIP, and
repeated interest. Lowered when the customer is at high churn risk (an upset customer asking
"how much to cancel?" is not a lead).
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.models.decision import Intent, IntentResult


@dataclass(frozen=True)
class LeadFacts:
    intent: IntentResult
    sentiment: str | None
    entity_types: frozenset[str]
    segments: frozenset[str]
    interaction_count: int  # the customer's, this one included
    purchase_signals: int  # earlier purchase intents still remembered
    churn_risk: float


@dataclass(frozen=True)
class LeadScore:
    score: float
    reasons: tuple[str, ...]


def score(facts: LeadFacts) -> LeadScore | None:
    if facts.intent.label is not Intent.PURCHASE_INTENT:
        return None
    points: list[tuple[float, str]] = [
        (0.35 * facts.intent.confidence, f"purchase intent ({facts.intent.confidence:.2f})")
    ]
    if facts.entity_types & {"COMMERCIAL_ITEM", "TITLE"}:
        points.append((0.15, "names a product"))
    if facts.entity_types & {"QUANTITY", "DATE"}:
        points.append((0.1, "gives a quantity or date"))
    if facts.sentiment == "POSITIVE":
        points.append((0.15, "positive tone"))
    elif facts.sentiment == "NEGATIVE":
        points.append((-0.1, "negative tone"))
    if "vip" in facts.segments:
        points.append((0.2, "VIP customer"))
    if facts.purchase_signals > 0:
        points.append((0.15, "asked to buy before"))
    if facts.interaction_count >= 3:
        points.append((0.1, f"engaged customer ({facts.interaction_count} interactions)"))
    if facts.churn_risk >= 0.6:
        points.append((-0.2, f"high churn risk ({facts.churn_risk:.2f})"))
    total = min(1.0, max(0.0, 0.2 + sum(weight for weight, _ in points)))
    ranked = sorted(points, key=lambda item: -abs(item[0]))
    return LeadScore(round(total, 3), tuple(f"{reason} ({weight:+.2f})" for weight, reason in ranked))
