"""Who the customers are: segments by rule (a validated, versioned document, like routing) and
clusters found daily over the customers' behaviour, each described in words from its centre.

Pure: the document and its rules, a customer's features from what the profile keeps, and k-means
with a fixed start (the same customers give the same clusters, run to run). The job that reads the
profiles and writes each customer's segments is insight/segment_service.py.

Features (what the profile keeps; a customer's messages are not read again):
    recency      days since the last contact (log scale)
    frequency    interactions so far (log scale)
    sentiment    the sentiment trend (-1 .. 1, an average weighted to the latest messages)
    churn        the churn risk (0 .. 1)
    complaints   how strongly complaints, cancel threats and competitor mentions weigh now
    purchase     how strongly purchase intent weighs now
    channels     how many platforms they wrote on
    waiting      their response experience: how strongly first responses that missed their deadline
                 weigh now (the churn signal an SLA breach records, decaying as it does)
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).with_name("segments.default.json")
FEATURES = ("recency", "frequency", "sentiment", "churn", "complaints", "purchase", "channels", "waiting")
CLUSTERS = 5
SAMPLE = 20_000  # customers the centres are fitted on (all are assigned); a deterministic sample
ITERATIONS = 25
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
# The conditions a rule may set: feature bounds, in the feature's own unit.
_CONDITIONS = {
    "min_interactions": ("interactions", 1),
    "max_interactions": ("interactions", -1),
    "min_sentiment": ("sentiment", 1),
    "max_sentiment": ("sentiment", -1),
    "min_churn_risk": ("churn", 1),
    "min_days_quiet": ("days_quiet", 1),
    "max_days_quiet": ("days_quiet", -1),
    "min_purchase": ("purchase", 1),
    "min_channels": ("channels", 1),
    "min_waiting": ("waiting", 1),
}
_WORDS = {  # how a cluster centre far from the average reads (high, low)
    "recency": ("long quiet", "recently in touch"),
    "frequency": ("frequent", "occasional"),
    "sentiment": ("positive", "negative"),
    "churn": ("at risk of leaving", "loyal"),
    "complaints": ("complaining", "rarely complaining"),
    "purchase": ("ready to buy", "not buying"),
    "channels": ("on several platforms", "on one platform"),
    "waiting": ("kept waiting", "answered in time"),
}


class SegmentError(ValueError):
    """The segments document is not valid; says where."""


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    when: Mapping[str, float]

    def holds(self, facts: Mapping[str, float]) -> bool:
        for condition, bound in self.when.items():
            feature, sign = _CONDITIONS[condition]
            value = facts[feature]
            if (sign > 0 and value < bound) or (sign < 0 and value > bound):
                return False
        return True


@dataclass(frozen=True)
class SegmentDocument:
    version: str
    rules: tuple[Rule, ...]


def parse(data: Any, source: str = "segments document") -> SegmentDocument:
    if not isinstance(data, dict) or set(data) - {"version", "description", "segments"}:
        raise SegmentError(f"{source}: an object with version, description and segments")
    version = data.get("version")
    if not isinstance(version, str) or not version:
        raise SegmentError(f"{source}: version is a non-empty string")
    rules: list[Rule] = []
    for index, raw in enumerate(data.get("segments") or ()):
        where = f"{source}: segments[{index}]"
        if not isinstance(raw, dict) or set(raw) - {"name", "description", "when"}:
            raise SegmentError(f"{where}: an object with name, description and when")
        name = raw.get("name")
        if not isinstance(name, str) or not _NAME.fullmatch(name) or name.startswith("cluster-"):
            raise SegmentError(f"{where}.name: 1 to 40 of a-z, 0-9, '_' and '-' (cluster-* is the job's)")
        if name in {rule.name for rule in rules}:
            raise SegmentError(f"{where}.name: {name!r} twice")
        when = raw.get("when")
        if not isinstance(when, dict) or not when:
            raise SegmentError(f"{where}.when: at least one of {', '.join(sorted(_CONDITIONS))}")
        for condition, bound in when.items():
            if condition not in _CONDITIONS:
                raise SegmentError(f"{where}.when.{condition}: not a condition ({', '.join(sorted(_CONDITIONS))})")
            if isinstance(bound, bool) or not isinstance(bound, int | float) or not math.isfinite(bound):
                raise SegmentError(f"{where}.when.{condition}: a number")
        rules.append(Rule(name, str(raw.get("description") or ""), {k: float(v) for k, v in when.items()}))
    if not rules:
        raise SegmentError(f"{source}: at least one segment")
    return SegmentDocument(version, tuple(rules))


def default_document() -> SegmentDocument:
    return parse(json.loads(DEFAULT_PATH.read_text(encoding="utf-8")), str(DEFAULT_PATH.name))


@dataclass(frozen=True)
class Customer:
    """What the profile says of a customer, as the segments read it."""

    customer_id: str
    interactions: int
    sentiment: float | None
    churn_risk: float
    last_contact_at: datetime | None
    complaints: float
    purchase: float
    channels: int
    waiting: float = 0.0

    def facts(self, now: datetime) -> dict[str, float]:
        quiet = (now - self.last_contact_at).total_seconds() / 86400 if self.last_contact_at else 3650.0
        return {
            "interactions": float(self.interactions),
            "sentiment": self.sentiment if self.sentiment is not None else 0.0,
            "churn": self.churn_risk,
            "days_quiet": max(0.0, quiet),
            "purchase": self.purchase,
            "channels": float(self.channels),
            "complaints": self.complaints,
            "waiting": self.waiting,
        }

    def vector(self, now: datetime) -> list[float]:
        facts = self.facts(now)
        return [
            math.log1p(facts["days_quiet"]),
            math.log1p(facts["interactions"]),
            facts["sentiment"],
            facts["churn"],
            facts["complaints"],
            facts["purchase"],
            facts["channels"],
            facts["waiting"],
        ]


def by_rule(document: SegmentDocument, customer: Customer, now: datetime) -> list[str]:
    facts = customer.facts(now)
    return [rule.name for rule in document.rules if rule.holds(facts)]


@dataclass(frozen=True)
class Cluster:
    name: str  # cluster-1 is the largest
    size: int
    centre: dict[str, float]  # in standard deviations from the average, per feature
    description: str


def clusters(customers: Sequence[Customer], now: datetime, k: int = CLUSTERS) -> tuple[list[Cluster], dict[str, str]]:
    """k-means over the standardised features, fitted on a sample chosen by customer id (the same
    customers, the same sample) from a start chosen the same way (k-means++ with the choice made by
    hash, not chance): the same customers give the same clusters. Clusters are named by size."""
    if len(customers) < k:
        return [], {}
    vectors = [customer.vector(now) for customer in customers]
    means = [sum(column) / len(vectors) for column in zip(*vectors, strict=True)]
    spreads = [_spread(column, mean) for column, mean in zip(zip(*vectors, strict=True), means, strict=True)]
    scaled = [[(value - mean) / spread for value, mean, spread in zip(v, means, spreads, strict=True)] for v in vectors]
    order = sorted(range(len(customers)), key=lambda i: _hash(customers[i].customer_id))
    sample = [scaled[i] for i in order[:SAMPLE]]
    centres = _start(sample, k)
    for _ in range(ITERATIONS):
        groups: list[list[list[float]]] = [[] for _ in centres]
        for point in sample:
            groups[_nearest(point, centres)].append(point)
        moved = [
            [sum(column) / len(group) for column in zip(*group, strict=True)] if group else centre
            for group, centre in zip(groups, centres, strict=True)
        ]
        if moved == centres:
            break
        centres = moved
    assigned = [_nearest(point, centres) for point in scaled]
    sizes = [assigned.count(index) for index in range(len(centres))]
    ranked = sorted(range(len(centres)), key=lambda index: (-sizes[index], centres[index]))
    names = {index: f"cluster-{position + 1}" for position, index in enumerate(ranked)}
    found = [
        Cluster(
            names[index],
            sizes[index],
            {feature: round(value, 2) for feature, value in zip(FEATURES, centres[index], strict=True)},
            describe(dict(zip(FEATURES, centres[index], strict=True))),
        )
        for index in ranked
    ]
    return found, {customer.customer_id: names[assigned[i]] for i, customer in enumerate(customers)}


def describe(centre: Mapping[str, float], far: float = 0.5) -> str:
    """A cluster in words: the features its centre is furthest from the average on, strongest
    first (at most three), or "typical" when none is far."""
    marked = sorted(  # strongest first; equal ones (to rounding) by name, so the words never shuffle
        (-round(abs(value), 6), feature, value) for feature, value in centre.items() if abs(value) >= far
    )
    words = [_WORDS[feature][0 if value > 0 else 1] for _, feature, value in marked[:3]]
    return ", ".join(words) if words else "typical"


def _spread(column: Sequence[float], mean: float) -> float:
    """The standard deviation; a feature all share (to rounding) says nothing and is left unscaled."""
    spread = math.sqrt(sum((value - mean) ** 2 for value in column) / len(column))
    return spread if spread > 1e-9 else 1.0


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _nearest(point: Sequence[float], centres: Sequence[Sequence[float]]) -> int:
    distances = [sum((a - b) ** 2 for a, b in zip(point, centre, strict=True)) for centre in centres]
    return distances.index(min(distances))


def _start(points: Sequence[list[float]], k: int) -> list[list[float]]:
    """k-means++: each next centre is the point furthest, weighted, from those chosen; the weighted
    draw is replaced by the farthest point, which makes the start the same every run."""
    centres = [points[0]]
    while len(centres) < k:
        distances = [min(sum((a - b) ** 2 for a, b in zip(p, c, strict=True)) for c in centres) for p in points]
        centres.append(points[distances.index(max(distances))])
    return [list(centre) for centre in centres]
