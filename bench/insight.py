"""Insight benchmarks:

1. What counting costs as the stream flows: the 1,000-interaction mixed-language set (bench/corpus.py)
   processed on moto with the offline analyzer, every DynamoDB write request metered: the figures'
   counter updates per interaction and their write units (twice the started KiB of the item as
   updated, since they are written inside the interaction's transaction). Target: <= 2 extra.
2. The insights API over 90 days: the day rows of 90 days x 6 channels x 3 accounts, rolled up as
   the schedule writes them, read through the API (chalice's test client, moto in process).
3. A cost model per million interactions, from the figures measured above and the list prices
   named beside it (us-east-1, on demand, as published by AWS; check them before relying on them).
"""

from __future__ import annotations

import json
import math
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.handlers import BUILTIN_HANDLERS

from bench.corpus import corpus
from bench.moto_speedups import fast_moto
from bench.processing import _batch_size, _environment, _run_batches
from bench.table import percentile, render

TARGET_EXTRA_UNITS = 2.0
DAYS = 90
CHANNELS = ("messenger", "instagram", "whatsapp", "x", "telegram", "trustpilot")
ACCOUNTS = ("acct-a", "acct-b", "acct-c")
# List prices (USD, us-east-1, on demand) the cost model uses.
PRICES = {
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,
    "dynamodb_write_unit": 0.625 / 1e6,
    "dynamodb_read_unit": 0.125 / 1e6,
    "sqs_request": 0.40 / 1e6,
    "eventbridge_event": 1.00 / 1e6,
    # Firehose Direct PUT: per GB ingested, each record counted in 5 KB increments; dynamic
    # partitioning: per GB processed and per 1,000 objects delivered. S3 Standard: per GB-month.
    "firehose_gb": 0.029,
    "firehose_record_kb": 5,
    "partitioning_gb": 0.020,
    "partitioning_objects": 0.005 / 1000,
    "s3_gb_month": 0.023,
}
# Deployed, the lake is gzipped; JSON lines of this kind shrink about eightfold (an estimate).
GZIP_RATIO = 8
# Objects a day Firehose delivers: 3 tables, one flush per 5 minutes each, at a steady stream.
LAKE_OBJECTS_A_DAY = 3 * 24 * 12


class Meter:
    """Counts write requests and, for the figures' updates, how many there are per transaction."""

    def __init__(self) -> None:
        self.transactions = 0
        self.figure_updates = 0
        self.write_units = 0.0
        self.events = 0

    def install(self) -> Meter:
        BUILTIN_HANDLERS.append(("before-parameter-build.dynamodb", self._dynamodb))
        BUILTIN_HANDLERS.append(("before-parameter-build.events", self._events))
        return self

    def _events(self, params: Any, model: Any, **kwargs: Any) -> None:
        if model.name == "PutEvents":
            self.events += len(params.get("Entries", []))

    def _dynamodb(self, params: Any, model: Any, **kwargs: Any) -> None:
        if model.name == "PutItem":
            self.write_units += _units(params["Item"])
        elif model.name in ("UpdateItem", "DeleteItem"):
            self.write_units += 1
        elif model.name == "TransactWriteItems":
            self.transactions += 1
            for entry in params["TransactItems"]:
                key = entry.get("Update", {}).get("Key", {}).get("pk", {}).get("S", "")
                if key.startswith("FIGURES#"):
                    self.figure_updates += 1
                item = entry.get("Put", {}).get("Item")
                self.write_units += 2 * _units(item) if item else 2


def _units(item: dict[str, Any]) -> int:
    return max(1, math.ceil(len(json.dumps(item, separators=(",", ":")).encode()) / 1024))


def _item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: attribute names plus values (numbers about their digits)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        kind, raw = next(iter(value.items()))
        size += len(str(raw).encode()) if kind in ("S", "N") else len(json.dumps(raw))
    return size


