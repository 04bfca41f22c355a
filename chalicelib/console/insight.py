"""The supervisor's insight page: volume and sentiment over time, response times, reputation and
what answering is worth, drawn on the server (console/charts.py) from the same reports as
`GET /insights/...` (insight/service.py)."""

from __future__ import annotations

from chalice.app import Response

from chalicelib.console import charts
from chalicelib.console.web import console, now, page, query, render
from chalicelib.models.access import Role

TOPICS_SHOWN = 15


@console.route("/console/insight", methods=["GET"])
@page(Role.SUPERVISOR)
def insight() -> Response:
    from chalicelib.dependencies import insights, topics
    from chalicelib.insight.service import InvalidRange

    params = {key: value for key, value in query().items() if value and key in ("from", "to", "channel")}
    try:
        figures = insights().dashboard(params, now().date())
        rising = topics().report({key: params[key] for key in ("from", "to") if key in params}, now().date())
    except InvalidRange as exc:
        return render("insight.html", active="insight", params=params, problem=str(exc), figures=None)
    days = figures["days"]
    return render(
        "insight.html",
        active="insight",
        params=params,
        problem=None,
        figures=figures,
        topics=rising["rows"][:TOPICS_SHOWN],
        volume=charts.volume_bars(days),
        first_response=charts.line([day["first_response_p50_s"] for day in days]),
        legend=charts.STACK,
    )
