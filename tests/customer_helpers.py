"""Helpers of the customer search and link tests: messages from people on Telegram and Messenger
through the real pipeline (signed webhook -> queue -> processor), the ops API, the table's items."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import boto3

from tests.helpers import call, meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000077"
_updates = iter(range(900_000, 10_000_000))


def telegram(
    user_id: int, text: str, at: datetime, first: str, last: str | None = None, username: str | None = None
) -> bytes:
    update = next(_updates)
    sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first}
    if last:
        sender["last_name"] = last
    if username:
        sender["username"] = username
    message = {
        "message_id": update,
        "from": sender,
        "chat": {"id": user_id, "type": "private"},
        "date": int(at.timestamp()),
        "text": text,
    }
    return json.dumps({"update_id": update, "message": message}).encode()


def messenger(psid: str, mid: str, text: str, at: datetime) -> bytes:
    return meta_message(PAGE, psid, mid, text, at)


def post(client: Any, secrets: dict[str, Any], channel: str, body: bytes) -> None:
    request = sign(channel, body, secrets)
    response = client.http.post(request.path, headers=request.headers, body=request.body)
    assert response.status_code == 200, response.body


def deliver(client: Any, sqs: Any, env: dict[str, str], secrets: dict[str, Any], channel: str, body: bytes) -> None:
    post(client, secrets, channel, body)
    process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"])


def customer_of(client: Any, platform: str, user_id: str) -> str:
    status, found = call(client, "get", f"/identities/{platform}/{user_id}")
    assert status == 200, found
    return str(found["customer_id"])


def find(client: Any, query: str, role: str = "agent", **params: str) -> tuple[int, Any]:
    return call(client, "get", "/customers?" + urlencode({"q": query, **params}), role=role)


def found_ids(client: Any, query: str) -> list[str]:
    status, body = find(client, query)
    assert status == 200, (query, body)
    return [row["customer_id"] for row in body["customers"]]


def items(env: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for page in boto3.client("dynamodb").get_paginator("scan").paginate(TableName=env["SOCIALCRM_TABLE"]):
        found.extend(page["Items"])
    return found


def keys_of(env: dict[str, str], pk: str) -> list[str]:
    """The sort keys of one partition."""
    return sorted(item["sk"]["S"] for item in items(env) if item["pk"]["S"] == pk)


def audit_actions(env: dict[str, str]) -> list[tuple[str, str, str]]:
    """(action, subject, detail) of every audit entry, oldest first."""
    entries = [item for item in items(env) if item["pk"]["S"].startswith("AUDIT#")]
    entries.sort(key=lambda item: item["sk"]["S"])
    return [(e["action"]["S"], e["subject"]["S"], e.get("detail", {}).get("S", "")) for e in entries]
