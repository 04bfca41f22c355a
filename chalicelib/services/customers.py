"""Read models for the ops API: the 360-degree view of a customer and their timeline."""

from __future__ import annotations

import re
from typing import Any, Protocol

from chalicelib.models.customer import Customer, Identity, StoredInteraction

LATEST_IN_VIEW = 20
MAX_PAGE = 100


class CustomerReader(Protocol):
    def customer_for(self, platform: str, user_id: str) -> str | None: ...

    def customer(self, customer_id: str) -> Customer | None: ...

    def identities(self, customer_id: str) -> list[Identity]: ...

    def interactions(
        self, customer_id: str, limit: int, cursor: str | None = None
    ) -> tuple[list[StoredInteraction], str | None]: ...


class InvalidRequest(ValueError):
    pass


def page_size(raw: str | None, default: int = 20) -> int:
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit: a whole number from 1 to {MAX_PAGE}")
    return int(raw)


def customer_view(reader: CustomerReader, customer_id: str) -> dict[str, Any] | None:
    customer = reader.customer(customer_id)
    if customer is None:
        return None
    latest, cursor = reader.interactions(customer_id, LATEST_IN_VIEW)
    return {
        **customer.to_dict(),
        "identities": [identity.to_dict() for identity in reader.identities(customer_id)],
        "latest_interactions": [interaction.to_dict() for interaction in latest],
        "more_interactions_cursor": cursor,
    }


def timeline(reader: CustomerReader, customer_id: str, limit: int, cursor: str | None) -> dict[str, Any] | None:
    if reader.customer(customer_id) is None:
        return None
    page, next_cursor = reader.interactions(customer_id, limit, cursor)
    return {"interactions": [interaction.to_dict() for interaction in page], "next_cursor": next_cursor}


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
