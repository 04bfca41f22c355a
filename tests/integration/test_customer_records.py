"""What a customer record promises over time, through the whole pipeline on moto (signed webhook
-> queue -> processor -> DynamoDB -> ops API): the names and handles shown are the customer's
current ones, and stored interactions carry the table's TTL attribute, `expires_at`, set to when
they occurred plus the stage's retention period."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.cli.factory import CLIFactory

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE
from chalicelib.adapters.aws import client as aws_client
from chalicelib.models.interaction import iso
from chalicelib.store.models import InteractionItem, PointerItem
from tests.helpers import call, process_queue
from tools.fake_comprehend import FakeComprehend
from tools.template import load as load_template
from tools.webhook_client import sign

PROJECT_DIR = Path(__file__).resolve().parents[2]
DAY = 86_400

T0 = datetime(2025, 11, 22, 12, 0, tzinfo=UTC)  # when the customer first writes
TELEGRAM_USER = "5151"
X_BRAND = "3300000001"
X_USER = "1480000000000000777"


def rebuild() -> None:
    """The app's dependencies built afresh, as in a cold Lambda. Comprehend is answered offline
    (tools/fake_comprehend.py): nothing checked here depends on the analysis, and the offline
    analyzer's encoder would cost a second or more per batch."""
    dependencies.reset()
    FakeComprehend().install(aws_client("comprehend", WORKER_PROFILE), aws_client("translate", WORKER_PROFILE))


