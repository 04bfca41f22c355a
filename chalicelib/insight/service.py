"""Insight's use cases: roll the written counters up (a schedule), and answer the reports over a
range of days from the rolled-up rows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from chalicelib.insight import report
from chalicelib.insight.counts import ROLLUP_DAYS, Row

DEFAULT_DAYS = 30
MAX_DAYS = 366


class InvalidRange(ValueError):
    """The range asked for is not a range of days we answer for (400)."""


class Figures(Protocol):
    def roll(self, day: str, now: datetime) -> list[Row]: ...

    def days(self, first: str, last: str) -> list[Row]: ...

    def hours(self, day: str) -> list[Row]: ...

    def rolled_at(self, day: str) -> str | None: ...


def day_range(params: dict[str, str], today: date) -> tuple[str, str]:
    """`from` and `to` (yyyy-mm-dd, both included): by default the last 30 days up to today."""
    try:
        last = date.fromisoformat(params["to"]) if params.get("to") else today
        first = date.fromisoformat(params["from"]) if params.get("from") else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise InvalidRange("from and to are dates: yyyy-mm-dd") from None
    if first > last:
        raise InvalidRange("from is after to")
    if (last - first).days >= MAX_DAYS:
        raise InvalidRange(f"at most {MAX_DAYS} days at once")
    return first.isoformat(), last.isoformat()


def rollup(figures: Figures, now: datetime, days: int = ROLLUP_DAYS) -> dict[str, int]:
    """Sum the recent days' shards into the rows the reports read; returns rows per day."""
    rolled = {}
    for back in range(days - 1, -1, -1):
        day = (now.date() - timedelta(days=back)).isoformat()
        rolled[day] = len(figures.roll(day, now))
    return rolled


class Insights:
    def __init__(self, figures: Figures, competitors: Sequence[str], assumptions: report.Assumptions) -> None:
        self._figures = figures
        self._competitors = tuple(competitors)
        self._assumptions = assumptions

    def overview(self, params: dict[str, str], today: date) -> dict[str, Any]:
        """Per day; with `by=hour`, per hour of yesterday and today (the hour rows kept 3 days)."""
        channel = params.get("channel") or None
        if params.get("by") == "hour":
            first, last = (today - timedelta(days=1)).isoformat(), today.isoformat()
            rows = self._figures.hours(first) + self._figures.hours(last)
            return {**self._span(first, last), "rows": report.overview(rows, channel)}
        if params.get("by") not in (None, "", "day"):
            raise InvalidRange("by: day or hour")
        first, last = day_range(params, today)
        rows = self._figures.days(first, last)
        return {**self._span(first, last), "rows": report.overview(rows, channel)}

    def dashboard(self, params: dict[str, str], today: date) -> dict[str, Any]:
        """What the console's insight page shows: the days with every channel summed, the
        per-channel rows, the reputation and what answering is worth, read from one set of rows."""
        first, last = day_range(params, today)
        rows = self._rows(first, last, params)
        return {
            **self._span(first, last),
            "days": report.overview(rows, per_channel=False),
            "rows": report.overview(rows),
            "reputation": report.reputation(rows, self._competitors),
            "roi": report.roi(rows, self._assumptions),
        }

    def reputation(self, params: dict[str, str], today: date) -> dict[str, Any]:
        first, last = day_range(params, today)
        rows = self._rows(first, last, params)
        return {**self._span(first, last), **report.reputation(rows, self._competitors)}

    def roi(self, params: dict[str, str], today: date) -> dict[str, Any]:
        first, last = day_range(params, today)
        return {**self._span(first, last), **report.roi(self._rows(first, last, params), self._assumptions)}

    def _rows(self, first: str, last: str, params: dict[str, str]) -> list[Row]:
        channel = params.get("channel") or None
        return [row for row in self._figures.days(first, last) if channel is None or row.platform == channel]

    def _span(self, first: str, last: str) -> dict[str, Any]:
        return {"from": first, "to": last, "as_of": self._figures.rolled_at(last)}