def counting(size: int = 1000) -> tuple[str, dict[str, float]]:
    _environment()
    import boto3
    from moto import mock_aws

    from chalicelib import dependencies
    from chalicelib.adapters.queue import encode
    from chalicelib.insight.service import rollup
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    bodies = [encode(i) for i in corpus(size, seed=11)]
    meter = Meter().install()
    with mock_aws(), fast_moto():
        env = provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))
        os.environ.update(env)
        os.environ["SOCIALCRM_NLP"] = "local"
        dependencies.reset()
        started = time.process_time()
        _run_batches(bodies, _batch_size())
        cpu = time.process_time() - started
        pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["SOCIALCRM_TABLE"])
        figures = [item for page in pages for item in page["Items"] if item["pk"]["S"].startswith("FIGURES#")]
        largest = max(_item_bytes(item) for item in figures)
        per_update = 2 * max(1, math.ceil(largest / 1024))
        extra = meter.figure_updates * per_update / size
        rollup(dependencies.figure_store(), datetime.now(UTC))
        processing_units = meter.write_units  # the lake's salt writes are priced on their own line
        lake = _archive_lake(env, meter)
    figures_per = {
        "extra_units": extra,
        "write_units": processing_units / size + extra,
        "events": meter.events / size,
        "cpu_seconds": cpu / size,
        "lake_records": lake["records"] / size,
        "lake_bytes": lake["bytes"] / size,
        "lake_cpu_seconds": lake["cpu"] / size,
        "lake_key_writes": lake["salts"] / size,
    }
    table = render(
        f"Figures counted as {size} interactions are stored (offline analyzer, moto in process)",
        ["measure", "value", "target"],
        [
            ["counter updates per interaction", meter.figure_updates / size, "1"],
            ["largest counter item (bytes)", largest, "<= 1024"],
            ["extra write units per interaction", extra, f"<= {TARGET_EXTRA_UNITS:.0f}"],
            ["counter items written (hour x channel x account x shard)", len(figures), ""],
            ["lake records per interaction (every event archived)", lake["records"] / size, ""],
            ["lake bytes per interaction (JSON lines, before gzip)", lake["bytes"] / size, ""],
            ["lake salts made (one per customer, once)", lake["salts"], ""],
        ],
    )
    return table, figures_per


def _archive_lake(env: dict[str, str], meter: Meter) -> dict[str, float]:
    """Drain the lake queue through the archiver, as Lambda would in batches of 100, and weigh
    what reached the lake bucket (moto's Firehose writes each call's records as they came)."""
    import boto3

    from chalicelib.config import lake_queue_name
    from chalicelib.handlers import lake

    sqs, s3 = boto3.client("sqs"), boto3.client("s3")
    url = sqs.get_queue_url(QueueName=lake_queue_name())["QueueUrl"]
    salts_before = meter.transactions
    started = time.process_time()
    while True:
        batch: list[Any] = []
        while len(batch) < 100:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            batch += got
        if not batch:
            break
        records = [{"messageId": m["MessageId"], "body": m["Body"], "receiptHandle": m["ReceiptHandle"]} for m in batch]
        failed = {f["itemIdentifier"] for f in lake.handle({"Records": records}, None)["batchItemFailures"]}
        assert not failed, f"{len(failed)} lake records failed"
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    cpu = time.process_time() - started
    bucket = env["SOCIALCRM_LAKE_BUCKET"]
    lines = size = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            lines, size = lines + body.count(b"\n"), size + len(body)
    return {"records": lines, "bytes": size, "cpu": cpu, "salts": meter.transactions - salts_before}


def api_latency(runs: int = 30) -> str:
    _environment()
    import boto3
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import dependencies
    from chalicelib.insight.counts import Row
    from tests.helpers import ops_token
    from tools.local import LOCAL_SETTINGS, fast_moto
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file
    from tools.template import ROOT

    today = datetime.now(UTC).date()
    rows = [
        Row((today - timedelta(days=back)).isoformat(), channel, account, _day_counts(back, channel))
        for back in range(DAYS)
        for channel in CHANNELS
        for account in ACCOUNTS
    ]
    timings: dict[str, list[float]] = {}
    # The local stack's moto, whose query reads only the partition asked for, as DynamoDB does
    # (stock moto reads and sorts the whole table for each query: seconds here).
    fast_moto.install()
    with mock_aws():
        stage = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"]
        os.environ.update({**stage, **LOCAL_SETTINGS, **provision(boto3.Session(), "dev", load_file(DEV_SECRETS_PATH))})
        dependencies.reset()
        store = dependencies.figure_store()
        stamp = datetime.now(UTC)
        store._put(
            [
                store._row(f"FIGURES#DAY#{row.period[:7]}", row.period[8:10], row, stamp.isoformat(), None)
                for row in rows
            ]
        )
        first = (today - timedelta(days=DAYS - 1)).isoformat()
        headers = {"Authorization": f"Bearer {ops_token()}"}
        with Client(app, stage_name="dev") as client:
            for report in ("overview", "reputation", "roi"):
                path = f"/insights/{report}?from={first}&to={today.isoformat()}"
                assert client.http.get(path, headers=headers).status_code == 200
                for _ in range(runs):
                    started = time.perf_counter()
                    answer = client.http.get(path, headers=headers)
                    timings.setdefault(report, []).append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200
    fast_moto.uninstall()
    return render(
        f"Insights API over {DAYS} days ({len(rows)} day rows: {len(CHANNELS)} channels x {len(ACCOUNTS)} accounts)",
        ["report", "p50 ms", "p95 ms"],
        [[name, percentile(found, 0.5), percentile(found, 0.95)] for name, found in timings.items()],
    )


