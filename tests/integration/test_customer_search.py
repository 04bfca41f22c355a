"""Customer search on moto, fed through the real pipeline (signed webhook -> queue -> processor):
a customer is found by name prefix, handle, platform user id, and the e-mail addresses and phone
numbers they wrote, though the table keeps none of those in clear; indexing writes only what is
new, once, whatever is delivered again; the same address in two customers' messages suggests
linking them; and a search over 10,000 customers answers in under 300 ms."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE
from chalicelib.adapters.aws import client as aws_client
from tests.customer_helpers import (
    audit_actions,
    customer_of,
    deliver,
    find,
    found_ids,
    items,
    messenger,
    post,
    telegram,
)
from tests.helpers import call
from tools.fake_comprehend import FakeComprehend
from tools.secrets import keys_name, split

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
JOAO, JOANA = 6100000042, 6100000043
JOAO_TEXT = "Meu e-mail é Joao.Silva@Example.com e o cel +55 (11) 91234-5678, pedido 4821 atrasado"


def rebuild() -> None:
    """The app's dependencies built afresh, as in a cold Lambda, with Comprehend answered offline
    (nothing here depends on the analysis itself)."""
    dependencies.reset()
    FakeComprehend().install(aws_client("comprehend", WORKER_PROFILE), aws_client("translate", WORKER_PROFILE))


@pytest.fixture
def stack(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
    rebuild()
    yield aws
    dependencies.reset()


@pytest.fixture
def joao(client: Any, sqs: Any, stack: dict[str, str], secrets: dict[str, Any]) -> str:
    body = telegram(JOAO, JOAO_TEXT, T0, "João", "Silva", "JoaoSilva42")
    deliver(client, sqs, stack, secrets, "telegram", body)
    return customer_of(client, "telegram", str(JOAO))


def test_a_customer_is_found_by_name_handle_user_id_email_and_phone(client, joao) -> None:
    for query in (
        "joão",
        "jo",
        "JOAO",
        "Joao Si",
        "silva",
        "@joaosilva42",
        "JoaoSilva42",
        str(JOAO),
        "joao.silva@example.com",
        "+55 11 91234-5678",
        "5511912345678",
    ):
        assert found_ids(client, query) == [joao], query
    for query in ("jx", "joana", "silva joao", "@joaosilva4", "6100000044", "maria@example.com", "+55 11 91234-0000"):
        assert found_ids(client, query) == [], query
    status, body = find(client, "Joao.Silva@EXAMPLE.com")
    assert status == 200
    (row,) = body["customers"]
    assert row == {
        "customer_id": joao,
        "display_name": "João Silva",
        "handle": "JoaoSilva42",
        "platforms": ["telegram"],
        "last_contact_at": row["last_contact_at"],
        "matched": ["email"],
    }
    assert datetime.fromisoformat(row["last_contact_at"]) == T0
    assert find(client, "5511912345678")[1]["customers"][0]["matched"] == ["phone"]
    assert find(client, str(JOAO))[1]["customers"][0]["matched"] == ["user"]
    assert find(client, "jo")[1]["customers"][0]["matched"] == ["name"]


def test_nothing_searchable_is_kept_in_clear(stack, joao) -> None:
    everything = items(stack)
    index = [item for item in everything if item["pk"]["S"].startswith("SEARCH#")]
    (listing,) = [item for item in everything if item["sk"]["S"] == "SEARCHKEYS"]
    assert len(index) == len(listing["entries"]["SS"]) >= 15  # name prefixes, handle, user id, e-mail, phone
    for entry in index:
        assert set(entry) == {"pk", "sk", "item_type", "customer_id", "kind"}
        assert entry["sk"]["S"] == f"CUSTOMER#{joao}"
        assert len(entry["pk"]["S"]) == len("SEARCH#") + 64
    kinds = sorted(entry.split(":")[0] for entry in listing["entries"]["SS"])
    assert {"email", "handle", "name", "phone", "user"} == set(kinds)
    assert kinds.count("email") == kinds.count("phone") == 1
    searchable = [json.dumps(item).lower() for item in [*index, listing]]
    for clear in ("joao", "silva", "example", "91234", "5678", str(JOAO), "@"):
        assert not [text for text in searchable if clear in text], clear
    # Nowhere else either: the message is stored redacted, as it always was.
    for clear in ("joao.silva@example.com", "91234-5678", "5511912345678"):
        assert not [item for item in everything if clear in json.dumps(item, ensure_ascii=False).lower()], clear


def test_results_are_newest_contact_first_and_say_what_matched(client, sqs, stack, secrets, joao) -> None:
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOANA, "Olá", T0 - timedelta(hours=1), "Joana", "Lima"))
    joana = customer_of(client, "telegram", str(JOANA))
    assert found_ids(client, "jo") == [joao, joana]
    assert found_ids(client, "lima") == [joana]
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOANA, "Oi de novo", T0 + timedelta(hours=1), "Joana"))
    assert found_ids(client, "jo") == [joana, joao]  # she wrote last
    assert found_ids(client, "JÓ") == [joana, joao]
    status, body = find(client, "jo", limit="1")
    assert (status, [row["customer_id"] for row in body["customers"]]) == (200, [joana])


def test_short_queries_are_refused_and_no_query_reaches_a_log(client, stack, joao, capfd) -> None:
    capfd.readouterr()
    for params in ("q=j", "q=%20j%20", "", "q=jo&limit=0", "q=jo&limit=51", "q=jo&limit=x"):
        status, body = call(client, "get", f"/customers?{params}", role="agent")
        assert status == 400, (params, body)
    status, body = call(client, "get", "/customers?q=Z", role="agent")
    assert (status, body["Message"]) == (400, "q: at least 2 characters")  # the query is not repeated
    assert find(client, "Zefirino Ninguém")[0] == 200
    assert find(client, "zefirino.unico@example.org")[0] == 200
    out, err = capfd.readouterr()
    for secret in ("Zefirino", "zefirino", "Ningu", "unico@example"):
        assert secret not in out + err


def test_without_a_search_key_nothing_is_indexed_and_search_says_so(client, sqs, stack, secrets) -> None:
    without = {key: value for key, value in secrets.items() if key != "search_key"}
    boto3.client("secretsmanager").put_secret_value(
        SecretId=keys_name("dev"), SecretString=json.dumps(split(without).keys)
    )
    rebuild()
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOAO, JOAO_TEXT, T0, "João", "Silva"))
    assert customer_of(client, "telegram", str(JOAO))  # stored all the same
    assert not [item for item in items(stack) if item["pk"]["S"].startswith("SEARCH#")]
    status, body = find(client, "joao")
    assert status == 503
    assert "search_key" in body["Message"]

    boto3.client("secretsmanager").put_secret_value(
        SecretId=keys_name("dev"), SecretString=json.dumps(split(secrets).keys)
    )
    rebuild()
    deliver(
        client,
        sqs,
        stack,
        secrets,
        "telegram",
        telegram(JOAO, "Alguma novidade?", T0 + timedelta(minutes=5), "João", "Silva"),
    )
    assert found_ids(client, "joao") == [customer_of(client, "telegram", str(JOAO))]


class Writes:
    """Counts the index's transactions and the entries they wrote."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from chalicelib.store.directory import DirectoryStore

        self.calls: list[int] = []
        original = DirectoryStore._add

        def counted(store: Any, customer_id: str, part: Any) -> bool:
            self.calls.append(len(part))
            return original(store, customer_id, part)

        monkeypatch.setattr(DirectoryStore, "_add", counted)


