"""Read models for the ops API: the 360-degree view of a customer and their timeline."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from chalicelib.models.customer import Customer, Identity, StoredInteraction
from chalicelib.models.directory import Link
from chalicelib.rules.linking import combine

LATEST_IN_VIEW = 20
MAX_PAGE = 100


class CustomerReader(Protocol):
    def customer_for(self, platform: str, user_id: str) -> str | None: ...

    def customer(self, customer_id: str) -> Customer | None: ...

    def identities(self, customer_id: str) -> list[Identity]: ...

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]: ...


class LinkReader(Protocol):
    def links(self, customer_id: str) -> list[Link]: ...


class InvalidRequest(ValueError):
    pass


def page_size(raw: str | None, default: int = 20) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_PAGE}")
    return int(raw)


# customer id -> {reply id: state} of the replies sent to them from socialcrm
ReplyStates = Callable[[str], Mapping[str, str]]


def customer_view(
    reader: CustomerReader,
    customer_id: str,
    replies: ReplyStates | None = None,
    links: LinkReader | None = None,
    latest: int = LATEST_IN_VIEW,
) -> dict[str, Any] | None:
    """The 360-degree view. With `links`, also `linked` (the customers linked to this one: ids and
    names) and `combined` (figures over this customer and those linked to them directly:
    rules/linking.py)."""
    customer = reader.customer(customer_id)
    if customer is None:
        return None
    page, cursor = reader.interactions(customer_id, latest)
    view = {
        **customer.to_dict(),
        "identities": [identity.to_dict() for identity in reader.identities(customer_id)],
        "latest_interactions": _shown(customer_id, page, replies),
        "more_interactions_cursor": cursor,
    }
    if links is not None:
        found = (reader.customer(link.other_id) for link in links.links(customer_id))
        linked = [other for other in found if other is not None]
        view["linked"] = [
            {"customer_id": other.customer_id, "display_name": other.display_name, "handle": other.handle}
            for other in linked
        ]
        view["combined"] = combine([customer, *linked]).to_dict()
    return view


def timeline(
    reader: CustomerReader, customer_id: str, limit: int, cursor: str | None, replies: ReplyStates | None = None
) -> dict[str, Any] | None:
    if reader.customer(customer_id) is None:
        return None
    page, next_cursor = reader.interactions(customer_id, limit, cursor)
    return {"interactions": _shown(customer_id, page, replies), "next_cursor": next_cursor}


def _shown(customer_id: str, page: list[StoredInteraction], replies: ReplyStates | None) -> list[dict[str, Any]]:
    """The interactions as the API shows them; a reply sent from socialcrm once, with its state
    (read only when the page holds one)."""
    states = replies(customer_id) if replies is not None and any(i.reply_id for i in page) else {}
    shown = []
    for interaction in page:
        item = interaction.to_dict()
        if interaction.reply_id:
            item["reply_state"] = states.get(interaction.reply_id)
        shown.append(item)
    return shown


MAX_SEGMENTS = 20
_SEGMENT = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")


def parse_segments(body: Any) -> frozenset[str]:
    """Segments are names routing rules match (`vip`, `b2b`): lower-case, short, a handful at most."""
    if not isinstance(body, dict) or not isinstance(body.get("segments"), list):
        raise InvalidRequest('body: a JSON object like {"segments": ["vip"]}')
    wanted: set[str] = set()
    for index, raw in enumerate(body["segments"]):
        name = raw.strip().lower() if isinstance(raw, str) else None
        if name is None or not _SEGMENT.fullmatch(name):
            raise InvalidRequest(
                f"segments[{index}]: 1 to 40 of a-z, 0-9, '_' and '-', starting with a letter or digit"
            )
        wanted.add(name)
    if len(wanted) > MAX_SEGMENTS:
        raise InvalidRequest(f"segments: at most {MAX_SEGMENTS}")
    return frozenset(wanted)
