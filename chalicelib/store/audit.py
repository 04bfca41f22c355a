"""The audit trail in DynamoDB: one partition per day (people's actions are few), newest first.
Entries live in their own partitions, so erasing a customer leaves the record of who did what to
them (which holds their random id only); they expire after the stage's audit retention."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import cast

from chalicelib.models.audit import AuditEntry
from chalicelib.store import keys, sort_cursor
from chalicelib.store.models import AuditItem


class AuditStore:
    def __init__(self, retention_days: int) -> None:
        self._retention = timedelta(days=retention_days)

    def record(self, entry: AuditEntry) -> None:
        AuditItem(
            keys.audit(entry.at),
            f"{keys.stamp(entry.at)}#{secrets.token_hex(4)}",
            principal=entry.principal,
            role=entry.role,
            action=entry.action,
            subject=entry.subject,
            detail=entry.detail or None,
            at=entry.at,
            expires_at=entry.at + self._retention,
        ).save()

    def listing(
        self, first: date, last: date, action: str | None, subject: str | None, limit: int, cursor: str | None
    ) -> tuple[list[AuditEntry], str | None]:
        """Newest first from `last` back to `first`; the cursor is the last sort key returned."""
        after = sort_cursor.decode(cursor)
        found: list[AuditItem] = []
        day = last
        while day >= first and len(found) <= limit:
            condition = AuditItem.sk < after if after else None
            filters = None
            if action:
                filters = AuditItem.action == action
            if subject:
                filters = (
                    (filters & (AuditItem.subject == subject)) if filters is not None else AuditItem.subject == subject
                )
            query = AuditItem.query(
                keys.audit(datetime(day.year, day.month, day.day)),
                condition,
                filter_condition=filters,
                scan_index_forward=False,
                limit=limit + 1 - len(found),
            )
            found += list(cast(Iterable[AuditItem], query))
            day -= timedelta(days=1)
        page = found[:limit]
        entries = [
            AuditEntry(item.at, item.principal, item.role, item.action, item.subject, dict(item.detail or {}))
            for item in page
        ]
        return entries, sort_cursor.encode(page[-1].sk) if len(found) > limit and page else None