def test_indexing_writes_only_what_is_new(client, sqs, stack, secrets, monkeypatch) -> None:
    writes = Writes(monkeypatch)
    first = telegram(JOAO, "Bom dia", T0, "João", "Silva", "JoaoSilva42")
    deliver(client, sqs, stack, secrets, "telegram", first)
    assert len(writes.calls) == 1
    assert writes.calls[0] >= 10
    deliver(
        client, sqs, stack, secrets, "telegram", telegram(JOAO, "Obrigado", T0 + timedelta(minutes=1), "João", "Silva")
    )
    assert len(writes.calls) == 1  # nothing new about him: no write at all
    deliver(client, sqs, stack, secrets, "telegram", first)  # the platform delivers the same message again
    assert len(writes.calls) == 1
    deliver(
        client, sqs, stack, secrets, "telegram", telegram(JOAO, JOAO_TEXT, T0 + timedelta(minutes=2), "João", "Silva")
    )
    assert writes.calls[1:] == [2]  # his e-mail address and phone number
    deliver(
        client,
        sqs,
        stack,
        secrets,
        "telegram",
        telegram(JOAO, "Sou eu", T0 + timedelta(minutes=3), "João", "Silva Costa"),
    )
    # "co" to "costa" and "joao silva c" to "joao silva costa": nine new name prefixes, nothing else
    assert writes.calls[2:] == [9]
    customer = customer_of(client, "telegram", str(JOAO))
    assert found_ids(client, "costa") == [customer] == found_ids(client, "Joao Silva C")


