"""A data subject's requests through the ops API, on moto: the export holds everything kept about
the customer and nothing about anyone else; erasure leaves no item that names them (only a
suppression record per identity, holding a hash and a time), touches no one else; a message they
write after it starts a new customer, and one they wrote before it, however late it comes, makes
none."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE
from chalicelib.adapters.aws import client as aws_client
from tests.helpers import call, crisis_alert, meta_message, one_pass, process_queue, retention_alert
from tools.fake_comprehend import FakeComprehend
from tools.webhook_client import sign

PAGE = "104000000000077"
ANA, BRUNO = "25000000000000111", "25000000000000222"
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def stack(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Comprehend answered offline: nothing here depends on the analysis itself."""
    monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
    dependencies.reset()
    FakeComprehend().install(aws_client("comprehend", WORKER_PROFILE), aws_client("translate", WORKER_PROFILE))
    yield aws
    dependencies.reset()


def messenger(psid: str, mid: str, text: str, at: datetime) -> bytes:
    return meta_message(PAGE, psid, mid, text, at)


def deliver(client: Any, sqs: Any, env: dict[str, str], secrets: dict[str, Any], body: bytes) -> None:
    request = sign("meta", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"])


def customer_of(client: Any, psid: str) -> str:
    status, found = call(client, "get", f"/identities/messenger/{psid}")
    assert status == 200, found
    return str(found["customer_id"])


def table_items(env: dict[str, str]) -> list[str]:
    """Every item of the table but the audit trail and erased identities' suppression records, each
    as its JSON text (to search for a name or an id). The trail keeps who did what to a customer's
    random id, which names nobody once they are erased: `audit_entries` checks it holds nothing
    else; `suppression_records` checks what those hold."""
    items: list[str] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["SOCIALCRM_TABLE"]):
        items.extend(
            json.dumps(item, ensure_ascii=False)
            for item in page["Items"]
            if not item["pk"]["S"].startswith(("AUDIT#", "ERASED#"))
        )
    return items


def suppression_records(env: dict[str, str]) -> list[dict[str, Any]]:
    found = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["SOCIALCRM_TABLE"]):
        found += [item for item in page["Items"] if item["pk"]["S"].startswith("ERASED#")]
    return found


def identity_hash(psid: str) -> str:
    return hashlib.sha256(f"messenger\0{psid}".encode()).hexdigest()


def audit_entries(env: dict[str, str]) -> list[dict[str, Any]]:
    found = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["SOCIALCRM_TABLE"]):
        found += [item for item in page["Items"] if item["pk"]["S"].startswith("AUDIT#")]
    return found


@pytest.fixture
def two_customers(client, sqs, stack, secrets) -> tuple[str, str]:
    deliver(
        client,
        sqs,
        stack,
        secrets,
        messenger(ANA, "mid.a1", "O pedido 4821 chegou atrasado e quebrado, atendimento ruim", T0),
    )
    deliver(
        client,
        sqs,
        stack,
        secrets,
        messenger(ANA, "mid.a2", "Ainda espero resposta sobre o pedido 4821, muito ruim", T0 + timedelta(minutes=5)),
    )
    deliver(client, sqs, stack, secrets, messenger(BRUNO, "mid.b1", "Obrigado pela ajuda de ontem", T0))
    ana, bruno = customer_of(client, ANA), customer_of(client, BRUNO)
    alerts = dependencies.alert_store()
    alerts.record(retention_alert(ana, "alert-ana", T0))
    alerts.hold_cooldown(ana, "Retention Alert", "alert-ana", T0 + timedelta(hours=4), T0)
    alerts.record(retention_alert(bruno, "alert-bruno", T0))
    return ana, bruno


def test_the_export_holds_everything_about_the_customer_and_nothing_else(client, two_customers) -> None:
    ana, bruno = two_customers
    status, document = call(client, "get", f"/customers/{ana}/export", role="admin")
    assert status == 200, document
    assert document["customer"]["customer_id"] == ana
    assert [(i["platform"], i["user_id"]) for i in document["identities"]] == [("messenger", ANA)]
    assert sorted(i["external_id"] for i in document["interactions"]) == ["mid.a1", "mid.a2"]
    assert {i["text"] for i in document["interactions"]} == {
        "O pedido 4821 chegou atrasado e quebrado, atendimento ruim",
        "Ainda espero resposta sobre o pedido 4821, muito ruim",
    }
    assert len(document["cases"]) == 1  # the complaint opened it, the second message joined it
    assert document["cases"][0]["customer_id"] == ana
    assert [alert["alert_id"] for alert in document["alerts"]] == ["alert-ana"]
    text = json.dumps(document, ensure_ascii=False)
    for other in (bruno, BRUNO, "Obrigado"):
        assert other not in text


