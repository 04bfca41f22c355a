"""The supervisor's and the admin's pages: the audit trail, the routing rules as a readable
table (editing stays the validated, versioned document: tools/routing.py), and a customer's
export and erasure, each behind a confirmation that names the customer."""

from __future__ import annotations

import json
from typing import Any

from chalice.app import Response

from chalicelib.console.web import FORM, console, error, form, now, page, query, render, signed_in, url
from chalicelib.models.access import Role


@console.route("/console/supervisor", methods=["GET"])
@page(Role.SUPERVISOR)
def supervisor() -> Response:
    from chalicelib.dependencies import audit_trail
    from chalicelib.ports import BadCursor
    from chalicelib.services import audit
    from chalicelib.services.customers import InvalidRequest

    params = {key: value for key, value in query().items() if value and key in ("from", "to", "action", "cursor")}
    problem = None
    try:
        trail = audit.listing(audit_trail(), params, now().date())
    except (InvalidRequest, BadCursor) as exc:
        problem, trail = str(exc), {"entries": [], "next_cursor": None}
    return render(
        "supervisor.html", active="supervisor", trail=trail, params=params, problem=problem, routing=_routing_table()
    )


def _routing_table() -> dict[str, Any]:
    """The rules in the order they are tried, each condition written out."""
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.dependencies import routing
    from chalicelib.rules.routing import RoutingError

    try:
        document = routing()
    except (RoutingError, RoutingUnavailable) as exc:
        return {"error": str(exc), "rules": [], "version": None, "sla": {}}
    rows = []
    for position, rule in enumerate(document.rules, start=1):
        when = rule.when
        conditions = [
            (name, ", ".join(sorted(str(v) for v in values)))
            for name, values in (
                ("platform", when.platform),
                ("kind", when.kind),
                ("intent", when.intent),
                ("sentiment", when.sentiment),
                ("language", when.language),
                ("segment", when.segment),
                ("entity type", when.entity_types),
            )
            if values
        ]
        if when.min_confidence:
            conditions.append(("confidence at least", f"{when.min_confidence:g}"))
        if when.min_sentiment_confidence:
            conditions.append(("sentiment confidence at least", f"{when.min_sentiment_confidence:g}"))
        if when.min_churn_risk is not None:
            conditions.append(("churn risk at least", f"{when.min_churn_risk:g}"))
        if when.keywords:
            conditions.append(("keywords", ", ".join(pattern.pattern for pattern in when.keywords)))
        if when.entities:
            conditions.append(("entities", ", ".join(when.entities)))
        rows.append(
            {
                "position": position,
                "name": rule.name,
                "conditions": conditions,
                "team": rule.team,
                "priority": rule.priority.value,
                "actions": [action.value for action in rule.actions],
            }
        )
    return {
        "error": None,
        "version": document.version,
        "rules": rows,
        "sla": {priority.value: minutes for priority, minutes in document.sla_minutes.items()},
    }


@console.route("/console/customers/{customer_id}/privacy", methods=["GET"])
@page(Role.ADMIN)
def privacy_page(customer_id: str) -> Response:
    from chalicelib.dependencies import customer_store

    customer = customer_store().customer(customer_id)
    if customer is None:
        return error(404, "There is no such customer (perhaps already erased).")
    return render(
        "privacy.html", active="customers", customer=customer.to_dict(), confirm=_confirmation(customer.to_dict())
    )


def _confirmation(customer: dict[str, Any]) -> str:
    """What the admin types to confirm: the customer's name as shown, else their id."""
    return str(customer.get("display_name") or customer.get("handle") or customer["customer_id"]).strip()


@console.route("/console/customers/{customer_id}/export", methods=["POST"], content_types=FORM)
@page(Role.ADMIN)
def export_customer(customer_id: str) -> Response:
    """The data subject's export as a JSON download, audited as the API's export is."""
    from chalicelib.dependencies import audit_trail, customer_records, customer_store
    from chalicelib.services import audit, privacy

    customer = customer_store().customer(customer_id)
    if customer is None:
        return error(404, "There is no such customer.")
    if form().get("confirm", "").strip() != _confirmation(customer.to_dict()):
        return error(400, "The name typed does not match the customer's. Nothing was exported.")
    document = privacy.export(customer_store(), customer_records(), customer_id)
    if document is None:
        return error(404, "There is no such customer.")
    counts = {key: len(document[key]) for key in ("identities", "interactions", "cases", "alerts")}
    audit.record(audit_trail(), signed_in().principal, "customer.export", f"customer:{customer_id}", counts)
    return Response(
        body=json.dumps(document, ensure_ascii=False, indent=2),
        status_code=200,
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Content-Disposition": f'attachment; filename="customer-{customer_id}.json"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@console.route("/console/customers/{customer_id}/erase", methods=["POST"], content_types=FORM)
@page(Role.ADMIN)
def erase_customer(customer_id: str) -> Response:
    """Erasure, as `DELETE /customers/{id}`: audited before anything goes and again when done."""
    from chalicelib.dependencies import audit_trail, customer_records, customer_store
    from chalicelib.services import audit, privacy

    customer = customer_store().customer(customer_id)
    if customer is None:
        return error(404, "There is no such customer (perhaps already erased).")
    if form().get("confirm", "").strip() != _confirmation(customer.to_dict()):
        return error(400, "The name typed does not match the customer's. Nothing was erased.")
    who, subject = signed_in().principal, f"customer:{customer_id}"
    audit.record(audit_trail(), who, "customer.erase.requested", subject)
    report = privacy.erase(customer_records(), customer_id)
    if report is None:
        return error(404, "There is no such customer (perhaps already erased).")
    audit.record(audit_trail(), who, "customer.erase", subject, report["erased"])
    return render("erased.html", active="customers", report=report, back=url("/customers"))