def test_a_redelivery_after_a_failure_to_store_indexes_nothing_twice(client, sqs, stack, secrets, monkeypatch) -> None:
    """The message is indexed before it is stored; storing fails (DynamoDB throttles), SQS brings
    the record back: the second attempt writes no entry again, and the message is stored once."""
    from chalicelib.store.customers import CustomerStore

    writes = Writes(monkeypatch)
    post(client, secrets, "telegram", telegram(JOAO, JOAO_TEXT, T0, "João", "Silva"))
    queue = stack["SOCIALCRM_INGEST_QUEUE_URL"]
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    processor = dependencies.interaction_processor()
    original, failures = CustomerStore.add, [1]

    def add_failing_once(store: Any, *args: Any, **kwargs: Any) -> Any:
        if failures:
            failures.pop()
            raise RuntimeError("throttled")
        return original(store, *args, **kwargs)

    monkeypatch.setattr(CustomerStore, "add", add_failing_once)
    prepared = processor.prepare({message["MessageId"]: message["Body"]}, 60_000)
    with pytest.raises(RuntimeError, match="throttled"):
        processor.complete(prepared[message["MessageId"]])
    assert len(writes.calls) == 1
    entries = [item for item in items(stack) if item["pk"]["S"].startswith("SEARCH#")]
    prepared = processor.prepare({message["MessageId"]: message["Body"]}, 60_000)  # its claim was released
    processor.complete(prepared[message["MessageId"]])
    assert len(writes.calls) == 1
    assert [item for item in items(stack) if item["pk"]["S"].startswith("SEARCH#")] == entries
    customer = customer_of(client, "telegram", str(JOAO))
    assert call(client, "get", f"/customers/{customer}")[1]["aggregates"]["interaction_count"] == 1
    assert found_ids(client, "joao.silva@example.com") == [customer]


def suggestions(client: Any, customer_id: str) -> list[dict[str, Any]]:
    status, body = call(client, "get", f"/customers/{customer_id}/links", role="agent")
    assert status == 200, body
    return list(body["suggestions"])