@pytest.fixture
def stack(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
    rebuild()
    yield aws
    dependencies.reset()


def epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def post(client: Any, secrets: dict[str, Any], channel: str, body: dict[str, Any]) -> None:
    raw = json.dumps(body).encode()
    request = sign(channel, raw, secrets)
    response = client.http.post(request.path, headers=request.headers, body=raw)
    assert response.status_code == 200, response.body


def telegram(
    message_id: int,
    sent: datetime,
    username: str | None,
    first_name: str,
    last_name: str | None = None,
    text: str = "Dzień dobry, mam pytanie o zamówienie",
    edited: datetime | None = None,
) -> dict[str, Any]:
    sender: dict[str, Any] = {"id": int(TELEGRAM_USER), "is_bot": False, "first_name": first_name}
    if last_name is not None:
        sender["last_name"] = last_name
    if username is not None:
        sender["username"] = username
    message: dict[str, Any] = {
        "message_id": message_id,
        "from": sender,
        "chat": {"id": int(TELEGRAM_USER), "type": "private"},
        "date": epoch(sent),
        "text": text,
    }
    key = "message"
    if edited is not None:
        message["edit_date"] = epoch(edited)
        key = "edited_message"
    return {"update_id": message_id * 10 + (1 if edited else 0), key: message}  # one id per update


def x_mention(tweet_id: str, sent: datetime, screen_name: str, name: str) -> dict[str, Any]:
    tweet = {
        "created_at": sent.strftime("%a %b %d %H:%M:%S +0000 %Y"),
        "id_str": tweet_id,
        "text": "@acmecafe_demo o meu pedido ainda não chegou",
        "lang": "pt",
        "user": {"id_str": X_USER, "screen_name": screen_name, "name": name},
    }
    return {"for_user_id": X_BRAND, "tweet_create_events": [tweet]}


def get(client: Any, path: str) -> Any:
    status, body = call(client, "get", path)
    assert status == 200, body
    return body


def customer_of(client: Any, platform: str, user_id: str) -> str:
    return str(get(client, f"/identities/{platform}/{user_id}")["customer_id"])


def names(env: dict[str, str], client: Any, platform: str, user_id: str) -> dict[str, Any]:
    """Every copy of the customer's names: the profile and the identity as the ops API shows them,
    and the unique identity item (of which the API shows only the customer id)."""
    customer_id = customer_of(client, platform, user_id)
    view = get(client, f"/customers/{customer_id}")
    table = boto3.resource("dynamodb").Table(env["SOCIALCRM_TABLE"])
    unique = table.get_item(Key={"pk": f"IDENTITY#{platform}#{user_id}", "sk": "IDENTITY"}, ConsistentRead=True)
    return {
        "profile": (view["handle"], view["display_name"]),
        "identities": [(i["platform"], i["user_id"], i["handle"], i["display_name"]) for i in view["identities"]],
        "unique": (unique["Item"]["customer_id"], unique["Item"]["handle"], unique["Item"]["display_name"]),
    }


def expect_names(customer_id: str, platform: str, user_id: str, handle: str, display_name: str) -> dict[str, Any]:
    return {
        "profile": (handle, display_name),
        "identities": [(platform, user_id, handle, display_name)],
        "unique": (customer_id, handle, display_name),
    }


# --- names and handles -------------------------------------------------------------------------


def test_a_telegram_customer_who_renames_is_shown_under_the_new_name(client, sqs, stack, secrets) -> None:
    queue = stack["SOCIALCRM_INGEST_QUEUE_URL"]
    post(client, secrets, "telegram", telegram(1, T0, "marta_k", "Marta", "Kowalska"))
    process_queue(sqs, queue)
    customer_id = customer_of(client, "telegram", TELEGRAM_USER)
    assert names(stack, client, "telegram", TELEGRAM_USER) == expect_names(
        customer_id, "telegram", TELEGRAM_USER, "marta_k", "Marta Kowalska"
    )

    # Renamed minutes later: within the day in which last-seen is not rewritten, a rename still is.
    post(client, secrets, "telegram", telegram(2, T0 + timedelta(minutes=5), "marta_nowak", "Marta", "Nowak"))
    process_queue(sqs, queue)
    assert names(stack, client, "telegram", TELEGRAM_USER) == expect_names(
        customer_id, "telegram", TELEGRAM_USER, "marta_nowak", "Marta Nowak"
    )

    # And again days later, the first name too.
    later = T0 + timedelta(days=3, hours=2)
    post(client, secrets, "telegram", telegram(3, later, "gosia_nowak", "Małgorzata", "Nowak"))
    process_queue(sqs, queue)
    assert names(stack, client, "telegram", TELEGRAM_USER) == expect_names(
        customer_id, "telegram", TELEGRAM_USER, "gosia_nowak", "Małgorzata Nowak"
    )
    view = get(client, f"/customers/{customer_id}")
    assert view["customer_id"] == customer_id
    ((first_seen, last_seen),) = [(i["first_seen_at"], i["last_seen_at"]) for i in view["identities"]]
    assert (first_seen, last_seen) == (iso(T0), iso(later))
    assert view["aggregates"]["interaction_count"] == 3


def test_an_x_customer_who_changes_handle_and_name_keeps_one_identity(client, sqs, stack, secrets) -> None:
    queue = stack["SOCIALCRM_INGEST_QUEUE_URL"]
    post(client, secrets, "x", x_mention("1860000000000000501", T0, "ana_exemplo", "Ana Exemplo"))
    process_queue(sqs, queue)
    customer_id = customer_of(client, "x", X_USER)

    later = T0 + timedelta(days=2, hours=5)
    post(client, secrets, "x", x_mention("1860000000000000502", later, "ana_nova", "Ana Nova 🌸"))
    process_queue(sqs, queue)

    assert names(stack, client, "x", X_USER) == expect_names(customer_id, "x", X_USER, "ana_nova", "Ana Nova 🌸")
    view = get(client, f"/customers/{customer_id}")
    assert view["customer_id"] == customer_id
    ((first_seen, last_seen),) = [(i["first_seen_at"], i["last_seen_at"]) for i in view["identities"]]
    assert (first_seen, last_seen) == (iso(T0), iso(later))
    assert view["aggregates"]["platform_counts"] == {"x": 2}


def test_an_older_message_delivered_late_does_not_bring_back_the_old_name(client, sqs, stack, secrets) -> None:
    queue = stack["SOCIALCRM_INGEST_QUEUE_URL"]
    renamed_at = T0 + timedelta(days=1)
    post(client, secrets, "telegram", telegram(1, T0, "marta_k", "Marta", "Kowalska"))
    process_queue(sqs, queue)
    post(client, secrets, "telegram", telegram(3, renamed_at, "marta_nowak", "Marta", "Nowak"))
    process_queue(sqs, queue)
    customer_id = customer_of(client, "telegram", TELEGRAM_USER)
    current = expect_names(customer_id, "telegram", TELEGRAM_USER, "marta_nowak", "Marta Nowak")
    assert names(stack, client, "telegram", TELEGRAM_USER) == current

    # Sent between the two under the old name, delivered only now (a retry, an outage upstream).
    post(client, secrets, "telegram", telegram(2, T0 + timedelta(hours=12), "marta_k", "Marta", "Kowalska"))
    process_queue(sqs, queue)

    view = get(client, f"/customers/{customer_id}")
    assert view["aggregates"]["interaction_count"] == 3  # the late message itself is kept
    assert [i["last_seen_at"] for i in view["identities"]] == [iso(renamed_at)]
    assert names(stack, client, "telegram", TELEGRAM_USER) == current


# --- retention ---------------------------------------------------------------------------------


def stage_retention_days(stage: str) -> str:
    """SOCIALCRM_RETENTION_DAYS as the deploy hands it to the queue consumer (.chalice/config.json)."""
    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage)
    return str(config.scope(stage, "process_interactions").environment_variables["SOCIALCRM_RETENTION_DAYS"])


def process_with_retention(sqs: Any, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, days: str | None) -> None:
    """Run the consumer under this retention setting (None: unset), its dependencies built afresh.
    (The test client applies the stage's variables to API calls only, so the setting is explicit.)"""
    if days is None:
        monkeypatch.delenv("SOCIALCRM_RETENTION_DAYS", raising=False)
    else:
        monkeypatch.setenv("SOCIALCRM_RETENTION_DAYS", days)
    rebuild()
    process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"])


