"""The reports, as pure functions of rolled-up rows (insight/counts.py): the per-day overview, the
reputation index with share of voice, and what social care is worth. docs/insight.md defines each
figure; nothing here reads a table or knows a customer."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chalicelib.insight.counts import SENTIMENTS, Row, histogram, names, percentile

Z95 = 1.96  # a 95% interval


def _sum(rows: Iterable[Row]) -> Counter[str]:
    total: Counter[str] = Counter()
    for row in rows:
        total.update(row.counts)
    return total


def _by(prefix: str, counts: Mapping[str, int]) -> dict[str, int]:
    return {
        name[len(prefix) :]: amount for name, amount in sorted(counts.items()) if name.startswith(prefix) and amount
    }


def _times(counts: Mapping[str, int], prefix: str) -> dict[str, float | None]:
    found = histogram(counts, prefix)
    return {"p50_s": percentile(found, 0.5), "p90_s": percentile(found, 0.9), "count": int(sum(found.values()))}


ALL_CHANNELS = "all"


def overview(rows: Sequence[Row], channel: str | None = None, per_channel: bool = True) -> list[dict[str, Any]]:
    """One row per day and channel (its accounts summed), oldest first; or, not `per_channel`, one
    per day with every channel summed (`channel` "all"), its percentiles read from the summed
    histograms rather than averaged."""
    grouped: dict[tuple[str, str], list[Row]] = {}
    for row in rows:
        if channel is None or row.platform == channel:
            grouped.setdefault((row.period, row.platform if per_channel else ALL_CHANNELS), []).append(row)
    result = []
    for (day, platform), group in sorted(grouped.items()):
        counts = _sum(group)
        first = histogram(counts, "fr:")
        result.append(
            {
                "date": day,
                "channel": platform,
                "inbound": counts["in"],
                "outbound": counts["out"],
                **{label.lower(): counts[f"s:{label}"] for label in SENTIMENTS},
                "intents": _by("i:", counts),
                "languages": _by("l:", counts),
                "competitors": _by("c:", counts),
                "cases_opened": counts["co"],
                "cases_responded": counts["cr"],
                "cases_resolved": counts["cz"],
                "first_response_p50_s": percentile(first, 0.5),
                "first_response_p90_s": percentile(first, 0.9),
                "resolution_p50_s": percentile(histogram(counts, "rt:"), 0.5),
                "sla_met": counts["sm"],
                "sla_missed": counts["sx"],
            }
        )
    return result


@dataclass(frozen=True)
class Index:
    """Net sentiment: (positive - negative) / analysed, from -100 to 100, with the half-width of its
    95% interval (the standard error of a mean of +1, 0 and -1 scores); None without samples."""

    value: float | None
    margin: float | None
    samples: int

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.value, "margin": self.margin, "samples": self.samples}


def net_sentiment(positive: int, negative: int, others: int) -> Index:
    total = positive + negative + others
    if total <= 0:
        return Index(None, None, 0)
    mean = (positive - negative) / total
    variance = max(0.0, (positive + negative) / total - mean * mean)
    margin = Z95 * math.sqrt(variance / total) * 100
    return Index(round(mean * 100, 1), round(margin, 1), total)


def reputation(rows: Sequence[Row], competitors: Sequence[str]) -> dict[str, Any]:
    """Per day and channel: the brand's net sentiment index, its share of voice against the
    competitors named in routing (counted in what customers write to the brand), and the
    sentiment towards each competitor where customers compare; and the same over the whole range."""

    def figures(counts: Mapping[str, int]) -> dict[str, Any]:
        brand = counts["in"]
        mentioned = {name: counts[f"c:{name}"] for name in competitors}
        voices = brand + sum(mentioned.values())
        compared = {}
        for name in competitors:
            towards = {label: counts[f"cs:{name}:{label}"] for label in SENTIMENTS}
            index = net_sentiment(towards["POSITIVE"], towards["NEGATIVE"], towards["NEUTRAL"] + towards["MIXED"])
            compared[name] = {"mentions": mentioned[name], **index.to_dict()}
        own = net_sentiment(counts["s:POSITIVE"], counts["s:NEGATIVE"], counts["s:NEUTRAL"] + counts["s:MIXED"])
        return {
            "volume": brand,
            **own.to_dict(),
            "share_of_voice": round(brand / voices, 4) if voices else None,
            "competitors": {
                name: {**compared[name], "share_of_voice": round(mentioned[name] / voices, 4) if voices else None}
                for name in competitors
            },
        }

    by_day: dict[tuple[str, str], Counter[str]] = {}
    for row in rows:
        by_day.setdefault((row.period, row.platform), Counter()).update(row.counts)
    return {
        "total": figures(_sum(rows)),
        "days": [
            {"date": day, "channel": platform, **figures(counts)} for (day, platform), counts in sorted(by_day.items())
        ],
    }


@dataclass(frozen=True)
class Assumptions:
    """What the worth of social care is estimated with: shown beside the figure, set per stage."""

    contacts_avoided_per_resolution: float = 1.0
    cost_per_contact: float | None = None
    currency: str = "USD"

    def to_dict(self) -> dict[str, Any]:
        return {
            "contacts_avoided_per_resolution": self.contacts_avoided_per_resolution,
            "cost_per_contact": self.cost_per_contact,
            "currency": self.currency,
            "meaning": (
                "Each case resolved on social is taken to replace this many e-mails or calls; "
                "the saving is those contacts times the configured cost of one "
                "(SOCIALCRM_CONTACTS_AVOIDED_PER_RESOLUTION, SOCIALCRM_COST_PER_CONTACT)."
            ),
        }


def roi(rows: Sequence[Row], assumptions: Assumptions) -> dict[str, Any]:
    """Response and resolution times (p50, p90) per channel, team and agent; the share answered
    within the deadline; cases resolved on social; and the estimate of contacts and cost avoided."""
    counts = _sum(rows)
    by_channel: dict[str, Counter[str]] = {}
    for row in rows:
        by_channel.setdefault(row.platform, Counter()).update(row.counts)
    judged = counts["sm"] + counts["sx"]
    resolved = counts["cz"]
    avoided = resolved * assumptions.contacts_avoided_per_resolution
    cost = assumptions.cost_per_contact
    return {
        "first_response": _times(counts, "fr:"),
        "resolution": _times(counts, "rt:"),
        "within_sla": round(counts["sm"] / judged, 4) if judged else None,
        "sla_met": counts["sm"],
        "sla_missed": counts["sx"],
        "cases_opened": counts["co"],
        "resolved_on_social": resolved,
        "contacts_avoided": round(avoided, 1),
        "cost_avoided": round(avoided * cost, 2) if cost is not None else None,
        "assumptions": assumptions.to_dict(),
        "channels": {
            channel: {"first_response": _times(found, "fr:"), "resolution": _times(found, "rt:")}
            for channel, found in sorted(by_channel.items())
        },
        "teams": {
            team: {"first_response": _times(counts, f"ft:{team}:"), "resolution": _times(counts, f"rtt:{team}:")}
            for team in sorted({*names(counts, "ft:"), *names(counts, "rtt:")})
        },
        "agents": {
            agent: {"first_response": _times(counts, f"fa:{agent}:"), "resolution": _times(counts, f"rta:{agent}:")}
            for agent in sorted({*names(counts, "fa:"), *names(counts, "rta:")})
        },
    }


def flat(records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows for CSV: nested mappings become columns named `<key>_<inner key>`."""
    result = []
    for record in records:
        row: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, Mapping):
                for inner, amount in flat([value])[0].items() if value else ():
                    row[f"{key}_{inner}"] = amount
            elif isinstance(value, list | tuple):
                row[key] = " ".join(str(part) for part in value)
            else:
                row[key] = value
        result.append(row)
    return result