def test_the_same_email_or_phone_in_two_customers_messages_suggests_linking_them(client, sqs, stack, secrets) -> None:
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOAO, JOAO_TEXT, T0, "João", "Silva"))
    on_messenger = messenger(
        "25000000000000333", "mid.j1", "Escrevi antes: JOAO.SILVA@example.com", T0 + timedelta(hours=1)
    )
    deliver(client, sqs, stack, secrets, "meta", on_messenger)
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOANA, "Meu e-mail: joana@example.com", T0, "Joana"))
    tg, ms = customer_of(client, "telegram", str(JOAO)), customer_of(client, "messenger", "25000000000000333")
    joana = customer_of(client, "telegram", str(JOANA))
    seen = (T0 + timedelta(hours=1)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert suggestions(client, tg) == [
        {"customer_id": ms, "display_name": None, "handle": None, "reasons": [{"kind": "email", "seen_at": seen}]}
    ]
    assert [(s["customer_id"], s["display_name"]) for s in suggestions(client, ms)] == [(tg, "João Silva")]
    assert suggestions(client, joana) == []
    # The same number too: a second reason, on both sides. Delivered twice: nothing changes.
    number = messenger("25000000000000333", "mid.j2", "meu whatsapp 5511912345678", T0 + timedelta(hours=2))
    deliver(client, sqs, stack, secrets, "meta", number)
    deliver(client, sqs, stack, secrets, "meta", number)
    assert [r["kind"] for r in suggestions(client, tg)[0]["reasons"]] == ["email", "phone"]
    assert [r["kind"] for r in suggestions(client, ms)[0]["reasons"]] == ["email", "phone"]
    assert len([item for item in items(stack) if item["sk"]["S"].startswith("SUGGEST#")]) == 2
    for item in [item for item in items(stack) if item["sk"]["S"].startswith("SUGGEST#")]:
        assert "example" not in json.dumps(item)
        assert "91234" not in json.dumps(item)

    # A person confirms it by linking them: the suggestion goes on both sides.
    status, link = call(client, "post", f"/customers/{ms}/links", {"customer_id": tg}, role="agent")
    assert status == 201, link
    assert suggestions(client, tg) == suggestions(client, ms) == []
    assert not [item for item in items(stack) if item["sk"]["S"].startswith("SUGGEST#")]
    # Linked, the same number written again suggests nothing.
    deliver(
        client, sqs, stack, secrets, "telegram", telegram(JOAO, "cel 5511912345678", T0 + timedelta(hours=3), "João")
    )
    assert suggestions(client, tg) == suggestions(client, ms) == []


def test_a_dismissed_suggestion_stays_dismissed_on_both_sides(client, sqs, stack, secrets) -> None:
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOAO, "tel +55 11 91234-5678", T0, "João"))
    deliver(client, sqs, stack, secrets, "telegram", telegram(JOANA, "tel 5511912345678", T0, "Joana"))
    joao, joana = customer_of(client, "telegram", str(JOAO)), customer_of(client, "telegram", str(JOANA))
    assert [s["customer_id"] for s in suggestions(client, joao)] == [joana]
    assert call(client, "delete", f"/customers/{joana}/suggestions/{joao}", role="agent")[0] == 200
    assert suggestions(client, joao) == suggestions(client, joana) == []
    assert call(client, "delete", f"/customers/{joana}/suggestions/{joao}", role="agent")[0] == 404
    assert ("customer.suggestion.dismiss", f"customer:{joana}", json.dumps({"customer_id": joao})) in [
        (action, subject, json.dumps(json.loads(detail))) for action, subject, detail in audit_actions(stack)
    ]
    again = telegram(JOANA, "de novo, meu tel 5511912345678", T0 + timedelta(hours=1), "Joana")
    deliver(client, sqs, stack, secrets, "telegram", again)
    assert suggestions(client, joao) == suggestions(client, joana) == []
    status, document = call(client, "get", f"/customers/{joao}/export", role="admin")
    assert status == 200
    (kept,) = document["suggestions"]
    assert (kept["customer_id"], kept["dismissed_by"]) == (joana, "cognito:agent@example.com")


def test_an_address_many_customers_write_is_no_ones_and_suggests_nothing(client, sqs, stack, secrets) -> None:
    """Customers quote the brand's own support address: beyond three customers it suggests nothing."""
    people = [6100000100 + n for n in range(5)]
    for number, user in enumerate(people):
        text = f"Já escrevi para SAC@marca.com.br {number + 1} vezes"
        deliver(
            client,
            sqs,
            stack,
            secrets,
            "telegram",
            telegram(user, text, T0 + timedelta(minutes=number), f"Pessoa{number}"),
        )
    ids = [customer_of(client, "telegram", str(user)) for user in people]
    assert suggestions(client, ids[3]) == suggestions(client, ids[4]) == []
    assert sorted(found_ids(client, "sac@marca.com.br")) == sorted(ids)


