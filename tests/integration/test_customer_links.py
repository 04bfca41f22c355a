"""One customer across platforms, on moto, through the real pipeline and the ops API: linking two
customers joins their views and unlinking undoes it exactly; links are refused for oneself, an
unknown customer or one being erased; two people linking and unlinking the same pair at once end
with both halves of the link or neither; and a customer's export lists their links and suggested
links, while their erasure takes those away on both sides and their search entries with them,
leaving the other customers everything of their own."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE
from chalicelib.adapters.aws import client as aws_client
from chalicelib.models.interaction import iso
from tests.customer_helpers import (
    audit_actions,
    customer_of,
    deliver,
    found_ids,
    items,
    keys_of,
    messenger,
    telegram,
)
from tests.helpers import call
from tools.fake_comprehend import FakeComprehend

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
ANA_TG, ANA_MS, CAIO_TG = 6200000001, "25000000000000444", 6200000003
COMPLAINT = "O pedido 4821 chegou atrasado e quebrado, atendimento ruim. Meu e-mail: ana.souza@example.com"


@pytest.fixture
def stack(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Comprehend answered offline: nothing here depends on the analysis itself."""
    monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
    dependencies.reset()
    FakeComprehend().install(aws_client("comprehend", WORKER_PROFILE), aws_client("translate", WORKER_PROFILE))
    yield aws
    dependencies.reset()


@pytest.fixture
def ana(client: Any, sqs: Any, stack: dict[str, str], secrets: dict[str, Any]) -> tuple[str, str]:
    """Ana on Telegram (a complaint, which opens a case, then a follow-up) and on Messenger."""
    deliver(client, sqs, stack, secrets, "telegram", telegram(ANA_TG, COMPLAINT, T0, "Ana", "Souza", "anasouza"))
    follow_up = telegram(ANA_TG, "Ainda espero resposta", T0 + timedelta(hours=1), "Ana", "Souza", "anasouza")
    deliver(client, sqs, stack, secrets, "telegram", follow_up)
    deliver(client, sqs, stack, secrets, "meta", messenger(ANA_MS, "mid.a1", "Oi, sou a Ana", T0 + timedelta(hours=2)))
    return customer_of(client, "telegram", str(ANA_TG)), customer_of(client, "messenger", ANA_MS)


def link(client: Any, customer_id: str, other_id: Any, role: str = "agent") -> tuple[int, Any]:
    return call(client, "post", f"/customers/{customer_id}/links", {"customer_id": other_id}, role=role)


def table_without_audit(env: dict[str, str]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True) for item in items(env) if not item["pk"]["S"].startswith("AUDIT#"))


def test_linking_two_customers_and_undoing_it_exactly(client, stack, ana) -> None:
    tg, ms = ana
    before = table_without_audit(stack)
    status, made = link(client, tg, ms)
    assert status == 201, made
    assert made == {
        "customer_id": ms,
        "display_name": None,  # Messenger sends no names
        "handle": None,
        "linked_at": made["linked_at"],
        "linked_by": "cognito:agent@example.com",
    }
    assert link(client, tg, ms) == (200, made)  # again: the same link, not a second one
    status, mirrored = link(client, ms, tg, role="supervisor")
    assert (status, mirrored["customer_id"], mirrored["linked_at"]) == (200, tg, made["linked_at"])
    assert "LINK#" + ms in keys_of(stack, f"CUSTOMER#{tg}")
    assert "LINK#" + tg in keys_of(stack, f"CUSTOMER#{ms}")
    assert len([item for item in items(stack) if item["sk"]["S"].startswith("LINK#")]) == 2
    status, listed = call(client, "get", f"/customers/{tg}/links", role="agent")
    assert (status, listed) == (200, {"links": [made], "suggestions": []})
    status, listed = call(client, "get", f"/customers/{ms}/links", role="agent")
    assert [(entry["customer_id"], entry["display_name"], entry["handle"]) for entry in listed["links"]] == [
        (tg, "Ana Souza", "anasouza")
    ]

    assert call(client, "delete", f"/customers/{ms}/links/{tg}", role="agent") == (
        200,
        {"customer_id": ms, "unlinked": tg},
    )
    assert call(client, "delete", f"/customers/{ms}/links/{tg}", role="agent")[0] == 404
    assert call(client, "delete", f"/customers/{tg}/links/{ms}", role="agent")[0] == 404
    assert table_without_audit(stack) == before  # nothing left of it, nothing else changed
    assert [entry for entry in audit_actions(stack) if entry[0].startswith("customer.")] == [
        ("customer.link", f"customer:{tg}", json.dumps({"customer_id": ms})),
        ("customer.unlink", f"customer:{ms}", json.dumps({"customer_id": tg})),
    ]


