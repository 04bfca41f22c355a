"""The supervisor's insight page: volume and sentiment over time, response times, reputation and
what answering is worth, drawn on the server (console/charts.py) from the same reports as
`GET /insights/...` (insight/service.py)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from chalice.app import Response

from chalicelib.console import charts
from chalicelib.console.web import console, now, page, query, render
from chalicelib.models.access import Role

TOPICS_SHOWN = 15


@console.route("/console/insight", methods=["GET"])
@page(Role.SUPERVISOR)
def insight() -> Response:
    from chalicelib.dependencies import insights, segments, topics
    from chalicelib.insight.service import InvalidRange

    params = {key: value for key, value in query().items() if value and key in ("from", "to", "channel")}
    try:
        figures = insights().dashboard(params, now().date())
        span: dict[str, str] = {key: params[key] for key in ("from", "to") if key in params}
        rising = topics().report(span, now().date(), shown=TOPICS_SHOWN)
        groups = segments(strict=False).report(span, now().date())
    except InvalidRange as exc:
        return render("insight.html", active="insight", params=params, problem=str(exc), figures=None)
    days = every_day(figures["days"], figures["from"], figures["to"])
    return render(
        "insight.html",
        active="insight",
        params=params,
        problem=None,
        figures=figures,
        topics=rising["rows"],
        segments=_latest_sizes(groups),
        volume=charts.volume_bars(days),
        first_response=charts.line([day["first_response_p50_s"] for day in days]),
        legend=charts.STACK,
    )


def every_day(days: list[dict[str, Any]], first: str, last: str) -> list[dict[str, Any]]:
    """A slot for each day of the period, quiet ones empty, so that a bar is a day wide and the
    time axis is even (the table below lists the days that had figures)."""
    found = {day["date"]: day for day in days}
    empty = {"inbound": 0, "outbound": 0, **{label: 0 for label, _ in charts.STACK}, "first_response_p50_s": None}
    span, end = date.fromisoformat(first), date.fromisoformat(last)
    slots = []
    while span <= end:
        slots.append(found.get(span.isoformat(), {"date": span.isoformat(), **empty}))
        span += timedelta(days=1)
    return slots


def _latest_sizes(report: dict[str, Any]) -> dict[str, Any]:
    """The segments' sizes on the latest day counted, with the rules' and clusters' words."""
    latest = max((row["date"] for row in report["rows"]), default=None)
    sizes = {row["segment"]: row["size"] for row in report["rows"] if row["date"] == latest}
    return {
        "date": latest,
        "rules": [{**rule, "size": sizes.get(rule["segment"], 0)} for rule in report["segments"]],
        "clusters": report["clusters"],
    }
