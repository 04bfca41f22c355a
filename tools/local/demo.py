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
        answer_a_case(base_url, secrets, session.client("sqs"), app_env["SOCIALCRM_INGEST_QUEUE_URL"])


def _drained(sqs: Any, queue_url: str, timeout: float = 180) -> bool:  # a loaded machine: CI's 2 cores
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


# A customer who writes while the demo runs (the samples are older than any platform's window).
DEMO_PAGE, DEMO_PSID = "104000000000001", "25000000000009999"


def answer_a_case(base_url: str, secrets: dict[str, Any], sqs: Any, queue_url: str, timeout: float = 30) -> str | None:
    """A customer complains on Messenger now; an agent answers the case through the reply API;
    the sender calls the platform sandbox, which echoes the reply and reports it delivered and
    read through the webhooks; the case is responded. Logs and returns the reply's state."""
    from tools.webhook_client import sign

    millis = int(time.time() * 1000)
    message = {"mid": f"m_demo_{millis}", "text": "My order never arrived and nobody answers, this is terrible"}
    item = {"sender": {"id": DEMO_PSID}, "recipient": {"id": DEMO_PAGE}, "timestamp": millis, "message": message}
    complaint = {"object": "page", "entry": [{"id": DEMO_PAGE, "time": millis, "messaging": [item]}]}
    signed = sign("meta", json.dumps(complaint).encode(), secrets)
    post(base_url, signed.path, signed.headers, signed.body)
    headers = {"Authorization": f"Bearer {secrets['ops_api_token']}", "Content-Type": "application/json"}
    case_id = None
    if _drained(sqs, queue_url):
        status, found = request(base_url, f"/identities/messenger/{DEMO_PSID}", headers)
        status, page = request(base_url, "/cases?status=open&limit=100", headers)
        mine = [c for c in page.get("cases", []) if c.get("customer_id") == found.get("customer_id")]
        case_id = mine[0]["case_id"] if mine else None
    if case_id is None:
        log.warning("the demo's complaint opened no case to answer")
        return None
    body = json.dumps({"text": "Sorry about that: your order ships today.", "client_reply_id": "demo-1"})
    status, reply = post(base_url, f"/cases/{case_id}/replies", headers, body.encode())
    if status != 202:
        log.warning("POST /cases/%s/replies -> %d: %s", case_id, status, reply.get("code") or reply.get("Message"))
        return None
    log.info("POST /cases/%s/replies -> 202: reply %s queued (the sandbox is the platform)", case_id, reply["reply_id"])
    deadline = time.monotonic() + timeout
    state = str(reply["state"])
    while time.monotonic() < deadline and state not in ("delivered", "read", "failed", "unknown"):
        time.sleep(0.5)
        status, reply = request(base_url, f"/replies/{reply['reply_id']}", headers)
        state = str(reply.get("state")) if status == 200 else state
    _drained(sqs, queue_url)
    status, case = request(base_url, f"/cases/{case_id}", headers)
    log.info(
        "GET /replies/%s -> %s; the case is %s, first response after %s s (the sandbox's GET /messages lists it)",
        reply["reply_id"],
        state,
        case.get("status"),
        case.get("first_response_seconds"),
    )
    return state


def show_sign_ins(base_url: str, secrets: dict[str, Any]) -> None:
    """The console's URL and who can sign in to the local stack (their passwords stay in the
    secrets document, out of this log: for the repository's demo users, events/dev-secrets.json)."""
    users = secrets.get("console_users") or {}
    log.info("console: %s/console/", base_url)
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
