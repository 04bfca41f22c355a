"""Counting topics (a schedule) and reading them: rising topics first, with their sentiment,
languages and examples; and naming what a crisis is about, for the crisis watch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.insight.service import day_range
from chalicelib.insight.topics import HOURS_RECOUNTED, Mention, Merger, Tally, combine, tally, top, trend
from chalicelib.lake.records import topic_records
from chalicelib.ports import LakeSink

KNOWN_DAYS = 7  # the names a new term may join: the topics of the last week
BASELINE_DAYS = 28
DEFAULT_DAYS = 7
SHOWN = 50
CRISIS_SHARE = 0.3  # a crisis is about a topic when at least this share of its messages name it
CRISIS_MIN = 3
ERASURE_CHECKS = 5  # rewrites of a count's tallies for customers whose erasure began meanwhile


class TopicRepository(Protocol):
    def mentions(self, hour: datetime) -> list[Mention]: ...

    def mentions_of(self, found: Any) -> list[Mention]: ...

    def save_hour(self, hour: datetime, topics: dict[str, Tally], now: datetime) -> None: ...

    def hours(self, day: str) -> list[dict[str, Tally]]: ...

    def save_day(self, day: str, topics: dict[str, Tally], now: datetime) -> None: ...

    def days(self, first: str, last: str) -> dict[str, dict[str, Tally]]: ...

    def texts(self, examples: Sequence[dict[str, str]]) -> dict[str, str | None]: ...

    def erased(self, customer_ids: Iterable[str]) -> set[str]: ...


class LakeUnavailable(RuntimeError):
    """The topics' counts did not all reach the data lake: the run fails, so Lambda runs it again
    (and the next run counts the same hours again in any case)."""


class ErasuresMeanwhile(RuntimeError):
    """Customers named in the count kept being erased while it rewrote its tallies: the run fails
    (and runs again) rather than leave a reference to one of them."""


class Topics:
    def __init__(self, store: TopicRepository, merger: Merger, lake: LakeSink | None = None) -> None:
        self._store = store
        self._merger = merger
        self._lake = lake

    def count(self, now: datetime) -> dict[str, int]:
        """Count the last hours again from what is stored (written over what was counted before),
        then the days they belong to from their hours. Returns topics per hour counted."""
        known = self.known(now.date())
        counted: dict[str, int] = {}
        hours: dict[datetime, dict[str, Tally]] = {}
        days: dict[str, dict[str, Tally]] = {}
        records: list[dict[str, Any]] = []
        try:
            for back in range(HOURS_RECOUNTED):
                hour = (now - timedelta(hours=back)).replace(minute=0, second=0, microsecond=0)
                topics = tally(self._store.mentions(hour), self._merger, known)
                self._store.save_hour(hour, topics, now)
                hours[hour] = topics
                counted[hour.strftime("%Y-%m-%dT%H")] = len(topics)
                if self._lake is not None:
                    negatives = {n: (t.n, t.sentiment["NEGATIVE"]) for n, t in topics.items()}
                    records += topic_records(hour, negatives, now)
            for day in sorted({hour.strftime("%Y-%m-%d") for hour in hours}):
                combined = top(combine(self._store.hours(day)))
                self._store.save_day(day, combined, now)
                days[day] = combined
        finally:
            # What was written is checked even when the run fails half-way: a day the next runs
            # no longer recount would keep its references until their messages expire.
            self._leave_out_erased(hours, days, now)
        if self._lake is not None and records and not all(self._lake.put(records)):
            raise LakeUnavailable("the topics' counts did not all reach the lake")
        return counted

    def _leave_out_erased(
        self, hours: dict[datetime, dict[str, Tally]], days: dict[str, dict[str, Tally]], now: datetime
    ) -> None:
        """Write the tallies again without the examples of customers whose erasure began since
        their messages were read. Checked after writing: an erasure that began before the check
        is seen here, and one that began after it takes its customer out of what was written (its
        passes over the topics come after its mark)."""
        for rewrites in range(ERASURE_CHECKS + 1):
            named = {
                str(e["c"])
                for topics in [*hours.values(), *days.values()]
                for t in topics.values()
                for e in t.examples
                if e.get("c")
            }
            gone = self._store.erased(named)
            if not gone:
                return
            if rewrites == ERASURE_CHECKS:
                break  # each rewrite is checked again after it; this one found more
            for hour, topics in hours.items():
                hours[hour] = _without(topics, gone)
                self._store.save_hour(hour, hours[hour], now)
            for day, topics in days.items():
                days[day] = _without(topics, gone)
                self._store.save_day(day, days[day], now)
        raise ErasuresMeanwhile(f"customers were still being erased after {ERASURE_CHECKS} rewrites")

    def known(self, today: date) -> list[str]:
        first = (today - timedelta(days=KNOWN_DAYS)).isoformat()
        totals: Counter[str] = Counter()
        for topics in self._store.days(first, today.isoformat()).values():
            totals.update({name: figures.n for name, figures in topics.items()})
        return [name for name, _ in totals.most_common()]

    def about(self, found: Any, today: date) -> str | None:
        """What a burst of messages is about: the topic most of them name, if enough do."""
        mentions = self._store.mentions_of(found)
        if not mentions:
            return None
        topics = tally(mentions, self._merger, self.known(today))
        if not topics:
            return None
        name, figures = next(iter(topics.items()))
        return name if figures.n >= max(CRISIS_MIN, CRISIS_SHARE * len(mentions)) else None

    def report(self, params: dict[str, str], today: date, examples: bool = True, shown: int = SHOWN) -> dict[str, Any]:
        """Topics over `from`..`to` (by default the last 7 days), rising first: each with its count,
        its trend against its own daily mean over the 28 days before, its sentiment, languages and
        a few examples (their words as stored, redacted where personal data was found)."""
        if not params.get("from"):
            params = {
                **params,
                "from": (
                    date.fromisoformat(params.get("to") or today.isoformat()) - timedelta(days=DEFAULT_DAYS - 1)
                ).isoformat(),
            }
        first, last = day_range(params, today)
        days = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
        base_first = (date.fromisoformat(first) - timedelta(days=BASELINE_DAYS)).isoformat()
        stored = self._store.days(base_first, last)
        current = combine(topics for day, topics in stored.items() if day >= first)
        past = combine(topics for day, topics in stored.items() if day < first)
        rows = []
        for name, figures in current.items():
            baseline = past[name].n / BASELINE_DAYS if name in past else 0.0
            rows.append((trend(figures.n, baseline, days), name, figures))
        rows.sort(key=lambda row: (-row[0], -row[2].n, row[1]))
        listed = rows[:shown]  # examples are read for these alone
        texts = self._store.texts([e for _, _, figures in listed for e in figures.examples]) if examples else {}
        return {
            "from": first,
            "to": last,
            "baseline_days": BASELINE_DAYS,
            "rows": [
                {
                    "topic": name,
                    "count": figures.n,
                    "trend": score,
                    "sentiment": dict(figures.sentiment),
                    "languages": sorted(figures.languages, key=lambda code: -figures.languages[code]),
                    "examples": [_example(example, texts) for example in figures.examples if example.get("k") in texts],
                }
                for score, name, figures in listed
            ],
        }


def _without(topics: dict[str, Tally], customers: set[str]) -> dict[str, Tally]:
    return {
        name: replace(figures, examples=[e for e in figures.examples if e.get("c") not in customers])
        for name, figures in topics.items()
    }


def _example(example: dict[str, str], texts: dict[str, str | None]) -> dict[str, Any]:
    case_id = example.get("case")
    return {
        "customer_id": example["c"],
        "platform": example.get("p"),
        "case_id": case_id,
        "console": f"/console/cases/{case_id}" if case_id else f"/console/customers/{example['c']}",
        "text": texts.get(example["k"]),
    }
