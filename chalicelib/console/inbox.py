"""The inbox as the agent sees it: the view they chose (services/inbox.py, the same as the JSON
API's `GET /cases`), its rows, and how many open cases wait unread (the tab title)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.models.case import CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import BUILTIN_PLATFORMS

SORTS = {"waiting": "Oldest waiting first", "due": "Due soonest", "newest": "Newest"}
ASSIGNEES = {"anyone": "Anyone", "mine": "Mine", "unassigned": "Unassigned"}
LANGUAGES = ("en", "pt", "es", "fr", "de", "it", "pl", "cs")


def view(params: dict[str, str], principal_id: str, now: datetime) -> dict[str, Any]:
    """Rows for the filters in `params`, oldest waiting first unless another sort is asked; a
    filter that is not valid is said, and the inbox shows the default view instead."""
    from chalicelib.dependencies import inbox_store
    from chalicelib.ports import BadCursor
    from chalicelib.services import inbox
    from chalicelib.services.customers import InvalidRequest

    problem = None
    try:
        query = inbox.inbox_query(params, principal_id)
        page = inbox.inbox(inbox_store(), query, inbox.PAGE, params.get("cursor"), now)
    except (InvalidRequest, BadCursor) as exc:
        problem = str(exc)
        query = inbox.inbox_query({}, principal_id)
        page = inbox.inbox(inbox_store(), query, inbox.PAGE, None, now)
    return {
        "rows": [row.to_dict() for row in page.rows],
        "next_cursor": page.next_cursor,
        "unread": inbox.unread_count(inbox_store()),
        "unread_cap": inbox.UNREAD_CAP,
        "problem": problem,
        "statuses": tuple(status.value for status in CaseStatus),
        "sorts": SORTS,
        "assignees": ASSIGNEES,
        "teams": teams(),
        "channels": tuple(sorted(BUILTIN_PLATFORMS)),
        "priorities": tuple(priority.value for priority in Priority),
        "intents": tuple(intent.value for intent in Intent),
        "languages": LANGUAGES,
    }


def teams() -> tuple[str, ...]:
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.dependencies import routing
    from chalicelib.rules.routing import RoutingError

    try:
        return routing().teams
    except (RoutingError, RoutingUnavailable):
        return ()
