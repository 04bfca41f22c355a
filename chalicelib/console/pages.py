"""The agent's pages: the inbox, a case with its conversation and reply box, and alerts.

Every route is a `page` (session, role, CSRF on POST: console/web.py) and calls the same services
as the JSON API, so a reply sent here is the reply the API would have sent, audited the same way."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from chalice.app import Response

from chalicelib.console.web import (
    FORM,
    console,
    error,
    form,
    is_htmx,
    now,
    page,
    query,
    redirect,
    render,
    signed_in,
    url,
)
from chalicelib.models.access import Role

INBOX_REFRESH_SECONDS = 15
CASE_REFRESH_SECONDS = 10


def _params() -> dict[str, str]:
    return {key: value for key, value in query().items() if value}


@console.route("/console", methods=["GET"])  # API Gateway and chalice route /console/ here too
@page(Role.AGENT)
def inbox() -> Response:
    from chalicelib.console import inbox as listing

    params = _params()
    view = listing.view(params, signed_in().principal.id, now())
    template = "inbox_rows.html" if is_htmx() and params.get("fragment") == "rows" else "inbox.html"
    return render(template, active="inbox", view=view, params=params, refresh=INBOX_REFRESH_SECONDS)


@console.route("/console/cases/{case_id}", methods=["GET"])
@page(Role.AGENT)
def case_page(case_id: str) -> Response:
    context = _case_context(case_id)
    if context is None:
        return error(404, "There is no such case.")
    fragment = query().get("fragment")
    if is_htmx() and fragment == "conversation":
        return render("case_conversation.html", oob=True, **context)  # the status in the header too
    return render("case.html", active="inbox", **context)


def _case_context(case_id: str) -> dict[str, Any] | None:
    from chalicelib.console import panel, queries
    from chalicelib.dependencies import case_store, reply_desk, reply_store
    from chalicelib.services.replies import CaseNotFound

    case = case_store().get(case_id)
    if case is None:
        return None
    replies = reply_store().of_customer(case.customer_id, case_id)
    try:
        options = reply_desk().options(case_id, now())
    except CaseNotFound:
        return None
    from chalicelib.dependencies import note_store

    notes = [queries.note_bubble(note) for note in note_store().of_customer(case.customer_id, case_id)]
    return {
        "case": case,
        "case_view": case.to_dict(),
        "bubbles": sorted([*queries.conversation(case, replies), *notes], key=lambda bubble: bubble.at),
        "options": options,
        "customer": panel.customer_panel(case.customer_id, exclude_case=case_id),
        "canned": panel.canned(),
        "teams": _teams(),
        "refresh": CASE_REFRESH_SECONDS,
        "problem": None,
        "refusal": None,
        "draft": "",
        "reply_token": secrets.token_urlsafe(12),  # one reply per box, however often it is submitted
        "pending": any(reply.state.value in ("queued", "sending", "sent") for reply in replies),
    }


@console.route("/console/cases/{case_id}/reply", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def case_reply(case_id: str) -> Response:
    """The reply box: a reply (or a WhatsApp template) goes through the reply desk exactly as
    `POST /cases/{id}/replies` does; the box's own id makes a double click one reply."""
    from chalicelib.dependencies import audit_trail, reply_desk
    from chalicelib.models.reply import Reply
    from chalicelib.ports import QueueUnavailable
    from chalicelib.services import audit
    from chalicelib.services.replies import CaseNotFound, InvalidReply, ReplyRefused, parse_request
    from chalicelib.store.replies import CustomerGone

    fields = form()
    who = signed_in().principal
    body: dict[str, Any] = {"client_reply_id": fields.get("client_reply_id") or None}
    if fields.get("template_name"):
        parameters = [p.strip() for p in fields.get("template_parameters", "").split("\n") if p.strip()]
        body["template"] = {
            "name": fields["template_name"],
            "language": fields.get("template_language", ""),
            "parameters": parameters,
        }
    else:
        body["text"] = fields.get("text", "")
    if fields.get("visibility") in ("public", "private"):
        body["visibility"] = fields["visibility"]
    body = {key: value for key, value in body.items() if value is not None}

    def recorded(reply: Reply) -> None:
        detail = {"reply_id": reply.reply_id, "platform": reply.platform}
        audit.record(audit_trail(), who, "reply.create", f"case:{case_id}", detail)

    problem: str | None = None
    refusal: dict[str, Any] | None = None
    try:
        reply_desk().compose(case_id, parse_request(body), who.id, now(), created=recorded)
    except InvalidReply as exc:
        problem = str(exc)
    except (CaseNotFound, CustomerGone):
        return error(404, "There is no such case.")
    except ReplyRefused as refused:
        refusal = refused.to_dict()
    except QueueUnavailable:
        problem = "The reply could not be queued just now. Send it again: it will go once."
    if problem is None and refusal is None and fields.get("resolve") == "1":
        _change_status(case_id, "resolved")
    kept = fields.get("text", "") if problem is not None or refusal is not None else ""  # the draft, not lost
    return _case_main(case_id, 422, problem, refusal=refusal, draft=kept)


def _case_main(case_id: str, refused_status: int, problem: str | None, **extra: Any) -> Response:
    """The case's main column again after an action (what htmx swaps in), saying why the action
    did not happen if it did not: `refused_status` then, else 200."""
    context = _case_context(case_id)
    if context is None:
        return error(404, "There is no such case.")
    context.update(problem=problem, **extra)
    refused = problem is not None or extra.get("refusal") is not None
    return render("case_main.html", status=refused_status if refused else 200, **context)


