"""What one interaction, or one change of a case, adds to the figures: pure functions.

The figures are counters kept per hour, channel and channel account (the brand's page, number, bot
or account). Each stored interaction adds its volume, sentiment, intent, language and competitor
mentions; each change of a case adds what it changed (opened, first answered with its response
time against its deadline, resolved with its resolution time). The store writes these additions in
the same transaction as the interaction or the case change they come from, which is what makes
them counted exactly once: a redelivered message finds its interaction stored and writes nothing,
and a case change that lost a race is decided again, with its additions, from the case as it now is.

Counter names are the item's attribute names, so they are short and readable:

    in, out                     inbound and outbound interactions
    s:<LABEL>                   inbound by sentiment (POSITIVE, NEGATIVE, NEUTRAL, MIXED)
    i:<intent>                  inbound by intent
    l:<language>                inbound by language
    c:<competitor>              inbound messages naming a competitor (configured in routing)
    cs:<competitor>:<LABEL>     ... by the sentiment towards it (targeted where known)
    co, cr, cz                  cases opened, first responded, resolved
    sm, sx                      cases answered within their deadline, deadlines missed
    fr:<b> / rt:<b>             first-response / resolution time histograms (bucket b, BUCKETS)
    ft:<team>:<b>, fa:<agent>:<b>, rtt:<team>:<b>, rta:<agent>:<b>   the same per team and agent
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.interaction import Direction, Interaction

# Upper bounds (seconds) of the time histograms' buckets: a percentile read from them is exact to
# within its bucket, which at these bounds is well under the precision an SLA is set in.
BUCKETS: tuple[float, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 604800)
NO_ACCOUNT = "-"  # interactions whose platform names no brand account (generic sources)
# The days the rollup sums again on every run (insight/service.rollup): today and the week before,
# what late or retried messages still write to. Older days are closed (see `booked`).
ROLLUP_DAYS = 8
SENTIMENTS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")


@dataclass(frozen=True)
class Where:
    """The hour, channel and channel account a count belongs to."""

    hour: str  # yyyy-mm-ddThh, UTC
    platform: str
    account: str

    @property
    def day(self) -> str:
        return self.hour[:10]


def hour_of(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H")


def where(moment: datetime, platform: str, account: str | None) -> Where:
    return Where(hour_of(moment), platform, clean(account or NO_ACCOUNT))


def clean(part: str) -> str:
    """A name fit for a key part and a counter name: '#' separates key parts, ':' counter parts."""
    return part.replace("#", "_").replace(":", "_")[:80] or NO_ACCOUNT


def bucket(seconds: float) -> int:
    """The index of the histogram bucket `seconds` falls into (the last: beyond every bound)."""
    return bisect.bisect_left(BUCKETS, max(0.0, seconds))


def for_interaction(
    interaction: Interaction,
    sentiment: str | None,
    language: str | None,
    intent: str | None,
    competitors: Mapping[str, str | None] | None = None,
) -> dict[Where, Counter[str]]:
    """What a newly stored interaction adds. `competitors`: those its words name, each with the
    sentiment towards it (None: not known)."""
    at = where(interaction.occurred_at, interaction.platform, interaction.account_id)
    counts: Counter[str] = Counter()
    if interaction.direction is Direction.OUTBOUND:
        counts["out"] += 1
        return {at: counts}
    counts["in"] += 1
    if sentiment:
        counts[f"s:{sentiment}"] += 1
    if intent:
        counts[f"i:{clean(intent)}"] += 1
    if language:
        counts[f"l:{clean(language)}"] += 1
    for name, towards in (competitors or {}).items():
        counts[f"c:{clean(name)}"] += 1
        if towards or sentiment:
            counts[f"cs:{clean(name)}:{towards or sentiment}"] += 1
    return {at: counts}


def for_case(before: Case | None, after: Case | None) -> dict[Where, Counter[str]]:
    """What a case's change adds, each at the moment it happened: opened (when the case is new),
    first responded (with its response time, and whether within its deadline), resolved (with
    its resolution time, each time it is resolved), and its first missed deadline. A case counts
    in `sm` or `sx` once: missed if a deadline passed before its first answer, else met."""
    if after is None:
        return {}
    added: dict[Where, Counter[str]] = {}

    def add(moment: datetime, *names: str) -> None:
        counts = added.setdefault(where(moment, after.platform, after.account_id), Counter())
        for name in names:
            counts[name] += 1

    team = clean(after.team)
    if before is None:
        add(after.opened_at, "co")
    answered_before = before is not None and (before.first_response_at or before.responded_at) is not None
    answered = after.first_response_at or after.responded_at
    if not answered_before and answered is not None:
        taken = bucket((answered - after.opened_at).total_seconds())
        agent = clean(after.responded_by or "unknown")
        add(answered, "cr", f"fr:{taken}", f"ft:{team}:{taken}", f"fa:{agent}:{taken}")
        missed = bool(before and before.breaches) or bool(after.breaches) or answered > after.due_at
        if not (before and before.breaches):  # a deadline already counted missed is not counted again
            add(answered, "sx" if missed else "sm")
    if not answered_before and answered is None and after.breaches and not (before and before.breaches):
        add(after.breaches[0], "sx")
    resolved_now = after.status is CaseStatus.RESOLVED and (before is None or before.status is not CaseStatus.RESOLVED)
    if resolved_now and after.resolved_at is not None:
        taken = bucket((after.resolved_at - after.opened_at).total_seconds())
        agent = clean(after.resolved_by or "unknown")
        add(after.resolved_at, "cz", f"rt:{taken}", f"rtt:{team}:{taken}", f"rta:{agent}:{taken}")
    return {key: counts for key, counts in added.items() if counts}


def booked(added: Mapping[Where, Counter[str]], now: datetime) -> dict[Where, Counter[str]]:
    """Where additions are written: at their own hour, unless that day is closed (the rollup no
    longer sums it), in which case at `now`'s hour. A message that reaches us more than a week
    after it was written (a source sending its history, a replay from the dead-letter queue, the
    local stack's captured samples) would otherwise be written where no report ever reads it.
    A day counts as closed one day early: a count written just before midnight for the oldest day
    rolled up could miss that day's last rollup."""
    oldest = (now.date() - timedelta(days=ROLLUP_DAYS - 2)).isoformat()
    written: dict[Where, Counter[str]] = {}
    for at, counts in added.items():
        key = at if at.day >= oldest else Where(hour_of(now), at.platform, at.account)
        written.setdefault(key, Counter()).update(counts)
    return written


def merge(*parts: Mapping[Where, Counter[str]]) -> dict[Where, Counter[str]]:
    merged: dict[Where, Counter[str]] = {}
    for part in parts:
        for key, counts in part.items():
            merged.setdefault(key, Counter()).update(counts)
    return {key: counts for key, counts in merged.items() if counts}


def negate(part: Mapping[Where, Counter[str]]) -> dict[Where, Counter[str]]:
    """The same counts taken away (a deleted interaction no longer counts)."""
    return {key: Counter({name: -amount for name, amount in counts.items()}) for key, counts in part.items()}


def percentile(histogram: Mapping[int, float], fraction: float) -> float | None:
    """The `fraction` percentile (0.5: the median) of a bucket histogram, interpolated linearly
    inside the bucket it falls in; None without samples. Beyond the last bound it says the bound."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = fraction * total
    seen = 0.0
    for index in range(len(BUCKETS) + 1):
        count = histogram.get(index, 0)
        if count and seen + count >= rank:
            low = BUCKETS[index - 1] if index > 0 else 0.0
            if index >= len(BUCKETS):
                return float(low)
            high = BUCKETS[index]
            return round(low + (high - low) * max(0.0, rank - seen) / count, 1)
        seen += count
    return float(BUCKETS[-1])


def histogram(counts: Mapping[str, float], prefix: str) -> dict[int, float]:
    """The buckets of the histogram named `prefix` (e.g. "fr:" or "ft:care:") in a row's counts."""
    found: dict[int, float] = {}
    for name, amount in counts.items():
        if name.startswith(prefix):
            rest = name[len(prefix) :]
            if rest.isdigit():
                found[int(rest)] = found.get(int(rest), 0) + amount
    return found


def names(counts: Iterable[str], prefix: str) -> Sequence[str]:
    """The distinct middles of counters `<prefix><middle>:<bucket>` (teams, agents)."""
    return sorted({name[len(prefix) :].rsplit(":", 1)[0] for name in counts if name.startswith(prefix)})


@dataclass(frozen=True)
class Row:
    """The counters of one period (a day yyyy-mm-dd or an hour yyyy-mm-ddThh), channel and account."""

    period: str
    platform: str
    account: str
    counts: Mapping[str, int]