def stored(env: dict[str, str], external_id: str) -> tuple[dict[str, Any], int, int]:
    """The raw interaction item as DynamoDB holds it, its `expires_at` and its pointer's."""
    dynamodb = boto3.client("dynamodb")
    pointer = dynamodb.get_item(
        TableName=env["SOCIALCRM_TABLE"],
        Key={"pk": {"S": f"INTERACTION#telegram#{external_id}"}, "sk": {"S": "POINTER"}},
        ConsistentRead=True,
    )["Item"]
    item = dynamodb.get_item(
        TableName=env["SOCIALCRM_TABLE"],
        Key={"pk": {"S": f"CUSTOMER#{pointer['customer_id']['S']}"}, "sk": pointer["interaction_sk"]},
        ConsistentRead=True,
    )["Item"]
    assert set(item["expires_at"]) == set(pointer["expires_at"]) == {"N"}  # epoch seconds: all TTL reads
    return item, int(item["expires_at"]["N"]), int(pointer["expires_at"]["N"])


def test_the_deployed_table_expires_items_on_the_attribute_the_store_writes() -> None:
    table = load_template()["Resources"]["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert InteractionItem.expires_at.attr_name == PointerItem.expires_at.attr_name == "expires_at"


def test_the_provisioned_tables_have_ttl_as_the_template_says(stack) -> None:
    """moto's CloudFormation drops TimeToLiveSpecification; the local stack applies it itself."""
    dynamodb = boto3.client("dynamodb")
    # The idempotency table's attribute is Powertools' own name for a claim's expiry.
    for table, attribute in (
        (stack["SOCIALCRM_TABLE"], "expires_at"),
        (stack["SOCIALCRM_IDEMPOTENCY_TABLE"], "expiration"),
    ):
        described = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
        assert described == {"TimeToLiveStatus": "ENABLED", "AttributeName": attribute}, table


def test_an_interaction_expires_the_stage_retention_after_it_occurred_and_edits_keep_that(
    client, sqs, stack, secrets, monkeypatch
) -> None:
    days = stage_retention_days("dev")
    assert days == "30"  # what the dev stage deploys; the expiries below are checked against it
    sent = T0 - timedelta(hours=7, minutes=13, seconds=5)
    expiry = epoch(sent) + 30 * DAY

    def deliver(body: dict[str, Any], external_id: str) -> dict[str, Any]:
        post(client, secrets, "telegram", body)
        process_with_retention(sqs, stack, monkeypatch, days)
        item, expires_at, pointer_expires_at = stored(stack, external_id)
        assert (expires_at, pointer_expires_at) == (expiry, expiry)
        return item

    # Message 40: the original, then its edit a week later.
    first = deliver(telegram(40, sent, "marta_k", "Marta", text="Gdzie jest paczka?"), "5151:40")
    assert (first["action"]["S"], first["text"]["S"]) == ("created", "Gdzie jest paczka?")
    edited = telegram(40, sent, "marta_k", "Marta", text="Gdzie jest paczka? Nr 12345", edited=sent + timedelta(days=7))
    item = deliver(edited, "5151:40")
    assert (item["action"]["S"], item["text"]["S"]) == ("edited", "Gdzie jest paczka? Nr 12345")
    assert item["occurred_at"]["S"] == "2025-11-22T04:46:55.000000+0000"  # the original's time, not the edit's

    # Message 41: the edit overtook its original; the original then finds it stored.
    edited = telegram(41, sent, "marta_k", "Marta", text="Jednak wszystko dotarło", edited=sent + timedelta(days=2))
    item = deliver(edited, "5151:41")
    assert (item["action"]["S"], item["text"]["S"]) == ("edited", "Jednak wszystko dotarło")
    item = deliver(telegram(41, sent, "marta_k", "Marta", text="Gdzie jest paczka 2?"), "5151:41")
    assert (item["action"]["S"], item["text"]["S"]) == ("edited", "Jednak wszystko dotarło")

    customer_id = customer_of(client, "telegram", TELEGRAM_USER)
    page = get(client, f"/customers/{customer_id}/interactions")
    assert sorted(i["external_id"] for i in page["interactions"]) == ["5151:40", "5151:41"]


def test_the_retention_setting_decides_the_expiry(client, sqs, stack, secrets, monkeypatch) -> None:
    settings: list[tuple[str | None, int]] = [("30", 30), ("7", 7), ("400", 400), (None, 365)]  # unset: the default
    for number, (setting, _) in enumerate(settings):
        post(client, secrets, "telegram", telegram(50 + number, T0 + timedelta(hours=number), "marta_k", "Marta"))
        process_with_retention(sqs, stack, monkeypatch, setting)

    found = [stored(stack, f"5151:{50 + number}")[1:] for number in range(len(settings))]
    assert found == [
        (epoch(T0 + timedelta(hours=number)) + days * DAY,) * 2 for number, (_, days) in enumerate(settings)
    ]  # each as set when it was stored: a later setting does not rewrite what is there