def test_erasure_leaves_nothing_that_names_the_customer_and_spares_everyone_else(
    client, sqs, stack, secrets, two_customers
) -> None:
    ana, bruno = two_customers
    before = table_items(stack)
    about_ana = [item for item in before if ana in item or ANA in item]
    assert len(about_ana) >= 8  # profile, identity twice, 2 interactions and pointers, a case, an alert...
    status, report = call(client, "delete", f"/customers/{ana}", role="admin")
    assert status == 200, report
    assert report == {
        "customer_id": ana,
        "erased": {"identities": 1, "interactions": 2, "cases": 1, "alerts": 1, "items": report["erased"]["items"]},
    }
    after = table_items(stack)
    assert [item for item in after if ana in item or ANA in item or "pedido" in item] == []
    assert len(after) == len(before) - len(about_ana)  # nobody else's items went
    assert call(client, "get", f"/customers/{ana}")[0] == 404
    assert call(client, "get", f"/customers/{ana}/export", role="admin")[0] == 404
    assert call(client, "get", f"/identities/messenger/{ANA}")[0] == 404
    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 404
    status, view = call(client, "get", f"/customers/{bruno}")
    assert status == 200
    assert [i["external_id"] for i in view["latest_interactions"]] == ["mid.b1"]
    # Who erased whom, and when, outlives the customer, without anything that names them.
    trail = audit_entries(stack)
    # (the second DELETE, a 404, was asked for too, and is in the trail as a request)
    actions = sorted(entry["action"]["S"] for entry in trail)
    assert actions == ["customer.erase", "customer.erase.requested", "customer.erase.requested"]
    assert all(entry["subject"]["S"] == f"customer:{ana}" for entry in trail)
    assert all(entry["principal"]["S"] == "cognito:admin@example.com" for entry in trail)
    assert not [entry for entry in trail if ANA in json.dumps(entry) or "pedido" in json.dumps(entry)]
    # Left behind: her identity's suppression record, a hash and when the erasure was requested.
    (record,) = suppression_records(stack)
    assert record["pk"]["S"] == f"ERASED#{identity_hash(ANA)}"
    assert set(record) == {"pk", "sk", "item_type", "erased_at", "expires_at"}
    erased_at = datetime.fromisoformat(record["erased_at"]["S"])
    assert T0 < erased_at <= datetime.now(UTC)
    # kept past the retention of anything she wrote before it (dev keeps 30 days), with a margin
    assert int(record["expires_at"]["N"]) >= int((erased_at + timedelta(days=30 + 30)).timestamp())

    # Writing again after it, Ana is a new contact: a new customer, none of the old data.
    deliver(client, sqs, stack, secrets, messenger(ANA, "mid.a3", "Olá de novo", erased_at + timedelta(seconds=1)))
    again = customer_of(client, ANA)
    assert again != ana
    status, view = call(client, "get", f"/customers/{again}")
    assert [i["external_id"] for i in view["latest_interactions"]] == ["mid.a3"]


def test_both_requests_need_an_admin(client, two_customers) -> None:
    """Never the shared ops token (a supervisor at most, and off in deployed stages), never an
    agent or a supervisor: a person with the admin role."""
    ana, _ = two_customers
    assert call(client, "get", f"/customers/{ana}/export", token=None)[0] == 401
    assert call(client, "delete", f"/customers/{ana}", token="wrong")[0] == 401
    for role in ("agent", "supervisor"):
        assert call(client, "get", f"/customers/{ana}/export", role=role)[0] == 403
        assert call(client, "delete", f"/customers/{ana}", role=role)[0] == 403
    assert call(client, "get", f"/customers/{ana}/export")[0] == 403  # the shared token
    assert call(client, "delete", f"/customers/{ana}")[0] == 403
    assert call(client, "get", f"/customers/{ana}")[0] == 200


def test_an_erasure_interrupted_half_way_is_finished_by_running_it_again(client, stack, two_customers) -> None:
    """As if the first run died after deleting the unique identity and a pointer: the profile is
    deleted last, so the second run still finds the customer and deletes the rest."""
    ana, _ = two_customers
    dynamodb = boto3.client("dynamodb")
    for key in (
        {"pk": f"IDENTITY#messenger#{ANA}", "sk": "IDENTITY"},
        {"pk": "INTERACTION#messenger#mid.a1", "sk": "POINTER"},
    ):
        dynamodb.delete_item(
            TableName=stack["SOCIALCRM_TABLE"], Key={name: {"S": value} for name, value in key.items()}
        )
    status, report = call(client, "delete", f"/customers/{ana}", role="admin")
    assert status == 200, report
    assert report["erased"]["interactions"] == 2  # deleting what is already gone is no error
    assert [item for item in table_items(stack) if ana in item or ANA in item] == []


