"""The customer panel beside a case, the customer page's 360 view, alerts, and the canned answers
and WhatsApp templates the reply box offers."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from chalicelib.console.web import HERE


def customer_panel(customer_id: str, exclude_case: str | None = None) -> dict[str, Any] | None:
    from chalicelib.api.ops import reply_states
    from chalicelib.console import queries
    from chalicelib.dependencies import customer_records, customer_store, link_store
    from chalicelib.services.customers import customer_view

    # The panel's chart and languages come from the same page of the timeline the view reads.
    view = customer_view(customer_store(), customer_id, reply_states, links=link_store(), latest=queries.CHART_POINTS)
    if view is None:
        return None
    records = customer_records()
    cases = sorted(records.cases(customer_id), key=lambda case: case.opened_at, reverse=True)
    alerts = sorted(records.alerts(customer_id), key=lambda alert: alert.raised_at, reverse=True)
    lead = next((alert for alert in alerts if alert.detail_type == "Lead Qualified"), None)
    return {
        **view,
        "cases": [case.to_dict() for case in cases if case.case_id != exclude_case][:10],
        "alerts": [alert.to_dict() for alert in alerts][:10],
        "chart": queries.sentiment_points(view["latest_interactions"]),
        "lead": lead.detail if lead else None,
        "languages": sorted({str(item["language"]) for item in view["latest_interactions"] if item.get("language")}),
    }


def alerts(params: dict[str, str]) -> dict[str, Any]:
    from chalicelib.dependencies import alert_store
    from chalicelib.services import case_ops

    listing = case_ops.list_alerts(
        alert_store(), {key: params[key] for key in ("status", "type", "cursor") if key in params}
    )
    severity = params.get("severity")
    rows = [alert for alert in listing["alerts"] if not severity or alert["severity"] == severity]
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
    if params.get("sort") == "severity":
        rows.sort(key=lambda alert: (order.get(alert["severity"], 9), alert["raised_at"]))
    return {"alerts": named(rows), "next_cursor": listing["next_cursor"]}


def named(alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The alerts, each with the name of the customer it is about (`customer_name`), so a row
    says who without opening it: one read for the page's customers."""
    from chalicelib.dependencies import customer_directory

    names = customer_directory().named({alert["customer_id"] for alert in alerts if alert.get("customer_id")})
    return [{**alert, "customer_name": names.get(alert.get("customer_id") or "")} for alert in alerts]


@cache
def canned() -> dict[str, Any]:
    """The canned answers (typed with "/" in the reply box) and the WhatsApp templates approved
    for the business account, as shipped in console/canned.json (edited by a deploy, like code)."""
    document: dict[str, Any] = json.loads((HERE / "canned.json").read_text(encoding="utf-8"))
    return document
