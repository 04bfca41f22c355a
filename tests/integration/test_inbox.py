"""The inbox, assignment and who is viewing, on moto, through the real pipeline: signed webhooks go
through the queue consumer and open, join, answer and reopen real cases; the ops API lists them
in each order with each filter, assigns them, and says who else has one open."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib import dependencies
from chalicelib.models.access import Principal, Role
from chalicelib.models.case import Case, CaseStatus
from chalicelib.models.decision import Intent, Priority
from chalicelib.models.interaction import iso
from chalicelib.rules.cases import AssignmentRefused
from chalicelib.rules.inbox import InboxQuery, InboxSort
from chalicelib.services import case_ops, inbox
from chalicelib.store import keys
from chalicelib.store.models import ViewingItem
from chalicelib.store.serde import case_item
from tests.helpers import call, dynamodb_requests_atomic, meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000077"
IG = "17841400000000077"
AGENT, SUPERVISOR = "cognito:agent@example.com", "cognito:supervisor@example.com"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"


def telegram(update_id: int, user: int, name: str, text: str, at: datetime) -> bytes:
    sender = {"id": user, "is_bot": False, "first_name": name}
    message = {"message_id": update_id, "from": sender, "chat": {**sender, "type": "private"}, "text": text}
    return json.dumps({"update_id": update_id, "message": {**message, "date": int(at.timestamp())}}).encode()


def deliver(client: Any, sqs: Any, env: dict[str, str], secrets: dict[str, Any], *bodies: tuple[str, bytes]) -> None:
    """Post each (channel, body) as the platform would, signed; then run the queue consumer."""
    for channel, body in bodies:
        request = sign(channel, body, secrets)
        response = client.http.post(request.path, headers=request.headers, body=request.body)
        assert response.status_code == 200, response.body
    assert process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"]) == len(bodies)


def listed(client: Any, query: str = "", role: str | None = None) -> list[dict[str, Any]]:
    status, page = call(client, "get", f"/cases?{query}", role=role)
    assert status == 200, page
    assert page["next_cursor"] is None
    return list(page["cases"])


def ids(rows: list[dict[str, Any]]) -> list[str]:
    return [row["case_id"] for row in rows]


def start() -> datetime:
    return datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def messenger(psid: str, mid: str, text: str, at: datetime, echo: bool = False) -> tuple[str, bytes]:
    return "meta", meta_message(PAGE, psid, mid, text, at, echo=echo)


def test_the_inbox_lists_cases_in_three_orders_with_each_filter_and_what_a_row_shows(
    client, sqs, pipeline, secrets
) -> None:
    t0 = start()
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000001", "mid.a1", COMPLAINT, t0),
        messenger(
            "25000000000000002",
            "mid.b1",
            "I want to cancel my subscription, this is the worst",
            t0 + timedelta(minutes=10),
        ),
        (
            "telegram",
            telegram(
                900001,
                6100000101,
                "Zofia",
                "How do I change my address? Write to zofia@example.com",
                t0 + timedelta(minutes=20),
            ),
        ),
        (
            "meta",
            meta_message(
                IG,
                "5000000000000003",
                "aWdf_d1",
                "Meu pedido nunca chegou e ninguém responde, péssimo atendimento",
                t0 + timedelta(minutes=30),
                obj="instagram",
            ),
        ),
        messenger("25000000000000001", "mid.a2", "Still nothing. Where is my parcel?", t0 + timedelta(minutes=40)),
    )
    rows = listed(client, "sort=waiting")
    by_platform = {row["platform"]: row for row in rows}
    a, b = (row for row in rows if row["platform"] == "messenger")
    c, d = by_platform["telegram"], by_platform["instagram"]
    assert ids(rows) == [a["case_id"], b["case_id"], c["case_id"], d["case_id"]]  # oldest waiting first
    assert a["preview"] == "Still nothing. Where is my parcel?"  # the newest message, as stored
    assert a["waiting_since"] == iso(t0)
    assert a["last_inbound_at"] == iso(t0 + timedelta(minutes=40))
    assert (a["intent"], a["team"], a["priority"], a["sentiment"]) == ("complaint", "support", "P2", "NEGATIVE")
    assert (a["status"], a["assignee"], a["unread"], a["overdue"]) == ("open", None, True, False)
    assert (b["intent"], b["team"], b["priority"], b["overdue"]) == ("cancel_intent", "retention", "P1", True)
    assert c["customer_name"] == "Zofia"
    assert c["intent"] == "question"
    assert c["preview"]
    assert "zofia@example.com" not in c["preview"]
    assert (d["language"], a["language"]) == ("pt", "en")
    assert a["history"]
    assert a["interactions"] == ["messenger:mid.a1", "messenger:mid.a2"]

    assert ids(listed(client)) == [b["case_id"], a["case_id"], d["case_id"], c["case_id"]]  # by deadline, as ever
    assert ids(listed(client, "sort=due")) == ids(listed(client))
    assert ids(listed(client, "sort=newest")) == [a["case_id"], d["case_id"], c["case_id"], b["case_id"]]
    for view, expected in {
        "channel=instagram": [d],
        "channel=telegram": [c],
        "team=retention": [b],
        "priority=P1": [b],
        "intent=question": [c],
        "language=pt": [d],
        "channel=messenger&team=support": [a],
    }.items():
        for order in ("waiting", "due", "newest"):
            assert ids(listed(client, f"{view}&sort={order}")) == ids(expected), (view, order)

    # The page answers A; A writes again: A waits since that message, behind the others.
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000001", "mid.r1", "On its way!", t0 + timedelta(minutes=45), echo=True),
    )
    assert ids(listed(client, "status=responded&sort=waiting")) == [a["case_id"]]
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000001", "mid.a3", "It came broken", t0 + timedelta(minutes=50)),
    )
    rows = listed(client, "sort=waiting")
    assert ids(rows) == [b["case_id"], c["case_id"], d["case_id"], a["case_id"]]
    assert rows[-1]["waiting_since"] == iso(t0 + timedelta(minutes=50))
    assert rows[-1]["preview"] == "It came broken"
    assert listed(client, "status=responded") == []

    for bad in ("status=lost", "sort=oldest", "channel=a b", "priority=P9", "intent=x", "language=x", "limit=0"):
        assert call(client, "get", f"/cases?{bad}")[0] == 400, bad
    _status, page = call(client, "get", "/cases?sort=waiting&limit=1")
    assert call(client, "get", f"/cases?sort=newest&cursor={page['next_cursor']}")[0] == 400  # another order's


def test_assigning_cases_by_role_and_the_assignee_filter(client, sqs, pipeline, secrets) -> None:
    t0 = start()
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000011", "mid.e1", COMPLAINT, t0),
        messenger("25000000000000012", "mid.f1", COMPLAINT + " again", t0 + timedelta(minutes=1)),
    )
    e, f = ids(listed(client, "sort=waiting"))

    status, taken = call(client, "post", f"/cases/{e}/assign", {"assignee": "me"}, role="agent")
    assert status == 200, taken
    assert taken["assignee"] == AGENT
    assert taken["history"][-1] == {
        "at": taken["history"][-1]["at"],
        "status": "open",
        "by": AGENT,
        "assignee": AGENT,
        "team": "support",
    }
    assert ids(listed(client, "assignee=mine", role="agent")) == [e]
    assert ids(listed(client, "assignee=unassigned&sort=waiting", role="agent")) == [f]
    assert ids(listed(client, f"assignee={AGENT}&sort=newest")) == [e]
    assert listed(client, "assignee=mine", role="supervisor") == []

    # An agent gives no case to a colleague, nor takes or drops one a colleague holds.
    assert call(client, "post", f"/cases/{f}/assign", {"assignee": SUPERVISOR}, role="agent")[0] == 403
    assert call(client, "post", f"/cases/{e}/assign", {"assignee": SUPERVISOR}, role="supervisor")[0] == 200
    status, refused = call(client, "post", f"/cases/{e}/assign", {"assignee": "me"}, role="agent")
    assert status == 409
    assert SUPERVISOR in refused["Message"]
    assert call(client, "post", f"/cases/{e}/assign", {"assignee": None}, role="agent")[0] == 409
    # An agent passes a case nobody holds to another team of the routing document's.
    assert call(client, "post", f"/cases/{f}/assign", {"assignee": None, "team": "nowhere"}, role="agent")[0] == 400
    status, passed = call(client, "post", f"/cases/{f}/assign", {"assignee": None, "team": "sales"}, role="agent")
    assert (status, passed["team"], passed["assignee"]) == (200, "sales", None)
    assert ids(listed(client, "team=sales&sort=waiting")) == [f]
    assert call(client, "post", f"/cases/{e}/assign", {"assignee": AGENT}, role="supervisor")[0] == 200
    assert call(client, "post", "/cases/nobody_20260101000000abcdef/assign", {"assignee": "me"})[0] == 404
    for bad in ({}, {"assignee": "me", "by": SUPERVISOR}, {"assignee": 3}, ["me"]):
        assert call(client, "post", f"/cases/{e}/assign", bad)[0] == 400, bad

    _, trail = call(client, "get", f"/audit?subject=case:{e}&action=case.assign")
    assert [(entry["principal"], entry["detail"]["assignee"]) for entry in reversed(trail["entries"])] == [
        (AGENT, AGENT),
        (SUPERVISOR, SUPERVISOR),
        (SUPERVISOR, AGENT),
    ]

    # Answered, written to again (reopened), resolved: the assignee stays; a resolved case is closed.
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000011", "mid.e2", "Sorry!", t0 + timedelta(minutes=5), echo=True),
    )
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000011", "mid.e3", "It is broken, terrible", t0 + timedelta(minutes=9)),
    )
    case = call(client, "get", f"/cases/{e}")[1]
    assert (case["status"], case["assignee"]) == ("open", AGENT)
    assert call(client, "post", f"/cases/{e}/status", {"status": "resolved"}, role="agent")[0] == 200
    assert call(client, "get", f"/cases/{e}")[1]["assignee"] == AGENT
    assert call(client, "post", f"/cases/{e}/assign", {"assignee": None})[0] == 400


def race(case_id: str, requests: list[tuple[Principal, case_ops.Assignment]]) -> list[Case | Exception]:
    """Run the assignments at once: each reads the case, and none writes before all have read."""
    store = dependencies.case_store()
    barrier = threading.Barrier(len(requests))
    results: list[Case | Exception] = [RuntimeError("not run")] * len(requests)

    class Together:
        def __init__(self) -> None:
            self.first = True

        def amend(self, case_id: str, change: Any) -> Case | None:
            def after_all_read(case: Case) -> Case:
                if self.first:
                    self.first = False
                    barrier.wait(timeout=30)
                return change(case)  # type: ignore[no-any-return]

            return store.amend(case_id, after_all_read)

    def run(index: int, who: Principal, wanted: case_ops.Assignment) -> None:
        try:
            results[index] = case_ops.assign(
                Together(), dependencies.audit_trail(), dependencies.routing, case_id, wanted, who, datetime.now(UTC)
            )
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i, who, wanted)) for i, (who, wanted) in enumerate(requests)]
    with dynamodb_requests_atomic():  # moto, called from two threads, could let both versions pass
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    return results


def test_concurrent_assignments_end_in_one_consistent_state(client, sqs, pipeline, secrets) -> None:
    t0 = start()
    deliver(client, sqs, pipeline, secrets, messenger("25000000000000021", "mid.g1", COMPLAINT, t0))
    (case_id,) = ids(listed(client))
    before = dependencies.case_store().get(case_id)
    assert before is not None

    # Two agents take the same case at once: one has it, the other is told who does.
    ana, bea = Principal("cognito:ana@example.com", Role.AGENT), Principal("cognito:bea@example.com", Role.AGENT)
    results = race(case_id, [(ana, case_ops.Assignment(ana.id, None)), (bea, case_ops.Assignment(bea.id, None))])
    won = [result for result in results if isinstance(result, Case)]
    lost = [result for result in results if isinstance(result, AssignmentRefused)]
    assert (len(won), len(lost)) == (1, 1), results
    assert lost[0].conflict
    stored = dependencies.case_store().get(case_id)
    assert stored is not None
    assert stored.assignee == won[0].assignee
    assert [entry.get("assignee") for entry in stored.history[len(before.history) :]] == [won[0].assignee]

    # Two supervisors assign at once: both are written, one after the other; the later stands.
    sup1, sup2 = (
        Principal("cognito:s1@example.com", Role.SUPERVISOR),
        Principal("cognito:s2@example.com", Role.SUPERVISOR),
    )
    results = race(
        case_id,
        [
            (sup1, case_ops.Assignment("cognito:x@example.com", None)),
            (sup2, case_ops.Assignment("cognito:y@example.com", None)),
        ],
    )
    assert all(isinstance(result, Case) for result in results), results
    after = dependencies.case_store().get(case_id)
    assert after is not None
    assert after.version == stored.version + 2
    entries = after.history[len(stored.history) :]
    assert len(entries) == 2
    assert after.assignee == entries[-1]["assignee"]
    assert {entry["assignee"] for entry in entries} == {"cognito:x@example.com", "cognito:y@example.com"}
    assert ids(listed(client, f"assignee={after.assignee}&sort=waiting")) == [case_id]


def test_paging_every_order_returns_each_case_once(client, sqs, pipeline, secrets) -> None:
    t0 = start()
    bodies = [messenger(f"250000000001{n:05d}", f"mid.p{n}", COMPLAINT, t0 + timedelta(minutes=n)) for n in range(11)]
    deliver(client, sqs, pipeline, secrets, *bodies)
    everything = {order: ids(listed(client, f"sort={order}")) for order in ("waiting", "due", "newest")}
    assert len(everything["waiting"]) == 11
    assert len({keys.shard(case_id) for case_id in everything["waiting"]}) > 1
    assert everything["newest"] == list(reversed(everything["waiting"]))
    for order, expected in everything.items():
        seen: list[str] = []
        cursor = ""
        while True:
            status, page = call(client, "get", f"/cases?sort={order}&limit=4{cursor}")
            assert status == 200, page
            seen += ids(page["cases"])
            if page["next_cursor"] is None:
                break
            cursor = f"&cursor={page['next_cursor']}"
        assert seen == expected, order


def crowded(count: int, shard: int, start_at: int = 0) -> list[str]:
    found: list[str] = []
    number = start_at
    while len(found) < count:
        case_id = f"cust{number}_20261122090000{number:06x}"
        if keys.shard(case_id) == shard:
            found.append(case_id)
        number += 1
    return found


def test_pages_merge_unevenly_filled_shards_without_gaps_even_when_a_filter_leaves_pages_short(
    pipeline, monkeypatch
) -> None:
    """Cases written straight to the table, most of them in one shard, every third on another team."""
    from chalicelib.store import inbox as inbox_store

    t0 = datetime(2026, 11, 22, 9, tzinfo=UTC)
    made: list[Case] = []
    for index, case_id in enumerate(crowded(10, 0) + crowded(2, 3) + crowded(1, 6)):
        at = t0 + timedelta(minutes=7 * index % 60)  # waiting, due and newest orders all differ
        made.append(
            Case(
                case_id=case_id,
                customer_id=case_id.split("_")[0],
                status=CaseStatus.OPEN,
                team="sales" if index % 3 == 0 else "support",
                priority=Priority.P2,
                intent=Intent.COMPLAINT,
                rule="complaint",
                platform="messenger",
                thread_key=f"t{index}",
                opened_at=at,
                due_at=at + timedelta(minutes=(13 * index) % 50),
                last_inbound_at=at + timedelta(minutes=(5 * index) % 17),
                inbound_times=(at, at + timedelta(minutes=(5 * index) % 17)),
            )
        )
    for each in made:
        case_item(each).save()
    store = dependencies.inbox_store()
    monkeypatch.setattr(inbox_store, "MAX_EXAMINED", 3)  # `newest` by team: short pages, read on
    for team in (None, "support"):
        for sort in InboxSort:
            wanted = [c for c in made if team is None or c.team == team]
            expected = [
                c.case_id
                for c in sorted(wanted, key=lambda c: (when(c, sort), c.case_id), reverse=sort is InboxSort.NEWEST)
            ]
            seen: list[str] = []
            cursor: str | None = None
            pages = 0
            while True:
                page, cursor = store.cases(InboxQuery(sort=sort, team=team), 3, cursor)
                assert len(page) <= 3
                seen += [c.case_id for c in page]
                pages += 1
                if cursor is None:
                    break
            assert seen == expected, (team, sort)
            assert pages >= len(expected) // 3


def when(case: Case, sort: InboxSort) -> datetime:
    return {InboxSort.WAITING: case.waiting_since, InboxSort.DUE: case.due_at}.get(sort, case.last_inbound_at)


def test_who_else_is_viewing_and_what_is_unread(client, sqs, pipeline, secrets) -> None:
    t0 = start()
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("25000000000000031", "mid.h1", COMPLAINT, t0),
        messenger("25000000000000032", "mid.i1", COMPLAINT + "!", t0 + timedelta(minutes=1)),
    )
    h, i = ids(listed(client, "sort=waiting"))
    store = dependencies.inbox_store()
    assert inbox.unread_count(store) == 2
    assert inbox.unread_count(store, cap=1) == 2  # more than the cap: "1+"

    status, seen = call(client, "post", f"/cases/{h}/viewing", role="agent")
    assert (status, seen) == (200, {"viewing": [], "seconds": 60})
    assert [row["unread"] for row in listed(client, "sort=waiting")] == [False, True]  # looked at: read
    assert inbox.unread_count(store) == 1
    status, seen = call(client, "post", f"/cases/{h}/viewing", role="supervisor")
    assert status == 200
    assert [viewer["principal"] for viewer in seen["viewing"]] == [AGENT]
    assert seen["viewing"][0]["until"] > iso(datetime.now(UTC))
    status, seen = call(client, "post", f"/cases/{h}/viewing", role="agent")
    assert [viewer["principal"] for viewer in seen["viewing"]] == [SUPERVISOR]
    assert call(client, "post", f"/cases/{i}/viewing", role="supervisor")[1]["viewing"] == []  # another case

    # A minute later nobody else is there, though DynamoDB has not deleted the expired items yet.
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert inbox.viewing(store, h, "cognito:admin@example.com", later) == []
    assert len(list(ViewingItem.query(keys.viewing(h)))) == 3  # still stored: only reading drops them

    # The customer writes again: unread again until someone looks.
    deliver(
        client, sqs, pipeline, secrets, messenger("25000000000000031", "mid.h2", "Hello??", t0 + timedelta(minutes=2))
    )
    assert [row["unread"] for row in listed(client, "sort=waiting")] == [True, False]
    assert inbox.unread_count(store) == 1
    assert call(client, "post", "/cases/nobody_20260101000000abcdef/viewing", role="agent")[0] == 404
    assert call(client, "post", "/cases/not-a-case/viewing", role="agent")[0] == 404


def test_the_table_in_the_template_has_the_indexes_cases_are_written_to() -> None:
    from chalicelib.store.models import CaseItem
    from tools import template as templates

    table = templates.load()["Resources"]["Table"]["Properties"]
    declared = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    for index in CaseItem._get_schema()["global_secondary_indexes"]:
        template = declared[index["index_name"]]
        assert [(k["AttributeName"], k["KeyType"]) for k in template["KeySchema"]] == [
            (k["AttributeName"], k["KeyType"]) for k in index["key_schema"]
        ]
        assert template["Projection"] == index["projection"], index["index_name"]
    assert {"inbox", "recent", "sentiment", "worklist"} <= {
        i["index_name"] for i in CaseItem._get_schema()["global_secondary_indexes"]
    }
    defined = {attribute["AttributeName"] for attribute in table["AttributeDefinitions"]}
    assert {"gsi4pk", "gsi4sk"} <= defined
