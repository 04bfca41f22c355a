"""Cursors for lists merged over the worklist index's partitions: the last sort key returned,
opaque to callers. A cursor that does not decode to a sort key is the caller's mistake (400)."""

from __future__ import annotations

import base64
import binascii

from chalicelib.ports import BadCursor


def encode(sort_key: str) -> str:
    return base64.urlsafe_b64encode(sort_key.encode()).decode().rstrip("=")


def decode(cursor: str | None) -> str | None:
    if not cursor:
        return None
    try:
        value = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadCursor("cursor: not one this API returned") from None
    if "#" not in value:
        raise BadCursor("cursor: not one this API returned")
    return value
