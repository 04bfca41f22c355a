"""The weekly summary to the supervisors' address: the week's headline figures against the week
before, and the rising topics. Counts and topic names only: no customer's words, no customer."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Protocol

TOPICS_LISTED = 5


class Reports(Protocol):
    def dashboard(self, params: dict[str, str], today: date) -> dict[str, Any]: ...


class TopicReports(Protocol):
    def report(self, params: dict[str, str], today: date, examples: bool = True) -> dict[str, Any]: ...


def weekly(reports: Reports, topics: TopicReports, today: date) -> tuple[str, str]:
    """(subject, body) for the seven days up to yesterday, each figure beside the week before's."""
    last = today - timedelta(days=1)
    week = {"from": (last - timedelta(days=6)).isoformat(), "to": last.isoformat()}
    before = {"from": (last - timedelta(days=13)).isoformat(), "to": (last - timedelta(days=7)).isoformat()}
    now, then = _headline(reports, week, today), _headline(reports, before, today)
    lines = [f"socialcrm, the week {week['from']} to {week['to']} (the week before in brackets)", ""]
    for label, key, unit in (
        ("Messages from customers", "inbound", ""),
        ("Replies by the brand", "outbound", ""),
        ("Net sentiment (-100..100)", "index", ""),
        ("Cases opened", "opened", ""),
        ("Cases resolved on social", "resolved", ""),
        ("First response, median", "first_p50", " min"),
        ("First response, 90th percentile", "first_p90", " min"),
        ("Answered within the deadline", "within", "%"),
        ("E-mails and calls avoided (estimate)", "avoided", ""),
    ):
        lines.append(f"- {label}: {_show(now[key], unit)} ({_show(then[key], unit)})")
    if now["cost"] is not None:
        lines.append(f"- Worth, at the configured cost per contact: {now['cost']} {now['currency']}")
    rising = [row for row in topics.report(dict(week), today, examples=False)["rows"] if row["trend"] > 0]
    lines += ["", "Rising topics:"]
    lines += [
        f"- {row['topic']}: {row['count']} messages, trend {row['trend']:+.1f}, "
        f"{row['sentiment'].get('NEGATIVE', 0)} negative, in {', '.join(row['languages']) or 'unknown languages'}"
        for row in rising[:TOPICS_LISTED]
    ] or ["- none above their usual level"]
    lines += ["", "The figures, per day and channel: the console's Insight page, or GET /insights/overview."]
    subject = f"socialcrm weekly: {_show(now['inbound'], '')} messages, net sentiment {_show(now['index'], '')}"
    return subject, "\n".join(lines)


def _headline(reports: Reports, span: dict[str, str], today: date) -> dict[str, Any]:
    figures = reports.dashboard(dict(span), today)  # the week's rows, read once for all three
    rows, roi, total = figures["days"], figures["roi"], figures["reputation"]["total"]
    minutes = {key: (value / 60 if value is not None else None) for key, value in roi["first_response"].items()}
    return {
        "inbound": sum(row["inbound"] for row in rows),
        "outbound": sum(row["outbound"] for row in rows),
        "index": total["index"],
        "opened": roi["cases_opened"],
        "resolved": roi["resolved_on_social"],
        "first_p50": minutes["p50_s"],
        "first_p90": minutes["p90_s"],
        "within": roi["within_sla"] * 100 if roi["within_sla"] is not None else None,
        "avoided": roi["contacts_avoided"],
        "cost": roi["cost_avoided"],
        "currency": roi["assumptions"]["currency"],
    }


def _show(value: Any, unit: str) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}{unit}"
    return f"{value}{unit}"