def test_links_that_cannot_be_made_are_refused_and_write_nothing(client, stack, ana) -> None:
    from chalicelib.store.privacy import _mark_erasing

    tg, ms = ana
    assert link(client, tg, tg)[0] == 400
    assert link(client, tg, "no-such-customer")[0] == 404
    assert link(client, "no-such-customer", tg)[0] == 404
    for body in (None, {}, {"customer_id": 5}, {"customer_id": " "}, {"customer_id": ms, "by": "someone"}, [ms]):
        assert call(client, "post", f"/customers/{tg}/links", body, role="agent")[0] == 400, body
    assert call(client, "get", "/customers/no-such-customer/links", role="agent")[0] == 404
    assert call(client, "delete", f"/customers/{tg}/suggestions/{ms}", role="agent")[0] == 404
    assert _mark_erasing(ms) is not None  # an erasure of Ana's Messenger customer has begun
    status, body = link(client, tg, ms)
    assert status == 409
    assert "being erased" in body["Message"]
    assert not [item for item in items(stack) if item["sk"]["S"].startswith("LINK#")]
    assert link(client, tg, ms, role="admin")[0] == 409
    assert call(client, "post", f"/customers/{tg}/links", {"customer_id": ms}, token=None)[0] == 401


def test_the_360_view_and_the_history_cover_the_linked_customers(client, stack, ana) -> None:
    tg, ms = ana
    _, alone = call(client, "get", f"/customers/{tg}", role="agent")
    assert (alone["linked"], alone["combined"]["customer_ids"]) == ([], [tg])
    assert link(client, ms, tg)[0] == 201
    _, mine = call(client, "get", f"/customers/{tg}", role="agent")
    _, theirs = call(client, "get", f"/customers/{ms}", role="agent")
    assert mine["linked"] == [{"customer_id": ms, "display_name": None, "handle": None}]
    assert theirs["linked"] == [{"customer_id": tg, "display_name": "Ana Souza", "handle": "anasouza"}]
    combined = mine["combined"]
    assert combined["customer_ids"] == [tg, ms]
    assert combined["interaction_count"] == 3 == mine["aggregates"]["interaction_count"] + 1
    assert combined["platform_counts"] == {"telegram": 2, "messenger": 1}
    assert combined["platforms"] == ["messenger", "telegram"]
    assert (combined["first_contact_at"], combined["last_contact_at"]) == (iso(T0), iso(T0 + timedelta(hours=2)))
    samples = mine["aggregates"]["sentiment_samples"] + theirs["aggregates"]["sentiment_samples"]
    assert combined["sentiment_samples"] == samples == 3
    weighted = (
        mine["aggregates"]["sentiment_trend"] * mine["aggregates"]["sentiment_samples"]
        + theirs["aggregates"]["sentiment_trend"] * theirs["aggregates"]["sentiment_samples"]
    ) / samples
    assert combined["sentiment_trend"] == pytest.approx(weighted, abs=1e-4)
    riskiest = max((mine, theirs), key=lambda view: view["churn"]["score"])
    assert combined["churn"]["score"] == riskiest["churn"]["score"]
    assert combined["churn"]["reasons"] == riskiest["churn"]["reasons"]
    assert theirs["combined"]["interaction_count"] == 3

    status, page = call(client, "get", f"/customers/{tg}/history?limit=2", role="agent")
    assert status == 200, page
    assert [(i["customer_id"], i["platform"]) for i in page["interactions"]] == [(ms, "messenger"), (tg, "telegram")]
    assert [c["customer_id"] for c in page["customers"]] == [tg, ms]
    assert [case["customer_id"] for case in page["cases"]] == [tg]  # the complaint's case
    status, rest = call(client, "get", f"/customers/{tg}/history?limit=2&cursor={page['next_cursor']}", role="agent")
    assert status == 200, rest
    assert [(i["customer_id"], i["text"][:8]) for i in rest["interactions"]] == [(tg, "O pedido")]
    assert rest["next_cursor"] is None
    assert "cases" not in rest
    assert call(client, "get", f"/customers/{tg}/history?cursor=not-ours", role="agent")[0] == 400
    assert call(client, "get", "/customers/nobody/history", role="agent")[0] == 404

    assert call(client, "delete", f"/customers/{tg}/links/{ms}", role="agent")[0] == 200
    _, mine = call(client, "get", f"/customers/{tg}", role="agent")
    assert (mine["linked"], mine["combined"]["interaction_count"]) == ([], 2)
    _, page = call(client, "get", f"/customers/{tg}/history", role="agent")
    assert {i["customer_id"] for i in page["interactions"]} == {tg}


