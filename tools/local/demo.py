"""Replays the sample webhooks in events/webhooks through the running API, signed as the
platforms sign them, and logs what became of each, then shows a customer the pipeline built."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from tools.webhook_client import SAMPLES_DIR, sample_files, sign_sample

log = logging.getLogger("local.demo")

# Who sent telegram/message.json and its edit: the demo shows this customer at the end.
DEMO_IDENTITY = ("telegram", "6100000001")


def request(base_url: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, Any]:
    method = "POST" if body is not None else "GET"
    outgoing = urllib.request.Request(base_url + path, data=body, headers=headers, method=method)  # noqa: S310
    try:
        with urllib.request.urlopen(outgoing, timeout=10) as response:  # noqa: S310 - our local API
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def post(base_url: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, Any]:
    return request(base_url, path, headers, body)


def replay(base_url: str, secrets: dict[str, Any], session: Any, app_env: dict[str, str]) -> None:
    files = sample_files()
    log.info("replaying %d sample webhooks from %s", len(files), SAMPLES_DIR.relative_to(SAMPLES_DIR.parent.parent))
    queued = 0
    for path in files:
        signed = sign_sample(path, secrets)
        status, body = post(base_url, signed.path, signed.headers, signed.body)
        name = f"{path.parent.name}/{path.name}"
        if status == 200:
            queued += body.get("queued", 0)
            ignored = ", ".join(f"{count} {reason}" for reason, count in body.get("ignored", {}).items())
            suffix = f" (ignored: {ignored})" if ignored else ""
            log.info("%-40s -> 200: queued %d of %d%s", name, body["queued"], body["received"], suffix)
        else:
            log.warning("%-40s -> %d: %s", name, status, body.get("Message", body))
    log.info("demo queued %d interactions; the worker analyses and stores them", queued)
    if _drained(session.client("sqs"), app_env["SOCIALCRM_INGEST_QUEUE_URL"]):
        show_customer(base_url, secrets["ops_api_token"])


def _drained(sqs: Any, queue_url: str, timeout: float = 60) -> bool:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        if all(attributes[name] == "0" for name in names):
            return True
        time.sleep(0.5)
    log.warning("the ingest queue was not empty after %.0f s", timeout)
    return False


def show_customer(base_url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    platform, user_id = DEMO_IDENTITY
    status, found = request(base_url, f"/identities/{platform}/{user_id}", headers)
    if status != 200:
        log.warning("GET /identities/%s/%s -> %d", platform, user_id, status)
        return
    status, view = request(base_url, f"/customers/{found['customer_id']}", headers)
    aggregates = view["aggregates"]
    latest = view["latest_interactions"][0] if view.get("latest_interactions") else {}
    sentiment = (latest.get("sentiment") or {}).get("label")
    log.info(
        "GET /customers/%s -> %d: %d interaction(s) %s, sentiment trend %s; latest (%s, %s): %s, %s",
        found["customer_id"],
        status,
        aggregates["interaction_count"],
        aggregates["platform_counts"],
        aggregates["sentiment_trend"],
        latest.get("action"),
        latest.get("language"),
        sentiment,
        "pii: " + ",".join(latest.get("pii_types", [])) if latest.get("pii_types") else "no personal data",
    )


def show_sign_ins(base_url: str, secrets: dict[str, Any]) -> None:
    """Who can sign in to the local stack, and how to act as them on the ops API (their passwords
    stay in the secrets document, out of this log)."""
    users = secrets.get("console_users") or {}
    for email, user in users.items():
        log.info(
            "sign-in %-24s role %-10s (its password: console_users in the local secrets document)", email, user["role"]
        )
    if users:
        ranks = {"agent": 1, "supervisor": 2, "admin": 3}
        some = max(users, key=lambda email: ranks.get(users[email]["role"], 0))
        log.info(
            'ops API as a user: curl -H "Authorization: Bearer $(.venv/bin/python -m tools.local.token %s)" %s/audit',
            some,
            base_url,
        )
