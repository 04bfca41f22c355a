"""Webhook acknowledgement latency per platform, in process against moto, beside a baseline
route that does nothing but one SQS SendMessage of the same bytes. Target: p50 <= 1.5x baseline.

Two tables. The first is the target: a typical delivery per platform, holding one customer
event (Meta puts one messaging item in each entry, Telegram one update in each POST). The second
replays the multi-event samples in events/webhooks: each event is its own SQS message, and moto
spends about 0.15 ms per message (it recomputes queue attributes on every send) where AWS spends
one round trip per SendMessageBatch, so those rows also show a baseline that sends the same
number of messages, which isolates what the route itself adds.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.table import percentile, render

TARGET = 1.5
BATCH_SAMPLES = {
    "messenger": "meta/messenger-multi-entry.json",
    "instagram": "meta/instagram-comments.json",
    "whatsapp": "meta/whatsapp-messages.json",
    "facebook feed": "meta/page-feed.json",
    "x": "x/tweets.json",
    "trustpilot": "trustpilot/reviews.json",
    "generic": "generic/shopforum.json",
}
TYPICAL_DELIVERIES = Path(__file__).with_name("typical_deliveries.json")


def typical_deliveries() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """One realistic single-event delivery per platform: (channel, source, body)."""
    document = json.loads(TYPICAL_DELIVERIES.read_text(encoding="utf-8"))
    return {name: (item["channel"], item["source"], item["body"]) for name, item in document.items()}


def _timed(call: Callable[[], Any], runs: int, reset: Callable[[], None]) -> list[float]:
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
        reset()
    return timings


def _emptier(sqs: Any, queue_url: str) -> Callable[[], None]:
    """Empty the queue between requests (untimed): moto's SendMessage walks every message
    already queued, so a growing queue would measure moto rather than the route."""

    def empty() -> None:
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)],
            )

    return empty


def run(runs: int = 300) -> str:
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }
    )
    import boto3
    from chalice.app import Chalice
    from chalice.test import Client
    from moto import mock_aws

    from chalicelib import dependencies
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file
    from tools.webhook_client import SAMPLES_DIR, SignedRequest, sign, sign_sample

    secrets = load_file(DEV_SECRETS_PATH)
    with mock_aws():
        env = provision(boto3.Session(), "dev", secrets)
        os.environ.update(env)
        dependencies.reset()
        from app import app

        sqs = boto3.client("sqs")
        queue_url = env["SOCIALCRM_INGEST_QUEUE_URL"]
        empty = _emptier(sqs, queue_url)
        baseline = Chalice(app_name="baseline")

        @baseline.route("/baseline/{copies}", methods=["POST"])
        def send_only(copies: str) -> dict[str, str]:
            request = baseline.current_request
            assert request is not None
            raw = request.raw_body
            body = raw.decode() if isinstance(raw, bytes) else raw
            count = int(copies)
            if count == 1:
                sqs.send_message(QueueUrl=queue_url, MessageBody=body)
            else:  # the same bytes, spread over as many messages as the route sends
                size = -(-len(body) // count)
                parts = [body[i * size : (i + 1) * size] or "-" for i in range(count)]
                for start in range(0, count, 10):
                    sqs.send_message_batch(
                        QueueUrl=queue_url,
                        Entries=[
                            {"Id": str(i), "MessageBody": part} for i, part in enumerate(parts[start : start + 10])
                        ],
                    )
            return {}

        def measure(request: SignedRequest, copies: list[int]) -> tuple[int, list[float], list[list[float]]]:
            def ours() -> int:
                response = client.http.post(request.path, headers=request.headers, body=request.body)
                assert response.status_code == 200, response.body
                return int(json.loads(response.body)["queued"])

            def base(count: int) -> Callable[[], object]:
                return lambda: base_client.http.post(
                    f"/baseline/{count}", headers={"Content-Type": "application/json"}, body=request.body
                )

            queued = ours()  # warm: secrets cached, clients created, as in a warm Lambda
            empty()
            for count in copies:
                base(count)()
            empty()
            ours_ms: list[float] = []
            base_ms: list[list[float]] = [[] for _ in copies]
            for _ in range(max(1, runs // 50)):  # interleaved, so drift hits both alike
                ours_ms += _timed(ours, 50, empty)
                for index, count in enumerate(copies):
                    base_ms[index] += _timed(base(count), 50, empty)
            return queued, ours_ms, base_ms

        typical_rows, batch_rows = [], []
        with Client(app, stage_name="dev") as client, Client(baseline) as base_client:
            for platform, (channel, source, document) in typical_deliveries().items():
                request = sign(channel, json.dumps(document).encode(), secrets, source=source)
                queued, ours_ms, (base_ms,) = measure(request, [1])
                assert queued == 1, platform
                ratio = percentile(ours_ms, 0.5) / percentile(base_ms, 0.5)
                typical_rows.append(
                    [
                        platform,
                        len(request.body),
                        percentile(ours_ms, 0.5),
                        percentile(ours_ms, 0.99),
                        percentile(base_ms, 0.5),
                        percentile(base_ms, 0.99),
                        ratio,
                        "ok" if ratio <= TARGET else "MISSED",
                    ]
                )
            for platform, relative in BATCH_SAMPLES.items():
                request = sign_sample(SAMPLES_DIR / relative, secrets)
                queued = int(
                    json.loads(client.http.post(request.path, headers=request.headers, body=request.body).body)[
                        "queued"
                    ]
                )
                empty()
                queued, ours_ms, (one_ms, same_ms) = measure(request, [1, queued])
                batch_rows.append(
                    [
                        f"{platform} ({relative.split('/')[1]})",
                        len(request.body),
                        queued,
                        percentile(ours_ms, 0.5),
                        percentile(one_ms, 0.5),
                        percentile(ours_ms, 0.5) / percentile(one_ms, 0.5),
                        "ok" if percentile(ours_ms, 0.5) / percentile(one_ms, 0.5) <= TARGET else "MISSED",
                        percentile(same_ms, 0.5),
                        percentile(ours_ms, 0.5) / percentile(same_ms, 0.5),
                    ]
                )
    return (
        render(
            f"Webhook acknowledgement latency, ms: typical single-event delivery ({runs} requests each, in process "
            f"on moto; target p50 <= {TARGET}x baseline)",
            ["platform", "bytes", "p50", "p99", "baseline p50", "baseline p99", "p50 ratio", "target"],
            typical_rows,
        )
        + "\n"
        + render(
            "Webhook acknowledgement latency, ms: multi-event samples (baseline 1 = one SendMessage of the body; "
            "baseline n = the body spread over as many messages as the route queues)",
            ["sample", "bytes", "messages", "p50", "baseline 1", "ratio", "target", "baseline n", "ratio"],
            batch_rows,
        )
    )


if __name__ == "__main__":
    print(run())
