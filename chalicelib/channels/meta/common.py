"""What the Meta readers share: the delivery being read and how to walk its entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from chalicelib.channels import payload as p
from chalicelib.channels.base import ParseResult


class ReaderBase:
    """Walks one delivery; each item is read on its own so one odd item cannot sink the rest."""

    def __init__(self, received_at: datetime, result: ParseResult) -> None:
        self.received_at = received_at
        self.result = result

    def _each(self, entry: dict[str, Any], key: str, path: str, handler: Any, *args: Any) -> None:
        for index, item in enumerate(p.items(entry, key, path)):
            self.result.guard(f"{path}.{key}[{index}]", handler, item, *args)

    def _changes(self, entry: dict[str, Any], path: str) -> list[tuple[dict[str, Any], str]]:
        """Meta's examples show both `changes[]` and a bare `field`/`value` on the entry."""
        found = []
        for index, change in enumerate(p.items(entry, "changes", path)):
            found.append((change, f"{path}.changes[{index}]"))
        if "field" in entry and "value" in entry:
            found.append((entry, path))
        return found

    def _entry_time(self, entry: dict[str, Any], path: str) -> datetime:
        if entry.get("time") is None:
            return self.received_at
        return p.from_epoch_guess(p.number(entry, "time", path), f"{path}.time")


def attachment_id(value: Any) -> str | None:
    """Ids arrive as strings or as JSON numbers; anything else is no id."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value) or None


SOCIALCRM_METADATA = "socialcrm:"


def sent_from_socialcrm(metadata: str | None) -> str | None:
    """The reply id socialcrm attached to a message it sent (Messenger's `metadata`, WhatsApp's
    `biz_opaque_callback_data`), which the platform hands back with the echo or status."""
    if metadata and metadata.startswith(SOCIALCRM_METADATA):
        reply_id = metadata[len(SOCIALCRM_METADATA) :]
        return reply_id or None
    return None
