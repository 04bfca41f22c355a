"""Private notes in the customer's partition (keys: NOTE#<case_id>#<at>#<random>), kept as long as
the customer's interactions are."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import cast

from chalicelib.models.note import Note
from chalicelib.store import keys
from chalicelib.store.models import NoteItem

PREFIX = "NOTE#"


class NoteStore:
    def __init__(self, retention_days: int) -> None:
        self._retention = timedelta(days=retention_days)

    def add(self, note: Note) -> None:
        NoteItem(
            keys.customer(note.customer_id),
            f"{PREFIX}{note.case_id}#{keys.stamp(note.at)}#{secrets.token_hex(4)}",
            case_id=note.case_id,
            text=note.text,
            by=note.by,
            at=note.at,
            expires_at=note.at + self._retention,
        ).save()

    def of_customer(self, customer_id: str, case_id: str | None = None) -> list[Note]:
        """Oldest first; a case's only, when given."""
        prefix = f"{PREFIX}{case_id}#" if case_id else PREFIX
        found = cast(Iterable[NoteItem], NoteItem.query(keys.customer(customer_id), NoteItem.sk.startswith(prefix)))
        return [Note(item.case_id, customer_id, item.text, item.by, item.at) for item in found]