# Realistic names for 10,000 customers: a short prefix matches hundreds of them.
FIRST = ["Joao", "Maria", "Ana", "Pedro", "Lucas", "Julia", "Jose", "Carla", "Bruno", "Fernanda", "Rafael", "Camila",
         "Marcos", "Beatriz", "Tiago", "Larissa", "Jorge", "Joana", "Paulo", "Sofia"]  # fmt: skip
LAST = ["Silva", "Santos", "Oliveira", "Souza", "Lima", "Pereira", "Costa", "Rodrigues", "Almeida", "Dias",
        "Carvalho", "Gomes", "Martins", "Araujo", "Ribeiro", "Barbosa", "Rocha", "Teixeira", "Mendes"]  # fmt: skip
CUSTOMERS = 10_000
BUDGET_SECONDS = 0.3


def seed(env: dict[str, str], key: bytes) -> dict[str, str]:
    """10,000 customers, each with a profile and the index entries the processor would write,
    straight into moto's table (through the API it would take minutes). Returns name -> id of a few."""
    import random

    from moto.core.models import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends
    from moto.dynamodb.models.dynamo_type import DynamoType, Item

    from chalicelib.rules import search

    table = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].get_table(env["SOCIALCRM_TABLE"])

    def put(attributes: dict[str, Any]) -> None:
        hash_key, range_key = DynamoType(attributes["pk"]), DynamoType(attributes["sk"])
        item = Item(hash_key, range_key, {})
        # moto sums the item's size again for each attribute it sets; these items are small.
        dict.update(item.attrs, {name: DynamoType(value) for name, value in attributes.items()})
        table.items[hash_key][range_key] = item

    chosen = random.Random(10)
    some: dict[str, str] = {}
    for number in range(CUSTOMERS):
        customer_id = f"seed-{number:05d}"
        name = f"{chosen.choice(FIRST)} {chosen.choice(LAST)}"
        last = (T0 - timedelta(minutes=number)).strftime("%Y-%m-%dT%H:%M:%S.%f+0000")
        put(
            {
                "pk": {"S": f"CUSTOMER#{customer_id}"},
                "sk": {"S": "PROFILE"},
                "item_type": {"S": "customer"},
                "customer_id": {"S": customer_id},
                "created_at": {"S": last},
                "display_name": {"S": name},
                "handle": {"S": f"handle{number}"},
                "last_contact_at": {"S": last},
                "last_platform": {"S": "telegram"},
                "platform_counts": {"M": {"telegram": {"N": "5"}}},
                "interaction_count": {"N": "5"},
                "version": {"N": "1"},
            }
        )
        for kind, value in search.profile_terms(str(7100000000 + number), f"handle{number}", name):
            put(
                {
                    "pk": {"S": f"SEARCH#{search.digest(key, kind, value)}"},
                    "sk": {"S": f"CUSTOMER#{customer_id}"},
                    "item_type": {"S": "search_entry"},
                    "customer_id": {"S": customer_id},
                    "kind": {"S": kind},
                }
            )
        some.setdefault(name, customer_id)
    return some


def test_a_search_over_10000_customers_answers_in_under_300_ms(stack, secrets, local_stack_moto) -> None:
    some = seed(stack, secrets["search_key"].encode())
    directory = dependencies.customer_directory()
    directory.search("warm up")  # the connection's first DescribeTable, once per container
    timings: dict[str, float] = {}
    for query in ("jo", "ma", "silva", "joao si", "Maria Oliveira", "@handle4242", "7100004242", "nobody@example.com"):
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            found = directory.search(query)
            runs.append(time.perf_counter() - started)
        timings[query] = statistics.median(runs)
        if query in ("jo", "ma", "silva"):
            assert len(found) == 20
        if query == "@handle4242":
            assert [match.customer_id for match in found] == ["seed-04242"]
        if query == "Maria Oliveira":
            assert some["Maria Oliveira"] in [match.customer_id for match in found]
            assert all(match.display_name == "Maria Oliveira" for match in found)
    slow = {query: round(seconds * 1000) for query, seconds in timings.items() if seconds >= BUDGET_SECONDS}
    assert not slow, f"searches over {BUDGET_SECONDS * 1000:.0f} ms: {slow}"
