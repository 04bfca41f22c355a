"""The data lake on moto through the real pipeline: the bus's events reach the lake queue by the
lake's rule, the archiver puts pseudonymised records on Firehose, Firehose writes them to S3, and
the README's Athena queries (infra/lake/*.sql) run unchanged on them in DuckDB, over the Glue
tables' own columns. Their answers equal a recount from what DynamoDB stores, redeliveries
included; erasure takes away the only way from a customer to their rows."""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from chalicelib import dependencies
from chalicelib.config import lake_queue_name
from chalicelib.handlers import lake as lake_handler
from chalicelib.store import keys
from tests.helpers import call, process_queue
from tests.integration.test_insight import COMPLAINT, messenger, post, stored, telegram
from tests.integration.test_insight_topics import NEGATIVE_BURST
from tools import lake

BURST_PAGE_USERS = [f"2500000000000030{n}" for n in range(len(NEGATIVE_BURST))]


def peek(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on a queue, left on it: each is received once (hidden until the queue is
    empty), then shown again, so no receive count reaches the queue's redrive limit."""
    found: list[dict[str, Any]] = []
    while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60).get("Messages"):
        found += got
    for message in found:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return found


def lake_messages(sqs: Any) -> list[dict[str, Any]]:
    """Everything the lake's rule put on the lake queue (delivery is at least once)."""
    return peek(sqs, sqs.get_queue_url(QueueName=lake_queue_name())["QueueUrl"])


def archive(messages: list[dict[str, Any]]) -> dict[str, Any]:
    records = [{"messageId": m["MessageId"], "body": m["Body"], "receiptHandle": m["ReceiptHandle"]} for m in messages]
    return lake_handler.handle({"Records": records}, None)


def lake_rows(folder: Path) -> Any:
    """The lake bucket's records (the stack's, as provisioning names it) in DuckDB."""
    assert lake.download(boto3.client("s3"), os.environ["SOCIALCRM_LAKE_BUCKET"], folder) > 0
    return lake.connect(folder)


def test_the_lake_answers_the_readme_queries_as_a_recount_of_the_store(client, sqs, pipeline, secrets) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(hours=2)
    burst = now.replace(minute=0, second=0) - timedelta(minutes=20)  # one hour, one of the last three
    url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post(
        client,
        secrets,
        messenger("25000000000000101", "mid.l1", COMPLAINT, t0),
        messenger("25000000000000102", "mid.l2", "Thank you so much, the new phone is wonderful!", t0),
        telegram(7101, 7101, "Quero cancelar o meu plano, o serviço é péssimo", t0 + timedelta(minutes=3)),
        *[
            messenger(user, f"mid.lb{n}", text, burst + timedelta(seconds=n))
            for n, (user, text) in enumerate(zip(BURST_PAGE_USERS, NEGATIVE_BURST, strict=True))
        ],
    )
    first = peek(sqs, url)
    assert len(first) == 3 + len(NEGATIVE_BURST)
    for message in first[:3]:  # at least once: some come twice
        sqs.send_message(QueueUrl=url, MessageBody=message["Body"])
    process_queue(sqs, url)
    post(
        client,
        secrets,
        messenger("25000000000000101", "mid.lr", "So sorry, it ships today", t0 + timedelta(minutes=20), echo=True),
    )
    process_queue(sqs, url)
    dependencies.topics().count(now)

    # Every event reached the lake queue by the rule; archived twice (a redelivered batch).
    messages = lake_messages(sqs)
    kinds = Counter(json.loads(m["Body"])["detail-type"] for m in messages)
    assert kinds["Interaction Stored"] == 3 + len(NEGATIVE_BURST) + 1
    assert kinds["Case Opened"] >= 2
    for _ in range(2):
        assert archive(messages) == {"batchItemFailures": []}

    items = stored(pipeline["SOCIALCRM_TABLE"])
    interactions = [i for i in items if i.get("item_type", {}).get("S") == "interaction"]
    cases = [i for i in items if i.get("item_type", {}).get("S") == "case"]
    with tempfile.TemporaryDirectory() as folder:
        engine = lake_rows(Path(folder))
        assert lake.run("SELECT count(*) AS n FROM interactions", engine)[0]["n"] == 2 * len(interactions)
        queries = lake.queries()
        assert set(queries) == {"volume_by_channel", "rising_topics", "response_times"}

        # Volume by channel: the inbound messages of each day and platform, and how many negative.
        expected: Counter[tuple[str, str]] = Counter()
        negative: Counter[tuple[str, str]] = Counter()
        for item in interactions:
            if item["direction"]["S"] == "inbound":
                key = (item["occurred_at"]["S"][:10], item["platform"]["S"])
                expected[key] += 1
                negative[key] += item.get("sentiment_label", {}).get("S") == "NEGATIVE"
        volume = lake.run(queries["volume_by_channel"], engine)
        assert {(str(r["day"]), r["platform"]): r["messages"] for r in volume} == dict(expected)
        for row in volume:
            key = (str(row["day"]), row["platform"])
            assert row["negative_pct"] == round(100.0 * negative[key] / expected[key], 1)

        # Response times: the cases answered, and how long each waited, as the cases say.
        answered = [c for c in cases if "first_response_at" in c]
        assert answered
        waits = [
            (
                datetime.fromisoformat(c["first_response_at"]["S"]) - datetime.fromisoformat(c["opened_at"]["S"])
            ).total_seconds()
            for c in answered
        ]
        (times,) = lake.run(queries["response_times"], engine)
        assert (times["team"], times["cases_answered"]) == (answered[0]["team"]["S"], len(answered))
        assert times["avg_minutes"] == round(sum(waits) / len(waits) / 60, 1)
        assert times["within_hour_pct"] == 100.0

        # Rising topics: the burst's subject, counted as the topics service counted it.
        rising = lake.run(queries["rising_topics"], engine)
        assert rising, "the burst is a rising topic"
        top = rising[0]
        assert top["topic"] == "battery"
        assert top["last_7_days"] >= 3
        assert top["weekly_before"] == 0
        counted = call(client, "get", f"/insights/topics?from={burst.date()}&to={now.date()}", role="supervisor")[1]
        assert top["last_7_days"] == next(r["count"] for r in counted["rows"] if r["topic"] == "battery")

        # Nothing in the lake names anyone: no customer id, platform user id, handle or words.
        raw = "".join(path.read_text() for path in Path(folder).rglob("*") if path.is_file())
    customer_ids = {i["customer_id"]["S"] for i in interactions}
    for private in (
        *customer_ids,
        "25000000000000101",
        "7101",
        "User7101",
        "mid.l1",
        "cancelar",
        "wonderful",
        "battery is garbage",
    ):
        assert private not in raw, private


