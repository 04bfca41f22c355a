"""Lead score for a purchase intent: how likely a sale, in [0, 1], with reasons.

Starts from the classifier's confidence and adds what sales people look for: a product named, a
positive tone, a price or quantity asked, a customer who is already engaged or marked VIP, and
repeated interest. Lowered when the customer is at high churn risk (an upset customer asking
"how much to cancel?" is not a lead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chalicelib.models.decision import Intent, IntentResult
from chalicelib.nlp.text import fold

# Asking for a quote, in the languages socialcrm reads (folded: no accents, lower case): a customer
# who asks for an offer is further along than one who asks about prices in general ("pricing for
# teams" stays interest, not yet a lead).
_QUOTE = re.compile(
    r"\b(quote|quotation|orcamento|cotacao|presupuesto|cotizacion|preventivo|quotazione"
    r"|cenov\w* nabid\w*|wycen\w*|ofert\w* cenow\w*)\b"
)
# A number of things ("40 licences", "25 licencias"): a quantity, where the analysis found none.
_QUANTITY = re.compile(r"(?<![\d.,:/-])(?<!\d\s)\d{1,6}\s+(?!%)[^\W\d_]{3,}")


@dataclass(frozen=True)
class LeadFacts:
    intent: IntentResult
    sentiment: str | None
    entity_types: frozenset[str]
    segments: frozenset[str]
    interaction_count: int  # the customer's, this one included
    purchase_signals: int  # earlier purchase intents still remembered
    churn_risk: float
    text: str = ""  # the message's words, for the cues the analysis does not give


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
    words = fold(facts.text)
    if facts.entity_types & {"QUANTITY", "DATE"} or _QUANTITY.search(words):
        points.append((0.1, "gives a quantity or date"))
    if _QUOTE.search(words):
        points.append((0.25, "asks for a quote"))
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