def test_a_message_during_an_erasure_or_after_an_interrupted_one_starts_a_new_customer_at_once(
    client, sqs, stack, secrets, two_customers
) -> None:
    """The recovery path of an erasure that died half-way (or is still running): the person's next
    message, written after the erasure was requested, never waits for it (nor fails for an hour
    and a half into the dead-letter queue): the identity lets go of the customer being erased and
    the message starts a new one. Running the erasure again finishes it, and leaves the new
    customer alone."""
    from chalicelib.store.privacy import _mark_erasing

    ana, _ = two_customers
    requested = _mark_erasing(ana)  # the erasure's first step, and then it died
    assert requested is not None
    request = sign(
        "meta", messenger(ANA, "mid.a9", "Mais uma coisa sobre o pedido", requested + timedelta(seconds=1)), secrets
    )
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    queue = stack["SOCIALCRM_INGEST_QUEUE_URL"]
    assert one_pass(sqs, queue) == 1
    counts = sqs.get_queue_attributes(
        QueueUrl=queue, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    assert set(counts.values()) == {"0"}  # stored, not failed: nothing waits, nothing heads for the DLQ
    again = customer_of(client, ANA)
    assert again != ana
    assert [i["external_id"] for i in call(client, "get", f"/customers/{again}")[1]["latest_interactions"]] == [
        "mid.a9"
    ]
    assert not [item for item in table_items(stack) if ana in item and "mid.a9" in item]  # nothing landed on the old

    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200  # run again: it finishes
    assert not [item for item in table_items(stack) if ana in item]
    assert customer_of(client, ANA) == again  # the new customer's identity stays
    assert call(client, "get", f"/customers/{again}")[0] == 200
    # The rerun kept the first request's time: what Ana wrote after it is hers, not the erasure's.
    (record,) = suppression_records(stack)
    assert datetime.fromisoformat(record["erased_at"]["S"]) == requested


def queue_is_empty(sqs: Any, env: dict[str, str]) -> bool:
    """Nothing waiting and nothing in flight: every record was done, none failed into a retry."""
    counts = sqs.get_queue_attributes(
        QueueUrl=env["SOCIALCRM_INGEST_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return set(counts.values()) == {"0"}


def test_a_message_written_before_the_erasure_makes_no_customer_during_it_or_after_it(
    client, sqs, stack, secrets, two_customers
) -> None:
    """Ana wrote these before she asked to be erased; they reach us late (an SQS retry, a delivery
    replayed from the unread bucket). While the erasure runs, and once it is done, they store
    nothing and make no customer; they are done with, not retried. Even after Ana has written
    again (a new customer), an old one does not join her new record."""
    from chalicelib.store.privacy import _mark_erasing

    ana, _ = two_customers
    requested = _mark_erasing(ana)  # the erasure has begun
    assert requested is not None
    before = requested - timedelta(seconds=1)
    deliver(client, sqs, stack, secrets, messenger(ANA, "mid.a7", "Esqueci: o pedido 4821 era presente", before))
    assert queue_is_empty(sqs, stack)
    assert customer_of(client, ANA) == ana  # her identity stays for the erasure to delete
    assert not [item for item in table_items(stack) if "mid.a7" in item or "presente" in item]

    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200
    deliver(client, sqs, stack, secrets, messenger(ANA, "mid.a8", "Alguém viu o pedido 4821?", before))
    assert queue_is_empty(sqs, stack)
    assert call(client, "get", f"/identities/messenger/{ANA}")[0] == 404
    assert not [item for item in table_items(stack) if ANA in item or "mid.a8" in item or "4821" in item]

    deliver(client, sqs, stack, secrets, messenger(ANA, "mid.a10", "Oi, sou nova aqui", requested + timedelta(hours=1)))
    again = customer_of(client, ANA)
    deliver(client, sqs, stack, secrets, messenger(ANA, "mid.a11", "Cadê o pedido 4821?", before))
    assert queue_is_empty(sqs, stack)
    view = call(client, "get", f"/customers/{again}")[1]
    assert [i["external_id"] for i in view["latest_interactions"]] == ["mid.a10"]
    assert not [item for item in table_items(stack) if "mid.a11" in item or "4821" in item]


def test_the_brands_reply_to_the_erased_person_written_before_the_erasure_makes_no_customer(
    client, sqs, stack, secrets, two_customers
) -> None:
    """The page's reply to Ana, written before her erasure, echoed back to us late (Meta's echo,
    like WhatsApp's `sent` status, names her as its recipient): neither during the erasure nor
    after it does it make her a customer again. A reply written after the erasure does."""
    from chalicelib.store.privacy import _mark_erasing

    ana, _ = two_customers
    requested = _mark_erasing(ana)
    assert requested is not None
    before = requested - timedelta(seconds=1)

    def echo(mid: str, text: str, at: datetime) -> bytes:
        return meta_message(PAGE, ANA, mid, text, at, echo=True)

    deliver(client, sqs, stack, secrets, echo("mid.r1", "Ana, o pedido 4821 sai hoje", before))
    assert queue_is_empty(sqs, stack)
    assert customer_of(client, ANA) == ana
    assert not [item for item in table_items(stack) if "mid.r1" in item or "sai hoje" in item]

    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200
    deliver(client, sqs, stack, secrets, echo("mid.r2", "Ana, o pedido 4821 chegou?", before))
    assert queue_is_empty(sqs, stack)
    assert call(client, "get", f"/identities/messenger/{ANA}")[0] == 404
    assert not [item for item in table_items(stack) if ANA in item or "mid.r2" in item or "4821" in item]

    deliver(client, sqs, stack, secrets, echo("mid.r3", "Olá! Podemos ajudar?", requested + timedelta(minutes=1)))
    again = customer_of(client, ANA)
    assert again != ana
    view = call(client, "get", f"/customers/{again}")[1]
    assert [i["external_id"] for i in view["latest_interactions"]] == ["mid.r3"]


def test_a_rename_read_before_an_erasure_does_not_bring_the_identity_back(client, stack, two_customers) -> None:
    from chalicelib.models.interaction import Author
    from chalicelib.store.identities import IDENTITY, IdentityStore
    from chalicelib.store.models import IdentityItem

    ana, _ = two_customers
    read_before = IdentityItem.get(f"IDENTITY#messenger#{ANA}", IDENTITY, consistent_read=True)
    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200
    store = IdentityStore(connection=None, retention_days=30)  # type: ignore[arg-type]  # _refresh uses the models only
    store._refresh(read_before, Author(ANA, "ana.nova", "Ana Nova"), T0 + timedelta(days=3))
    assert not [item for item in table_items(stack) if ana in item or ANA in item or "Ana Nova" in item]


def test_a_crisis_alert_keeps_its_other_samples_and_loses_the_erased_customers(client, two_customers) -> None:
    ana, bruno = two_customers
    crisis = crisis_alert(
        "crisis-1",
        T0,
        sample_interactions=[
            {"customer_id": ana, "platform": "messenger", "external_id": "mid.a1"},
            {"customer_id": bruno, "platform": "messenger", "external_id": "mid.b1"},
        ],
    )
    dependencies.alert_store().record(crisis)
    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200
    kept = dependencies.alert_store().get("crisis-1")
    assert kept is not None
    assert kept.detail["sample_interactions"] == [
        {"customer_id": bruno, "platform": "messenger", "external_id": "mid.b1"}
    ]


def test_an_alert_still_in_flight_after_the_erasure_writes_nothing_back(client, stack, two_customers) -> None:
    """The processor published a churn alert about Ana just before her erasure; the notifier gets
    it after. It is dropped, and neither the alert nor a cooldown names her again."""
    from chalicelib.models.alert import AlertStatus

    ana, bruno = two_customers
    assert call(client, "delete", f"/customers/{ana}", role="admin")[0] == 200

    def envelope(customer_id: str) -> dict[str, Any]:
        detail = {"dedupe_key": f"retention:{customer_id}:1", "customer_id": customer_id, "severity": "high"}
        return {"detail-type": "Retention Alert", "time": T0.isoformat(), "detail": detail}

    notifier = dependencies.notifier()
    assert notifier.handle(envelope(ana)) is AlertStatus.SUPPRESSED
    assert not [item for item in table_items(stack) if ana in item]
    assert notifier.handle(envelope(bruno)) is AlertStatus.SENT  # someone still there is alerted as ever


def test_export_and_erasure_cost_what_the_customer_has_not_what_everyone_has(
    client, stack, two_customers, monkeypatch
) -> None:
    """Alerts are found through references in the customer's partition: neither request reads the
    alerts worklist, whose size grows with everyone's alerts over two years."""
    from chalicelib.store.models import AlertItem, AlertRefItem

    ana, _ = two_customers
    refs = list(AlertRefItem.query(f"CUSTOMER#{ana}", AlertRefItem.sk.startswith("ALERT#")))
    assert [ref.relation for ref in refs] == ["about"]

    def everyones(*args: object, **kwargs: object) -> object:
        raise AssertionError("read every alert")

    monkeypatch.setattr(AlertItem.worklist, "query", everyones)
    status, document = call(client, "get", f"/customers/{ana}/export", role="admin")
    assert status == 200
    assert [alert["alert_id"] for alert in document["alerts"]] == [refs[0].alert_id]
    status, report = call(client, "delete", f"/customers/{ana}", role="admin")
    assert (status, report["erased"]["alerts"]) == (200, 1)
