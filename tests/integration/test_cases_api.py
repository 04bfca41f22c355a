"""Cases through the ops API, on moto: a signed Messenger complaint goes through the queue consumer
and opens a case; the customer's next message joins it, the page's echoed reply answers it, an
agent resolves it; segments steer routing. Everything runs the app's own code paths."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.models.interaction import iso
from tests.helpers import call, drain, meta_message, process_queue, tap_all_events
from tools.webhook_client import sign

PAGE = "104000000000077"
PSID = "25000000000000777"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"


def messenger(psid: str, mid: str, text: str, at: datetime, echo: bool = False) -> bytes:
    """A Messenger webhook with one message: the customer's to the page, or the page's reply to
    the customer echoed back (`is_echo`, sender the page), as Meta sends them."""
    return meta_message(PAGE, psid, mid, text, at, echo=echo)


def deliver(client: Any, sqs: Any, env: dict[str, str], secrets: dict[str, Any], *bodies: bytes) -> None:
    """Post each body as Meta would (signed), then let the queue consumer process them in order."""
    for body in bodies:
        request = sign("meta", body, secrets)
        response = client.http.post(request.path, headers=request.headers, body=request.body)
        assert response.status_code == 200, response.body
        assert process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"]) == 1


def customer_id(client: Any, psid: str = PSID) -> str:
    status, found = call(client, "get", f"/identities/messenger/{psid}")
    assert status == 200, found
    return str(found["customer_id"])


def cases_with(client: Any, status: str) -> list[dict[str, Any]]:
    code, page = call(client, "get", f"/cases?status={status}")
    assert code == 200, page
    return list(page["cases"])


def start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)


def test_a_complaint_opens_a_case_the_next_message_joins_and_the_brand_answers(client, sqs, pipeline, secrets) -> None:
    opened = start()
    deliver(client, sqs, pipeline, secrets, messenger(PSID, "mid.c1", COMPLAINT, opened))
    customer = customer_id(client)

    (listed,) = cases_with(client, "open")
    case_id = listed["case_id"]
    assert listed["customer_id"] == customer
    assert (listed["team"], listed["priority"], listed["rule"], listed["intent"]) == (
        "support",
        "P2",
        "complaint",
        "complaint",
    )
    assert listed["opened_at"] == iso(opened)
    assert listed["due_at"] == iso(opened + timedelta(minutes=120))  # P2: two hours to answer
    assert listed["overdue"] is False

    status, case = call(client, "get", f"/cases/{case_id}")
    assert status == 200
    assert case["interactions"] == ["messenger:mid.c1"]
    assert case["status"] == "open"
    assert case["history"] == [{"at": iso(opened), "status": "open", "by": "rule:complaint"}]

    status, page = call(client, "get", f"/customers/{customer}/interactions")
    assert status == 200
    (stored,) = page["interactions"]
    assert stored["intent"]["label"] == "complaint"
    assert 0.5 <= stored["intent"]["confidence"] <= 1.0
    assert stored["intent"]["reasons"]
    assert all(isinstance(reason, str) for reason in stored["intent"]["reasons"])
    assert {k: stored["route"][k] for k in ("team", "priority", "rule")} == {
        "team": "support",
        "priority": "P2",
        "rule": "complaint",
    }
    assert stored["case_id"] == case_id

    status, view = call(client, "get", f"/customers/{customer}")
    assert status == 200
    assert view["segments"] == []
    churn = view["churn"]
    assert set(churn) == {"score", "reasons", "alerting"}
    assert 0 < churn["score"] < 0.7
    assert any("unresolved complaint" in reason for reason in churn["reasons"])
    assert churn["alerting"] is False

    # The customer writes again on the same conversation: the open case grows, no second case.
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger(PSID, "mid.c2", "Still nothing. Where is my parcel?", opened + timedelta(minutes=3)),
    )
    (listed,) = cases_with(client, "open")
    assert listed["case_id"] == case_id
    assert listed["interactions"] == ["messenger:mid.c1", "messenger:mid.c2"]
    _, page = call(client, "get", f"/customers/{customer}/interactions")
    assert [(i["external_id"], i["case_id"]) for i in page["interactions"]] == [
        ("mid.c2", case_id),
        ("mid.c1", case_id),
    ]

    # The page answers in Messenger; Meta echoes the reply to the webhook: the case is responded.
    replied = opened + timedelta(minutes=5)
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger(PSID, "mid.r1", "So sorry! A courier is on the way.", replied, echo=True),
    )
    assert cases_with(client, "open") == []
    (answered,) = cases_with(client, "responded")
    assert answered["case_id"] == case_id
    assert answered["responded_at"] == iso(replied)
    assert answered["responded_by"] == f"messenger:{PAGE}"
    assert answered["interactions"][-1] == "messenger:mid.r1"
    _, page = call(client, "get", f"/customers/{customer}/interactions")
    assert page["interactions"][0]["direction"] == "outbound"
    assert customer_id(client) == customer  # the page did not become a customer of its own
    assert call(client, "get", f"/identities/messenger/{PAGE}")[0] == 404


def test_ops_resolve_a_case_and_the_api_refuses_bad_requests(client, sqs, pipeline, secrets) -> None:
    opened = start()
    deliver(client, sqs, pipeline, secrets, messenger(PSID, "mid.c1", COMPLAINT, opened))
    customer = customer_id(client)
    (listed,) = cases_with(client, "open")
    case_id = listed["case_id"]
    _, before = call(client, "get", f"/customers/{customer}")
    path = f"/cases/{case_id}/status"

    assert call(client, "post", path, {"status": "resolved"}, token=None)[0] == 401
    assert call(client, "post", path, {"status": "resolved"}, token="wrong")[0] == 401
    assert call(client, "get", "/cases?status=open", token=None)[0] == 401
    assert call(client, "get", f"/cases/{case_id}", token=None)[0] == 401
    for bad in ({"status": "closed"}, {"status": "open"}, {}, ["resolved"]):
        status, error = call(client, "post", path, bad)
        assert status == 400, (bad, error)
    # Who and when are the signed-in principal and the server's clock, never what the body claims.
    for claimed in ({"by": "someone-else"}, {"by": ""}, {"at": "2026-01-01T00:00:00Z"}):
        status, error = call(client, "post", path, {"status": "resolved", **claimed})
        assert status == 400, error
        assert "not accepted" in error["Message"]
    assert call(client, "get", "/cases?status=open&limit=0")[0] == 400
    assert call(client, "get", "/cases?status=open&cursor=not-ours")[0] == 400
    assert call(client, "get", "/cases?status=lost")[0] == 400
    assert cases_with(client, "open")[0]["case_id"] == case_id  # nothing above changed it

    unknown = f"{customer}_20260101000000abcdef"
    for missing in (unknown, "not-a-case", f"00000000-0000-0000-0000-000000000000_{case_id.rsplit('_', 1)[1]}"):
        assert call(client, "post", f"/cases/{missing}/status", {"status": "resolved"})[0] == 404
        assert call(client, "get", f"/cases/{missing}")[0] == 404

    before_change = datetime.now(UTC)
    status, resolved = call(client, "post", path, {"status": "resolved"}, role="agent")
    assert status == 200, resolved
    agent = "cognito:agent@example.com"
    assert (resolved["status"], resolved["resolved_by"], resolved["responded_by"]) == ("resolved", agent, agent)
    assert resolved["resolved_at"] >= iso(before_change)  # the server's clock
    assert resolved["history"][-1]["status"] == "resolved"
    assert resolved["history"][-1]["by"] == agent
    assert cases_with(client, "open") == []
    assert [c["case_id"] for c in cases_with(client, "resolved")] == [case_id]
    assert call(client, "get", f"/cases/{case_id}")[1]["status"] == "resolved"
    assert call(client, "post", path, {"status": "resolved"})[0] == 400  # already resolved
    status, trail = call(client, "get", f"/audit?subject=case:{case_id}")
    assert [(e["action"], e["principal"], e["detail"]) for e in trail["entries"]] == [
        ("case.status", agent, {"status": "resolved"})
    ]

    # A resolved complaint no longer counts towards the customer's churn risk.
    _, after = call(client, "get", f"/customers/{customer}")
    assert after["churn"]["score"] < before["churn"]["score"]
    assert not any("unresolved complaint" in reason for reason in after["churn"]["reasons"])

    # The customer's next message opens a new case rather than reviving the resolved one.
    deliver(client, sqs, pipeline, secrets, messenger(PSID, "mid.c3", "It broke again, terrible product", start()))
    (fresh,) = cases_with(client, "open")
    assert fresh["case_id"] != case_id
    assert fresh["interactions"] == ["messenger:mid.c3"]


def test_a_resolved_case_reopened_by_hand_counts_again(client, sqs, pipeline, secrets) -> None:
    deliver(client, sqs, pipeline, secrets, messenger(PSID, "mid.c1", COMPLAINT, start()))
    customer = customer_id(client)
    (listed,) = cases_with(client, "open")
    path = f"/cases/{listed['case_id']}/status"
    assert call(client, "post", path, {"status": "resolved"}, role="agent")[0] == 200
    _, resolved = call(client, "get", f"/customers/{customer}")
    before = datetime.now(UTC)
    status, reopened = call(client, "post", path, {"status": "open"}, role="agent")
    assert status == 200, reopened
    assert reopened["status"] == "open"
    assert reopened["resolved_at"] is None
    assert reopened["due_at"] > iso(before)  # a fresh deadline from now
    assert reopened["history"][-1]["status"] == "reopened"
    assert [c["case_id"] for c in cases_with(client, "open")] == [listed["case_id"]]
    _, after = call(client, "get", f"/customers/{customer}")
    assert any("unresolved complaint" in reason for reason in after["churn"]["reasons"])
    assert after["churn"]["score"] > resolved["churn"]["score"]
    assert call(client, "post", path, {"status": "open"}, role="agent")[0] == 400  # open already


def test_a_vip_segment_routes_the_next_message_by_the_vip_rule(client, sqs, pipeline, secrets) -> None:
    events = tap_all_events(pipeline)
    opened = start()
    deliver(client, sqs, pipeline, secrets, messenger(PSID, "mid.c1", COMPLAINT, opened))
    customer = customer_id(client)
    (listed,) = cases_with(client, "open")
    assert (listed["team"], listed["priority"]) == ("support", "P2")
    drain(sqs, events)

    path = f"/customers/{customer}/segments"
    assert call(client, "put", path, {"segments": ["vip"]}, token=None)[0] == 401
    assert call(client, "put", path, {"segments": ["V I P"]})[0] == 400
    assert call(client, "put", path, {"tags": ["vip"]})[0] == 400
    assert (
        call(client, "put", "/customers/00000000-0000-0000-0000-000000000000/segments", {"segments": ["vip"]})[0] == 404
    )
    status, body = call(client, "put", path, {"segments": ["VIP"]})
    assert (status, body) == (200, {"customer_id": customer, "segments": ["vip"]})
    assert call(client, "get", f"/customers/{customer}")[1]["segments"] == ["vip"]

    # The same complaint from a VIP: the vip-unhappy rule, which also raises the open case's priority.
    deliver(
        client, sqs, pipeline, secrets, messenger(PSID, "mid.c2", COMPLAINT + ", again", opened + timedelta(minutes=2))
    )
    _, page = call(client, "get", f"/customers/{customer}/interactions")
    newest = page["interactions"][0]
    assert newest["external_id"] == "mid.c2"
    assert {k: newest["route"][k] for k in ("team", "priority", "rule")} == {
        "team": "vip-care",
        "priority": "P1",
        "rule": "vip-unhappy",
    }
    (escalated,) = cases_with(client, "open")
    assert escalated["case_id"] == listed["case_id"]
    assert (escalated["team"], escalated["priority"]) == ("vip-care", "P1")
    assert escalated["due_at"] <= iso(opened + timedelta(minutes=2 + 30))  # P1: half an hour, at the latest

    routed = [e for e in drain(sqs, events) if e["detail-type"] == "Interaction Routed"]
    (detail,) = [e["detail"] for e in routed]
    assert detail["route"]["rule"] == "vip-unhappy"
    assert detail["alert"] is True
    assert detail["case_id"] == listed["case_id"]