def test_erasure_removes_the_only_way_from_a_customer_to_their_lake_rows(client, sqs, pipeline, secrets) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    post(client, secrets, messenger("25000000000000401", "mid.le1", COMPLAINT, now - timedelta(minutes=5)))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    messages = lake_messages(sqs)
    assert archive(messages) == {"batchItemFailures": []}
    (customer,) = {json.loads(m["Body"])["detail"]["customer_id"] for m in messages}
    table = boto3.client("dynamodb")
    key = {"pk": {"S": keys.customer(customer)}, "sk": {"S": keys.LAKEKEY}}
    assert "Item" in table.get_item(TableName=pipeline["SOCIALCRM_TABLE"], Key=key)

    assert call(client, "delete", f"/customers/{customer}", role="admin")[0] == 200
    assert "Item" not in table.get_item(TableName=pipeline["SOCIALCRM_TABLE"], Key=key)
    # An event about them archived late (a redelivery) names no one, and makes no new key.
    assert archive(messages) == {"batchItemFailures": []}
    assert "Item" not in table.get_item(TableName=pipeline["SOCIALCRM_TABLE"], Key=key)
    with tempfile.TemporaryDirectory() as folder:
        engine = lake_rows(Path(folder))
        refs = lake.run("SELECT DISTINCT customer_ref FROM interactions ORDER BY customer_ref NULLS LAST", engine)
    assert len(refs) == 2
    assert refs[0]["customer_ref"]
    assert refs[1]["customer_ref"] is None


def test_without_the_lake_key_the_events_wait_on_the_queue(client, sqs, pipeline, secrets) -> None:
    """A stage whose app secret has no lake_key: the batch fails (SQS keeps and brings back every
    message) and nothing reaches the lake."""
    from chalicelib.ports import SecretNotSet
    from tools import secrets as secret_docs

    post(client, secrets, messenger("25000000000000501", "mid.lk1", COMPLAINT, datetime.now(UTC)))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    keys = secret_docs.split({key: value for key, value in secrets.items() if key != "lake_key"}).keys
    secret_docs.store(boto3.client("secretsmanager"), pipeline["SOCIALCRM_KEYS_SECRETS_ID"], keys)
    dependencies.reset()
    messages = lake_messages(sqs)
    assert messages
    with pytest.raises(SecretNotSet):
        archive(messages)
    s3 = boto3.client("s3")
    assert s3.list_objects_v2(Bucket=pipeline["SOCIALCRM_LAKE_BUCKET"]).get("KeyCount", 0) == 0
