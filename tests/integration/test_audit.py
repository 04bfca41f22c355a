"""The audit trail on moto: who did what, to what, when, listed newest first for supervisors, with
filters and pages; entries are written by the routes from the signed-in principal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chalicelib import dependencies
from chalicelib.models.access import Principal, Role
from chalicelib.services import audit
from tests.helpers import call


def test_supervisors_list_the_trail_newest_first_with_filters_and_pages(client, aws) -> None:
    trail = dependencies.audit_trail()
    ana, bo = Principal("cognito:ana", Role.AGENT), Principal("cognito:bo", Role.ADMIN)
    for index in range(5):
        audit.record(trail, ana, "alert.ack", f"alert:{index}")
    audit.record(trail, bo, "customer.export", "customer:c-1", {"interactions": 3})

    status, page = call(client, "get", "/audit?limit=4", role="supervisor")
    assert status == 200
    entries = page["entries"]
    assert [e["action"] for e in entries] == ["customer.export", "alert.ack", "alert.ack", "alert.ack"]
    assert entries[0] == {
        "at": entries[0]["at"],
        "principal": "cognito:bo",
        "role": "admin",
        "action": "customer.export",
        "subject": "customer:c-1",
        "detail": {"interactions": 3},
    }
    assert [e["at"] for e in entries] == sorted((e["at"] for e in entries), reverse=True)
    status, rest = call(client, "get", f"/audit?limit=4&cursor={page['next_cursor']}", role="supervisor")
    assert [e["subject"] for e in rest["entries"]] == ["alert:1", "alert:0"]
    assert rest["next_cursor"] is None

    _, only = call(client, "get", "/audit?action=customer.export", role="supervisor")
    assert [e["subject"] for e in only["entries"]] == ["customer:c-1"]
    _, one = call(client, "get", "/audit?subject=alert:3", role="supervisor")
    assert [e["subject"] for e in one["entries"]] == ["alert:3"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    assert call(client, "get", f"/audit?from={yesterday}&to={yesterday}", role="supervisor")[1]["entries"] == []


def test_the_trail_refuses_bad_ranges_and_agents(client, aws) -> None:
    assert call(client, "get", "/audit?from=2026-12-07&to=2026-12-01", role="supervisor")[0] == 400
    assert call(client, "get", "/audit?from=yesterday", role="supervisor")[0] == 400
    assert call(client, "get", "/audit?from=2024-01-01&to=2026-01-01", role="supervisor")[0] == 400
    assert call(client, "get", "/audit?cursor=not-ours", role="supervisor")[0] == 400
    assert call(client, "get", "/audit", role="agent")[0] == 403
