"""Every sample delivery in events/webhooks, posted signed through the real route on moto:
what lands on the queue must equal, field by field, the sample's `.expected.json`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import drain
from tools.webhook_client import sample_files, sign_sample

SAMPLES = sample_files()


def expected_for(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.with_name(path.stem + ".expected.json").read_text(encoding="utf-8"))
    return document


def without_arrival(message: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in message.items() if key != "received_at"}


def test_every_platform_has_samples() -> None:
    assert {path.parent.name for path in SAMPLES} == {"meta", "x", "telegram", "trustpilot", "generic"}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_sample_is_queued_exactly_as_expected(client, sqs, aws, secrets, path: Path) -> None:
    expected = expected_for(path)
    request = sign_sample(path, secrets)
    response = client.http.post(request.path, headers=request.headers, body=request.body)
    assert response.status_code == 200, response.body
    ack = json.loads(response.body)
    queued = drain(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"])
    # Statuses of the brand's messages travel the same queue (`type: reply_status`, docs/events.md).
    statuses = [m for m in queued if m.get("type") == "reply_status"]
    messages = [m for m in queued if m.get("type") != "reply_status"]
    assert ack["ignored"] == expected["ignored"]
    assert len(messages) == len(expected["queued"])
    assert ack["queued"] == len(queued) == len(expected["queued"]) + len(expected.get("statuses", []))
    assert ack["received"] == ack["queued"] + sum(expected["ignored"].values())
    # SQS standard queues do not promise order; the route sends in body order, so sort by key.
    got = sorted((without_arrival(m) for m in messages), key=lambda m: m["idempotency_key"])
    want = sorted(expected["queued"], key=lambda m: m["idempotency_key"])
    for actual, wanted in zip(got, want, strict=True):
        assert actual == wanted, actual["idempotency_key"]
    by_message = sorted(statuses, key=lambda m: (str(m["platform_message_id"]), m["state"], m["at"]))
    assert by_message == sorted(
        expected.get("statuses", []), key=lambda m: (str(m["platform_message_id"]), m["state"], m["at"])
    )
    assert all(m["received_at"].endswith("Z") for m in messages)