def _teams() -> tuple[str, ...]:
    from chalicelib.console.inbox import teams

    return teams()


def _change_status(case_id: str, status: str) -> str | None:
    """None when it changed, else why not (said to the agent as it is)."""
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.dependencies import audit_trail, case_store, routing
    from chalicelib.models.case import CaseStatus
    from chalicelib.rules.routing import RoutingError
    from chalicelib.services import audit, case_ops
    from chalicelib.services.customers import InvalidRequest

    who = signed_in().principal
    try:
        case_ops.change_status(case_store(), routing(), case_id, CaseStatus(status), who.id, datetime.now(UTC))
    except InvalidRequest as exc:
        return str(exc)
    except case_ops.CaseNotFound:
        return "There is no such case."
    except (RoutingError, RoutingUnavailable):
        return "The routing document is unavailable; try again in a minute."
    audit.record(audit_trail(), who, "case.status", f"case:{case_id}", {"status": status})
    return None


@console.route("/console/cases/{case_id}/status", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def case_status(case_id: str) -> Response:
    wanted = form().get("status", "")
    if wanted not in ("resolved", "responded", "open"):
        return error(400, "Choose resolved, responded or open (reopen).")
    problem = _change_status(case_id, wanted)
    if not is_htmx():
        return redirect(url(f"/cases/{case_id}")) if problem is None else error(409, problem)
    return _case_main(case_id, 409, problem)


@console.route("/console/alerts", methods=["GET"])
@page(Role.AGENT)
def alerts_page() -> Response:
    from chalicelib.console import panel
    from chalicelib.ports import BadCursor
    from chalicelib.services.customers import InvalidRequest

    params = _params()
    try:
        view = panel.alerts(params)
    except (InvalidRequest, BadCursor) as exc:
        return error(400, str(exc))
    from chalicelib.models.alert import AlertStatus

    statuses = [status.value for status in AlertStatus]
    return render("alerts.html", active="alerts", view=view, params=params, statuses=statuses)


@console.route("/console/alerts/{alert_id}/ack", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def alert_ack(alert_id: str) -> Response:
    from chalicelib.dependencies import alert_store, audit_trail
    from chalicelib.services import audit
    from chalicelib.services.notify import AlertNotFound, acknowledge

    who = signed_in().principal
    try:
        acked = acknowledge(alert_store(), alert_id, who.id, now())
    except AlertNotFound:
        return error(404, "There is no such alert.")
    audit.record(audit_trail(), who, "alert.ack", f"alert:{alert_id}")
    if is_htmx():
        from chalicelib.console import panel

        (row,) = panel.named([acked.to_dict()])
        return render("alert_row.html", alert=row)
    return redirect(url("/alerts"))


@console.route("/console/cases/{case_id}/assign", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def case_assign(case_id: str) -> Response:
    """Assign to me, to an agent (supervisors), to nobody, or to a team: case_ops.assign decides
    who may, as for `POST /cases/{id}/assign`."""
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.dependencies import audit_trail, case_store, routing
    from chalicelib.rules.routing import RoutingError
    from chalicelib.services import case_ops
    from chalicelib.services.customers import InvalidRequest

    fields = form()
    who = signed_in().principal
    body: dict[str, Any] = {"assignee": fields.get("assignee") or None}
    if fields.get("team"):
        body["team"] = fields["team"]
    problem = None
    try:
        wanted = case_ops.assignment(body, who.id)
        case_ops.assign(case_store(), audit_trail(), routing, case_id, wanted, who, datetime.now(UTC))
    except (InvalidRequest, case_ops.AssignmentRefused) as exc:
        problem = str(exc)
    except case_ops.CaseNotFound:
        return error(404, "There is no such case.")
    except (RoutingError, RoutingUnavailable):
        problem = "The routing document is unavailable; try again in a minute."
    if not is_htmx() and problem is None:
        return redirect(url(f"/cases/{case_id}"))
    return _case_main(case_id, 409, problem)


@console.route("/console/cases/{case_id}/viewing", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def case_viewing(case_id: str) -> Response:
    """The case page's poll: I have it open (so its messages are seen); who else has."""
    from chalicelib.dependencies import inbox_store
    from chalicelib.services import inbox

    try:
        others = inbox.viewing(inbox_store(), case_id, signed_in().principal.id, now())
    except inbox.CaseNotFound:
        return error(404, "There is no such case.")
    return render("viewers.html", viewers=[viewer.principal for viewer in others], case_id=case_id)


@console.route("/console/cases/{case_id}/notes", methods=["POST"], content_types=FORM)
@page(Role.AGENT)
def case_note(case_id: str) -> Response:
    """A private note for colleagues: kept on the case, in the customer's partition, never sent."""
    from chalicelib.dependencies import audit_trail, case_store, note_store
    from chalicelib.models.note import MAX_NOTE, Note
    from chalicelib.services import audit

    case = case_store().get(case_id)
    if case is None:
        return error(404, "There is no such case.")
    text = form().get("note", "").strip()
    problem = None
    if not text:
        problem = "Write the note first."
    elif len(text) > MAX_NOTE:
        problem = f"A note holds at most {MAX_NOTE} characters."
    else:
        who = signed_in().principal
        note_store().add(Note(case_id, case.customer_id, text, who.id, now()))
        audit.record(audit_trail(), who, "case.note", f"case:{case_id}")
    return _case_main(case_id, 422, problem)