def _day_counts(back: int, channel: str) -> dict[str, int]:
    """A day's counters of one account: about 1,850 messages (a million a day over 6 x 3 x 30)."""
    volume = 1800 + (back * 37 + len(channel) * 11) % 100
    return {
        "in": volume, "out": volume // 2, "s:POSITIVE": volume // 4, "s:NEGATIVE": volume // 5,
        "s:NEUTRAL": volume // 2, "s:MIXED": volume // 20, "i:complaint": volume // 6, "i:question": volume // 3,
        "l:en": volume // 2, "l:pt": volume // 4, "c:nimbus mobile": 40, "cs:nimbus mobile:NEGATIVE": 25,
        "co": volume // 8, "cr": volume // 9, "cz": volume // 10, "sm": volume // 10, "sx": volume // 40,
        **{f"fr:{b}": volume // (10 + b) for b in range(8)}, **{f"rt:{b}": volume // (20 + b) for b in range(4, 11)},
        **{f"ft:care:{b}": volume // (12 + b) for b in range(8)},
        **{f"fa:agent{n}:{b}": 9 for n in range(8) for b in range(3)},
    }  # fmt: skip


def cost(measured: dict[str, float]) -> str:
    million = 1e6
    batch = 100  # records per processor invocation at a steady stream (up to 1,000 at peaks)
    per = {name: million * amount for name, amount in measured.items()}
    rows: list[list[object]] = [
        ["Lambda requests (webhook + processor batches)", million * (1 + 1 / batch) * PRICES["lambda_request"]],
        ["Lambda compute (1 GB, CPU measured here per interaction)", per["cpu_seconds"] * PRICES["lambda_gb_second"]],
        ["DynamoDB writes (measured units, figures included)", per["write_units"] * PRICES["dynamodb_write_unit"]],
        ["  of which the figures' counters", per["extra_units"] * PRICES["dynamodb_write_unit"]],
        ["DynamoDB rollup reads (every 15 min, 8 days x 32 shards)", 96 * 8 * 32 * PRICES["dynamodb_read_unit"]],
        ["SQS (send, receive and delete in batches)", million * (1 + 2 / 10) * PRICES["sqs_request"]],
        ["EventBridge (events measured per interaction)", per["events"] * PRICES["eventbridge_event"]],
        ["Lake: the lake queue (one message an event, received and deleted 100 at a time)",
         per["lake_records"] * (1 + 2 / 100) * PRICES["sqs_request"]],
        ["Lake: archiver Lambda (a request per 100 events, CPU measured here, at 1 GB)",
         per["lake_records"] / 100 * PRICES["lambda_request"] + per["lake_cpu_seconds"] * PRICES["lambda_gb_second"]],
        ["Lake: salts (a batch read an event, 2 transactional writes a new customer)",
         per["lake_records"] * 0.5 * PRICES["dynamodb_read_unit"]
         + per["lake_key_writes"] * 4 * PRICES["dynamodb_write_unit"]],
        ["Firehose ingestion (each record billed as 5 KB)",
         per["lake_records"] * PRICES["firehose_record_kb"] / 1e6 * PRICES["firehose_gb"]],
        ["Firehose dynamic partitioning (GB processed, objects of a day)",
         per["lake_bytes"] / 1e9 * PRICES["partitioning_gb"] + LAKE_OBJECTS_A_DAY * PRICES["partitioning_objects"]],
        ["S3 storage of the lake, a month (gzip about 1:8)",
         per["lake_bytes"] / GZIP_RATIO / 1e9 * PRICES["s3_gb_month"]],
    ]  # fmt: skip
    return render("Cost model per million interactions (USD, us-east-1 on-demand list prices)", ["part", "USD"], rows)


def run() -> str:
    table, measured = counting()
    return table + "\n" + api_latency() + "\n" + cost(measured)


if __name__ == "__main__":
    print(run())
