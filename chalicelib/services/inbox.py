"""The console's inbox: views of the cases with what each row shows, the unread count, and who
else has a case open. The JSON API's `GET /cases` is the same view (services/case_ops.py).

Unread: a case is unread while the customer's newest message on it is newer than the newest one
anyone has seen on the case page (`viewing` marks it), than the brand's latest answer and than its
resolution. The count in the tab title is the open cases that are unread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import iso
from chalicelib.rules.cases import ASSIGNEE_WORDS
from chalicelib.rules.inbox import CaseSummary, InboxQuery, InboxRow, InboxSort, LatestMessage, row
from chalicelib.services.customers import InvalidRequest

PAGE = 50
UNREAD_CAP = 99
VIEWING_SECONDS = 60  # a look lasts this long; the case page looks again well before
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")  # as the analysis names them: en, pt, zh-TW
# A principal id as the authorizer makes them (`cognito:<username>`, `ops-token`): printable, no spaces.
_PRINCIPAL = re.compile(r"[^\s\x00-\x1f\x7f]{1,256}")


class CaseNotFound(LookupError):
    pass


class InboxRepository(Protocol):
    def cases(
        self, query: InboxQuery, limit: int, cursor: str | None = None
    ) -> tuple[list[CaseSummary], str | None]: ...

    def whole(self, cases: Sequence[CaseSummary]) -> dict[str, Case]: ...

    def details(self, cases: Sequence[CaseSummary]) -> tuple[dict[str, str | None], dict[str, LatestMessage]]: ...

    def unread_count(self, cap: int) -> int: ...

    def mark_seen(self, case_id: str) -> bool: ...

    def look(self, case_id: str, principal: str, now: datetime, seconds: int) -> list[tuple[str, datetime]]: ...


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"cases": [each.to_dict() for each in self.rows], "next_cursor": self.next_cursor}


@dataclass(frozen=True)
class Viewer:
    principal: str
    until: datetime

    def to_dict(self) -> dict[str, str]:
        return {"principal": self.principal, "until": iso(self.until)}


def inbox_query(params: Mapping[str, str], me: str, sort: InboxSort = InboxSort.WAITING) -> InboxQuery:
    """A view from query parameters: `status` (open, responded, resolved; open by default), `sort`
    (waiting, due, newest; `sort` by default), `channel`, `team`, `priority`, `intent`, `language`,
    `assignee` (`mine`, `unassigned`, `anyone` or a principal id; anyone by default). `me` is the
    caller's principal id, which `mine` means. Raises InvalidRequest saying which is wrong."""
    status = CaseStatus(_choice(params, "status", [s.value for s in CaseStatus], CaseStatus.OPEN.value))
    order = InboxSort(_choice(params, "sort", [s.value for s in InboxSort], sort.value))
    priority = _choice(params, "priority", [p.value for p in Priority], "", upper=True)
    intent = _choice(params, "intent", [i.value for i in Intent], "")
    raw_assignee = (params.get("assignee") or "").strip()
    assignee: str | None = None
    if raw_assignee.lower() == "mine":
        assignee = me
    elif raw_assignee and raw_assignee.lower() not in ("anyone", "unassigned"):
        assignee = principal_id(raw_assignee, "assignee")
    return InboxQuery(
        status=status,
        sort=order,
        platform=_matching(params, "channel", _NAME, "a platform name such as messenger"),
        team=_matching(params, "team", _NAME, "a team name such as support"),
        priority=Priority(priority) if priority else None,
        intent=Intent(intent) if intent else None,
        language=_matching(params, "language", _LANGUAGE, "a language code such as en or zh-TW", lower=False),
        assignee=assignee,
        unassigned=raw_assignee.lower() == "unassigned",
    )


def inbox(
    store: InboxRepository,
    query: InboxQuery,
    limit: int = PAGE,
    cursor: str | None = None,
    now: datetime | None = None,
) -> InboxPage:
    """A page of the view, each row with its customer's name and newest message (raises BadCursor
    for a cursor not issued for this order)."""
    found, next_cursor = store.cases(query, limit, cursor)
    names, latest = store.details(found)
    moment = now or datetime.now(UTC)
    return InboxPage(
        [row(case, names.get(case.customer_id), latest.get(case.case_id), moment) for case in found], next_cursor
    )


def unread_count(store: InboxRepository, cap: int = UNREAD_CAP) -> int:
    """How many open cases have a customer message nobody has seen (the inbox's tab title):
    exact up to `cap`; `cap` + 1 means more than `cap` (show "99+")."""
    return store.unread_count(cap)


def viewing(store: InboxRepository, case_id: str, principal: str, now: datetime | None = None) -> list[Viewer]:
    """The case page's poll: `principal` has the case open for the next VIEWING_SECONDS (so its
    messages so far are no longer unread); returns the others who have it open, by principal id.
    Raises CaseNotFound."""
    moment = now or datetime.now(UTC)
    if not store.mark_seen(case_id):
        raise CaseNotFound(f"no case {case_id}")
    return [Viewer(other, until) for other, until in store.look(case_id, principal, moment, VIEWING_SECONDS)]


def principal_id(raw: str, name: str) -> str:
    """A principal id given by a person (an assignee): printable, without spaces, and none of the
    words the inbox gives a meaning to. Whether such a person exists is not checked."""
    value = raw.strip()
    if not _PRINCIPAL.fullmatch(value) or value.lower() in ASSIGNEE_WORDS:
        raise InvalidRequest(f"{name}: a principal id such as cognito:ana@example.com")
    return value


def _choice(params: Mapping[str, str], name: str, allowed: list[str], default: str, upper: bool = False) -> str:
    raw = (params.get(name) or "").strip()
    value = (raw.upper() if upper else raw.lower()) if raw else default
    if value and value not in allowed:
        raise InvalidRequest(f"{name}: one of {', '.join(allowed)}")
    return value


def _matching(
    params: Mapping[str, str], name: str, pattern: re.Pattern[str], example: str, lower: bool = True
) -> str | None:
    value = (params.get(name) or "").strip()
    value = value.lower() if lower else value
    if not value:
        return None
    if not pattern.fullmatch(value):
        raise InvalidRequest(f"{name}: {example}")
    return value
