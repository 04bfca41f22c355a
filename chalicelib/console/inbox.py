"""The inbox as the agent sees it: the view they chose (services/inbox.py, the same as the JSON
API's `GET /cases`), its rows, and how many open cases wait unread (the tab title)."""

from __future__ import annotations

from collections.abc import Sequence
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
    rows = [row.to_dict() for row in page.rows]
    return {
        "rows": rows,
        "next_cursor": page.next_cursor,
        "unread": inbox.unread_count(inbox_store()),
        "unread_cap": inbox.UNREAD_CAP,
        "problem": problem,
        "statuses": tuple(status.value for status in CaseStatus),
        "sorts": SORTS,
        "assignees": ASSIGNEES,
        "teams": teams(),
        "channels": choices(sorted(BUILTIN_PLATFORMS), rows, "platform", query.platform),
        "priorities": tuple(priority.value for priority in Priority),
        "intents": tuple(intent.value for intent in Intent),
        "languages": choices(LANGUAGES, rows, "language", query.language),
    }


def choices(usual: Sequence[str], rows: list[dict[str, Any]], field: str, chosen: str | None) -> tuple[str, ...]:
    """A filter's options: the usual ones, then what the page's cases hold and what is chosen.
    Channels and languages are open sets (a generic source is any name the stage signs for; a
    customer may write in any language), and the console cannot list them all; without these, a
    forum's cases could not be picked from the list, and a filter chosen by link would show as
    "any" and be dropped by the next change of another filter."""
    extra = {row[field] for row in rows if row.get(field)} | ({chosen} if chosen else set())
    return (*usual, *sorted(extra - set(usual)))


def teams() -> tuple[str, ...]:
    from chalicelib.adapters.routing_source import RoutingUnavailable
    from chalicelib.dependencies import routing
    from chalicelib.rules.routing import RoutingError

    try:
        return routing().teams
    except (RoutingError, RoutingUnavailable):
        return ()
