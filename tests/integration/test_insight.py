"""The figures on moto through the real pipeline: counted as interactions and cases are written,
exactly once under redelivery, equal to a recount of what is stored, and read through the API."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from chalicelib import dependencies
from chalicelib.insight.counts import bucket, hour_of
from chalicelib.insight.service import rollup
from chalicelib.store import keys
from tests.helpers import call, meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000088"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"


def telegram(update_id: int, user: int, text: str, at: datetime) -> tuple[str, bytes]:
    sender = {"id": user, "is_bot": False, "first_name": f"User{user}"}
    message = {"message_id": update_id, "from": sender, "chat": {**sender, "type": "private"}, "text": text}
    return "telegram", json.dumps(
        {"update_id": update_id, "message": {**message, "date": int(at.timestamp())}}
    ).encode()


def messenger(psid: str, mid: str, text: str, at: datetime, echo: bool = False) -> tuple[str, bytes]:
    return "meta", meta_message(PAGE, psid, mid, text, at, echo=echo)


def post(client: Any, secrets: dict[str, Any], *bodies: tuple[str, bytes]) -> None:
    for channel, body in bodies:
        request = sign(channel, body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200


def copy_queue(sqs: Any, url: str) -> list[str]:
    """The bodies on the queue, left on it (to send again: SQS delivers at least once)."""
    bodies = []
    for _ in range(20):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for message in got.get("Messages", []):
            if message["Body"] not in bodies:
                bodies.append(message["Body"])
    return bodies


def stored(table: str) -> list[dict[str, Any]]:
    pages = boto3.client("dynamodb").get_paginator("scan").paginate(TableName=table)
    return [dict(item) for page in pages for item in page["Items"]]


def recount(items: list[dict[str, Any]]) -> dict[tuple[str, str], Counter[str]]:
    """What the figures should say, per day and channel, from the interactions and cases as stored."""
    figures: dict[tuple[str, str], Counter[str]] = {}

    def add(moment: str, platform: str, name: str) -> None:
        figures.setdefault((moment[:10], platform), Counter())[name] += 1

    for item in items:
        kind = item.get("item_type", {}).get("S")
        if kind == "interaction":
            at, platform = item["occurred_at"]["S"], item["platform"]["S"]
            if item["direction"]["S"] == "outbound":
                add(at, platform, "out")
                continue
            add(at, platform, "in")
            if "sentiment_label" in item:
                add(at, platform, f"s:{item['sentiment_label']['S']}")
            if "language" in item:
                add(at, platform, f"l:{item['language']['S']}")
            if "intent" in item:
                add(at, platform, f"i:{json.loads(item['intent']['S'])['label']}")
        elif kind == "case":
            platform, opened = item["platform"]["S"], item["opened_at"]["S"]
            add(opened, platform, "co")
            if "first_response_at" in item or "responded_at" in item:
                add((item.get("first_response_at") or item["responded_at"])["S"], platform, "cr")
            if item["status"]["S"] == "resolved":
                add(item["resolved_at"]["S"], platform, "cz")
    return figures


def test_figures_equal_a_recount_after_a_mixed_redelivered_stream(client, sqs, pipeline, secrets) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    t0 = now - timedelta(hours=2)
    url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post(
        client,
        secrets,
        messenger("25000000000000101", "mid.f1", COMPLAINT, t0),
        messenger("25000000000000102", "mid.f2", "Thank you so much, the new phone is wonderful!", t0),
        messenger("25000000000000103", "mid.f3", "Is Nimbus Mobile cheaper than you? Their plan is awful", t0),
        telegram(7001, 7001, "Quero cancelar o meu plano, o serviço é péssimo", t0 + timedelta(minutes=3)),
        telegram(7002, 7002, "Obrigado pela ajuda rápida, excelente atendimento", t0 + timedelta(minutes=4)),
    )
    # At least once: every message of the first deliveries comes again, some in the same batch.
    first = copy_queue(sqs, url)
    assert len(first) == 5
    for body in first[:2]:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    process_queue(sqs, url)
    for body in first:
        sqs.send_message(QueueUrl=url, MessageBody=body)
    process_queue(sqs, url)
    # The same webhooks again (platforms retry), and the brand's answer with its echo twice.
    post(client, secrets, messenger("25000000000000101", "mid.f1", COMPLAINT, t0))
    post(
        client,
        secrets,
        *[messenger("25000000000000101", "mid.r1", "So sorry, it ships today", t0 + timedelta(minutes=20), echo=True)]
        * 2,
    )
    process_queue(sqs, url)

    cases = call(client, "get", "/cases?status=responded")[1]["cases"]
    complaint = [case for case in cases if case["platform"] == "messenger" and case["status"] == "responded"]
    assert complaint, cases
    assert (
        call(client, "post", f"/cases/{complaint[0]['case_id']}/status", {"status": "resolved"}, role="agent")[0] == 200
    )
    # A resolved case asked to resolve again changes nothing, and counts nothing.
    assert (
        call(client, "post", f"/cases/{complaint[0]['case_id']}/status", {"status": "resolved"}, role="agent")[0] != 200
    )

    rollup(dependencies.figure_store(), now)
    items = stored(pipeline["SOCIALCRM_TABLE"])
    expected = recount(items)
    assert expected[(t0.date().isoformat(), "messenger")]["out"] == 1  # the echo, once

    status, body = call(client, "get", f"/insights/overview?from={t0.date()}&to={now.date()}", role="supervisor")
    assert status == 200, body
    got: dict[tuple[str, str], Counter[str]] = {}
    for row in body["rows"]:
        counts = Counter(
            {
                "in": row["inbound"],
                "out": row["outbound"],
                "co": row["cases_opened"],
                "cr": row["cases_responded"],
                "cz": row["cases_resolved"],
                **{f"s:{label.upper()}": row[label] for label in ("positive", "negative", "neutral", "mixed")},
                **{f"i:{name}": amount for name, amount in row["intents"].items()},
                **{f"l:{name}": amount for name, amount in row["languages"].items()},
            }
        )
        got[(row["date"], row["channel"])] = +counts
    assert got == {key: +counts for key, counts in expected.items()}
    messenger_day = next(row for row in body["rows"] if row["channel"] == "messenger")
    assert messenger_day["competitors"] == {"nimbus mobile": 1}
    assert messenger_day["first_response_p50_s"] is not None
    assert messenger_day["sla_met"] + messenger_day["sla_missed"] == 1

    # Written once per hour, channel and account, in one of the shards; nothing of the words.
    raw = [item for item in items if item["pk"]["S"].startswith("FIGURES#")]
    written = [item for item in raw if item["pk"]["S"].split("#")[1][:2] == "20"]  # FIGURES#<day>#<shard>
    assert written
    places = {tuple(item["sk"]["S"].split("#")[1:]) for item in written}
    assert {platform for platform, _ in places} == {"messenger", "telegram"}
    assert ("messenger", PAGE) in places
    text = json.dumps(raw)
    for words in ("order never arrived", "cancelar", "wonderful"):
        assert words not in text

    # The last 48 hours by hour: the same counts, each in the hour it happened.
    hourly = call(client, "get", "/insights/overview?by=hour", role="supervisor")[1]["rows"]
    assert {row["date"][:10] for row in hourly} <= {
        (now - timedelta(days=1)).date().isoformat(),
        now.date().isoformat(),
    }
    assert sum(row["inbound"] for row in hourly) == sum(row["inbound"] for row in body["rows"])
    assert all(len(row["date"]) == 13 for row in hourly)  # yyyy-mm-ddThh
    assert call(client, "get", "/insights/overview?by=week", role="supervisor")[0] == 400

    # Rolling up again changes nothing; a second run of the rollup is harmless.
    rollup(dependencies.figure_store(), now)
    assert (
        call(client, "get", f"/insights/overview?from={t0.date()}&to={now.date()}", role="supervisor")[1]["rows"]
        == body["rows"]
    )


def test_the_insights_api_answers_supervisors_in_json_and_csv_and_refuses_agents(client, pipeline, secrets) -> None:
    now = datetime.now(UTC)
    post(client, secrets, messenger("25000000000000201", "mid.g1", COMPLAINT, now - timedelta(minutes=5)))
    process_queue(boto3.client("sqs"), pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    rollup(dependencies.figure_store(), now)
    for report in ("overview", "reputation", "roi"):
        assert call(client, "get", f"/insights/{report}", role="agent")[0] == 403
        status, body = call(client, "get", f"/insights/{report}", role="supervisor")
        assert status == 200, body
        assert body["to"] == now.date().isoformat()
        assert body["as_of"]
        answer = client.http.get(
            f"/insights/{report}", headers={"Authorization": f"Bearer {_token('supervisor')}", "Accept": "text/csv"}
        )
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.body.decode())))
        assert rows, report
    overview = call(client, "get", "/insights/overview", role="supervisor")[1]["rows"]
    assert [(row["channel"], row["inbound"], row["cases_opened"]) for row in overview] == [("messenger", 1, 1)]
    reputation = call(client, "get", "/insights/reputation", role="admin")[1]
    assert (reputation["total"]["volume"], reputation["total"]["index"]) == (1, -100.0)
    assert set(reputation["total"]["competitors"]) == {"nimbus mobile", "kappa bank", "vertex telecom"}
    assert call(client, "get", "/insights/overview?from=2026-13-01", role="supervisor")[0] == 400
    assert call(client, "get", "/insights/overview?from=2026-02-01&to=2026-01-01", role="supervisor")[0] == 400
    assert call(client, "get", "/insights/overview?from=2024-01-01&to=2026-01-01", role="supervisor")[0] == 400


def test_a_message_older_than_the_rollup_window_counts_on_the_day_it_arrives(client, pipeline, secrets) -> None:
    """A message written three weeks ago that reaches us today (a source sending its history, a
    replay) is counted today: written at its own day, no rollup would ever read it."""
    now = datetime.now(UTC)
    written = now - timedelta(days=21)
    post(client, secrets, messenger("25000000000000301", "mid.h1", COMPLAINT, written))
    process_queue(boto3.client("sqs"), pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    rollup(dependencies.figure_store(), now)
    status, body = call(client, "get", f"/insights/overview?from={written.date()}&to={now.date()}", role="supervisor")
    assert status == 200, body
    assert [(row["date"], row["inbound"], row["cases_opened"]) for row in body["rows"]] == [
        (now.date().isoformat(), 1, 1)
    ]


def _token(role: str) -> str:
    from tests.helpers import role_token

    return role_token(role)


def test_a_burst_on_one_account_spreads_over_the_shards() -> None:
    seeds = [f"messenger:{PAGE}:mid.{n}" for n in range(5000)]
    used = Counter(keys.figure_shard(seed) for seed in seeds)
    assert len(used) == keys.FIGURE_SHARDS
    assert max(used.values()) < 2 * 5000 / keys.FIGURE_SHARDS
    assert hour_of(datetime(2026, 12, 6, 9, 59, tzinfo=UTC)) == "2026-12-06T09"
    assert [bucket(59), bucket(60), bucket(61)] == [0, 0, 1]
