"""The customers' pages: search, the customer's 360 view across every platform and every customer
linked to them, and linking, unlinking and dismissing suggested links (a person always confirms:
nothing merges by itself). A search query is customer data (a name, an address, a number): the
search form POSTs it, so it is in no URL, no browser history and no request log line."""

from __future__ import annotations

from typing import Any

from chalice.app import Response

from chalicelib.console.web import FORM, console, error, form, is_htmx, page, query, redirect, render, signed_in, url
from chalicelib.models.access import Role


@console.route("/console/customers", methods=["GET"])
@page(Role.AGENT)
def customers_page() -> Response:
    """The search form (`?link_from=<customer id>`: to pick a customer to link to that one)."""
    return _search("", query().get("link_from", ""))


@console.route("/console/customers", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def search_customers() -> Response:
    fields = form()
    return _search(fields.get("q", ""), fields.get("link_from", ""))


def _search(q: str, link_from: str) -> Response:
    from chalicelib.dependencies import customer_directory
    from chalicelib.services.customers import InvalidRequest
    from chalicelib.services.directory import SearchUnavailable

    q = q.strip()
    results: list[dict[str, Any]] = []
    problem = None
    if q:
        try:
            results = [match.to_dict() for match in customer_directory().search(q, 20)]
        except InvalidRequest as exc:
            problem = str(exc).removeprefix("q: ").capitalize() + "."
        except SearchUnavailable:
            problem = "Search is unavailable just now; try again in a minute."
    link_from = link_from.strip()
    if link_from:
        from chalicelib.dependencies import customer_store

        # Only a customer that exists, so the page's link forms can only name a customer (a
        # crafted value would otherwise steer them at another console action).
        link_from = link_from if customer_store().customer(link_from) is not None else ""
    results = [result for result in results if result["customer_id"] != link_from]
    template = "customer_results.html" if is_htmx() else "customers.html"
    return render(
        template, active="customers", q=q, results=results, problem=problem, searched=bool(q), link_from=link_from
    )


def _history(customer_id: str) -> dict[str, Any] | None:
    from chalicelib.api.ops import reply_states
    from chalicelib.dependencies import customer_records, customer_store, link_store
    from chalicelib.services import links

    return links.linked_history(
        customer_store(), link_store(), customer_records(), customer_id, limit=50, replies=reply_states
    )


@console.route("/console/customers/{customer_id}", methods=["GET"])
@page(Role.AGENT)
def customer_page(customer_id: str) -> Response:
    from chalicelib.console import panel
    from chalicelib.dependencies import customer_records, customer_store, link_store, reply_store
    from chalicelib.services import links

    profile = panel.customer_panel(customer_id)
    history = _history(customer_id)
    linking = links.links_view(link_store(), customer_store(), customer_id)
    if profile is None or history is None or linking is None:
        return error(404, "There is no such customer (perhaps erased).")
    names = {person["customer_id"]: person for person in history["customers"]}
    return render(
        "customer.html",
        active="customers",
        customer=profile,
        history=history,
        names=names,
        linking=linking,
        alerts=[alert.to_dict() for alert in customer_records().alerts(customer_id)],
        replies=[reply.to_dict() for reply in reply_store().of_customer(customer_id)],
        problem=None,
    )


def _back(customer_id: str, problem: str | None = None, status: int = 200) -> Response:
    if problem is None:
        return redirect(url(f"/customers/{customer_id}"))
    return error(status, problem)


@console.route("/console/customers/{customer_id}/links", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def link_customers(customer_id: str) -> Response:
    from chalicelib.dependencies import audit_trail, customer_store, link_store
    from chalicelib.models.directory import LinkRefused
    from chalicelib.services import links
    from chalicelib.services.customers import InvalidRequest

    try:
        other = links.parse_link({"customer_id": form().get("customer_id", "")})
        links.link(link_store(), customer_store(), audit_trail(), signed_in().principal, customer_id, other)
    except InvalidRequest as exc:
        return _back(customer_id, str(exc), 400)
    except LinkRefused as exc:
        return _back(customer_id, str(exc), exc.status)
    return _back(customer_id)


@console.route("/console/customers/{customer_id}/links/{other_id}/unlink", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def unlink_customers(customer_id: str, other_id: str) -> Response:
    from chalicelib.dependencies import audit_trail, link_store
    from chalicelib.services import links

    if not links.unlink(link_store(), audit_trail(), signed_in().principal, customer_id, other_id):
        return _back(customer_id, "These customers are not linked.", 404)
    return _back(customer_id)


@console.route("/console/customers/{customer_id}/suggestions/{other_id}/dismiss", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def dismiss_suggestion(customer_id: str, other_id: str) -> Response:
    from chalicelib.dependencies import audit_trail, link_store
    from chalicelib.services import links

    if not links.dismiss(link_store(), audit_trail(), signed_in().principal, customer_id, other_id):
        return _back(customer_id, "There is no such suggestion.", 404)
    return _back(customer_id)
