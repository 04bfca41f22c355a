"""One person across platforms: figures over a customer and the customers linked to them.

Links are pairwise and shown one level deep: a customer's combined figures cover them and the
customers linked to them directly, not the customers linked to those (A-B and B-C do not make A-C:
each link is a person's judgement about two customers, and chains would join people nobody
compared)."""

from __future__ import annotations

from collections.abc import Sequence

from chalicelib.models.customer import Customer
from chalicelib.models.directory import Combined


def combine(customers: Sequence[Customer]) -> Combined:
    """Counts and platforms added up; first and last contact the earliest and the latest; the
    sentiment trend the mean of each customer's trend weighted by how many analysed interactions
    it stands for; the churn risk the highest, with that customer's reasons."""
    counts: dict[str, int] = {}
    for customer in customers:
        for platform, count in customer.aggregates.platform_counts.items():
            counts[platform] = counts.get(platform, 0) + count
    firsts = [c.aggregates.first_contact_at for c in customers if c.aggregates.first_contact_at is not None]
    lasts = [c.aggregates.last_contact_at for c in customers if c.aggregates.last_contact_at is not None]
    weighted = [
        (c.aggregates.sentiment_score, c.aggregates.sentiment_samples)
        for c in customers
        if c.aggregates.sentiment_score is not None and c.aggregates.sentiment_samples > 0
    ]
    samples = sum(weight for _, weight in weighted)
    trend = round(sum(score * weight for score, weight in weighted) / samples, 4) if samples else None
    riskiest = max(customers, key=lambda c: c.churn_score, default=None)
    at_risk = riskiest is not None and riskiest.churn_score > 0
    return Combined(
        customer_ids=tuple(c.customer_id for c in customers),
        interaction_count=sum(c.aggregates.interaction_count for c in customers),
        platform_counts=counts,
        first_contact_at=min(firsts, default=None),
        last_contact_at=max(lasts, default=None),
        sentiment_trend=trend,
        sentiment_samples=samples,
        churn_score=riskiest.churn_score if riskiest is not None and at_risk else 0.0,
        churn_reasons=riskiest.churn_reasons if riskiest is not None and at_risk else (),
        churn_customer_id=riskiest.customer_id if riskiest is not None and at_risk else None,
    )
