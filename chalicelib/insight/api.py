"""Ops API: `GET /insights/...` for supervisors and admins, as JSON or, with `Accept: text/csv`,
as CSV (one line per row of the report's main table)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from chalice.app import BadRequestError, Blueprint, Response

from chalicelib.api.auth import ops_authorizer, requires
from chalicelib.insight.report import flat
from chalicelib.insight.service import Insights, InvalidRange
from chalicelib.models.access import Role

insights = Blueprint(__name__)


def _service() -> Insights:
    from chalicelib.dependencies import insights as build

    return build()


def _answer(
    make: Callable[[Insights, dict[str, str], Any], dict[str, Any]],
    table: Callable[[dict[str, Any]], Sequence[Mapping[str, Any]]],
) -> Any:
    request = insights.current_request
    params = dict(request.query_params or {})
    try:
        body = make(_service(), params, datetime.now(UTC).date())
    except InvalidRange as exc:
        raise BadRequestError(str(exc)) from None
    if "text/csv" in (request.headers.get("accept") or ""):
        return Response(
            body=to_csv(flat(table(body))), status_code=200, headers={"Content-Type": "text/csv; charset=utf-8"}
        )
    return body


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns += [name for name in row if name not in columns]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, restval="", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({name: _cell(value) for name, value in row.items()})
    return out.getvalue()


def _cell(value: Any) -> Any:
    """A cell a spreadsheet will not run: text starting with = + - @ gets a leading quote."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return "" if value is None else value


@insights.route("/insights/overview", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def overview() -> Any:
    return _answer(lambda s, p, t: s.overview(p, t), lambda body: body["rows"])


@insights.route("/insights/reputation", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def reputation() -> Any:
    return _answer(lambda s, p, t: s.reputation(p, t), lambda body: body["days"])


@insights.route("/insights/roi", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def roi() -> Any:
    def table(body: dict[str, Any]) -> list[dict[str, Any]]:
        rows = [
            {"scope": "all", "name": "", "first_response": body["first_response"], "resolution": body["resolution"]}
        ]
        for scope in ("channels", "teams", "agents"):
            rows += [{"scope": scope[:-1], "name": name, **figures} for name, figures in body[scope].items()]
        return rows

    return _answer(lambda s, p, t: s.roi(p, t), table)


@insights.route("/insights/topics", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def topics() -> Any:
    from chalicelib.dependencies import topics as service

    def table(body: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**row, "examples": [example["console"] for example in row["examples"]]} for row in body["rows"]]

    return _answer(lambda _, p, t: service().report(p, t), table)


@insights.route("/insights/segments", methods=["GET"], authorizer=ops_authorizer)
@requires(Role.SUPERVISOR)
def segments() -> Any:
    from chalicelib.dependencies import segments as service

    return _answer(lambda _, p, t: service(strict=False).report(p, t), lambda body: body["rows"])