@pytest.fixture
def serializable(monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB applies each request, a transaction included, as one step; moto in one process does
    not (a transaction it cancels restores a copy of the whole table, undoing what other threads
    wrote meanwhile). One request of moto's DynamoDB at a time gives the threads DynamoDB's
    isolation, so what is tested is how our requests interleave."""
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()
    original = DynamoHandler.call_action

    def one_at_a_time(self: Any) -> Any:
        with lock:
            return original(self)

    monkeypatch.setattr(DynamoHandler, "call_action", one_at_a_time)


def at_once(actions: list[Callable[[], object]]) -> list[BaseException]:
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def halves(customer_id: str, other_id: str) -> tuple[bool, bool]:
    from pynamodb.exceptions import DoesNotExist

    from chalicelib.store.models import LinkItem

    found = []
    for one, two in ((customer_id, other_id), (other_id, customer_id)):
        try:
            LinkItem.get(f"CUSTOMER#{one}", f"LINK#{two}", consistent_read=True)
            found.append(True)
        except DoesNotExist:
            found.append(False)
    return found[0], found[1]


def profile(customer_id: str) -> None:
    from chalicelib.store.models import CustomerItem

    CustomerItem(f"CUSTOMER#{customer_id}", "PROFILE", customer_id=customer_id, created_at=T0).save()


def test_two_agents_linking_and_unlinking_at_once_end_with_both_halves_or_neither(stack, serializable) -> None:
    links = dependencies.link_store()
    profile("a")
    profile("b")
    for round_number in range(30):
        now = T0 + timedelta(seconds=round_number)
        actions: list[Callable[[], object]] = [
            partial(links.link, "a", "b", "cognito:one", now),
            partial(links.link, "b", "a", "cognito:two", now),
            partial(links.unlink, "a", "b"),
            partial(links.unlink, "b", "a"),
        ]
        if round_number % 3 == 0:
            actions.reverse()
        if round_number % 2 and halves("a", "b") == (False, False):
            links.link("a", "b", "cognito:three", now)  # start some rounds linked, some not
        assert at_once(actions) == []
        state = halves("a", "b")
        assert state in ((True, True), (False, False)), (round_number, state)
    assert len(links.links("a")) == len(links.links("b")) <= 1


def test_a_link_made_while_a_customer_is_erased_does_not_outlive_the_erasure(stack, serializable) -> None:
    """Whichever comes first, the other customer keeps no half of a link to the erased one."""
    from chalicelib.models.directory import CustomerBeingErased, UnknownCustomer

    links, records = dependencies.link_store(), dependencies.customer_records()
    profile("other")
    for round_number in range(10):
        erased = f"erased-{round_number}"
        profile(erased)
        refused: list[BaseException] = []

        def make(erased: str = erased, refused: list[BaseException] = refused) -> None:
            try:
                links.link("other", erased, "cognito:agent", T0)
            except (CustomerBeingErased, UnknownCustomer) as exc:
                refused.append(exc)

        assert at_once([make, partial(records.erase, erased)]) == []
        assert halves("other", erased) == (False, False), (round_number, refused)
    assert links.links("other") == []


def test_export_lists_links_and_suggestions_and_erasure_takes_them_away_on_both_sides(
    client, sqs, stack, secrets, ana
) -> None:
    tg, ms = ana
    caio_text = "Recebi um e-mail estranho de ana.souza@example.com, é golpe?"
    deliver(client, sqs, stack, secrets, "telegram", telegram(CAIO_TG, caio_text, T0 + timedelta(hours=3), "Caio"))
    caio = customer_of(client, "telegram", str(CAIO_TG))
    assert link(client, tg, ms)[0] == 201
    status, listed = call(client, "get", f"/customers/{tg}/links", role="agent")
    assert [(s["customer_id"], [r["kind"] for r in s["reasons"]]) for s in listed["suggestions"]] == [(caio, ["email"])]

    status, document = call(client, "get", f"/customers/{tg}/export", role="admin")
    assert status == 200
    assert document["links"] == [ms]
    assert [(s["customer_id"], [r["kind"] for r in s["reasons"]]) for s in document["suggestions"]] == [
        (caio, ["email"])
    ]
    kinds = document["search_index"]
    assert set(kinds) == {"email", "handle", "name", "user"}
    assert kinds["email"] == kinds["handle"] == kinds["user"] == 1
    text = json.dumps(document, ensure_ascii=False)
    for theirs in (ANA_MS, "Oi, sou a Ana", str(CAIO_TG), "golpe", "Caio"):
        assert theirs not in text  # the others' ids only, none of their data

    theirs_before = {other: keys_of(stack, f"CUSTOMER#{other}") for other in (ms, caio)}
    status, report = call(client, "delete", f"/customers/{tg}", role="admin")
    assert status == 200, report
    assert keys_of(stack, f"CUSTOMER#{ms}") == [key for key in theirs_before[ms] if key != f"LINK#{tg}"]
    assert keys_of(stack, f"CUSTOMER#{caio}") == [key for key in theirs_before[caio] if key != f"SUGGEST#{tg}"]
    assert f"LINK#{tg}" in theirs_before[ms]
    assert f"SUGGEST#{tg}" in theirs_before[caio]
    left = [item for item in items(stack) if not item["pk"]["S"].startswith(("AUDIT#", "ERASED#"))]
    assert not [item for item in left if tg in json.dumps(item)]  # no half, entry or list names her
    assert not [item for item in left if item["pk"]["S"].startswith("SEARCH#") and item["customer_id"]["S"] == tg]
    assert found_ids(client, "ana souza") == found_ids(client, "@anasouza") == []
    assert found_ids(client, "ana.souza@example.com") == [caio]  # Caio wrote it too: his entry stays
    _, view = call(client, "get", f"/customers/{ms}", role="agent")
    assert (view["linked"], view["combined"]["customer_ids"]) == ([], [ms])
    _, listed = call(client, "get", f"/customers/{caio}/links", role="agent")
    assert listed == {"links": [], "suggestions": []}
