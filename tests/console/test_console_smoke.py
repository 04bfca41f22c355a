"""Smoke: the demo agent signs in and sees a complaint in the inbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.console_client import Browser
from tests.helpers import meta_message, process_queue
from tools.webhook_client import sign

PAGE = "104000000000001"


def test_agent_signs_in_and_sees_the_complaint(
    pipeline: dict[str, str], client: Any, secrets: dict[str, Any], sqs: Any
) -> None:
    body = meta_message(
        PAGE, "25000000000000901", "m1", "My order never arrived <img src=x onerror=alert(1)>", datetime.now(UTC)
    )
    request = sign("meta", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    browser = Browser(client)
    assert browser.get("/console/").status == 303
    browser.sign_in("agent")
    inbox = browser.get("/console/")
    assert inbox.status == 200, inbox.body
    case = next(line for line in inbox.body.splitlines() if "/console/cases/" in line)
    case_id = case.split("/console/cases/")[1].split('"')[0]
    page = browser.get(f"/console/cases/{case_id}")
    assert page.status == 200, page.body
    assert "<img src=x" not in page.body
    assert "&lt;img src=x onerror=alert(1)&gt;" in page.body
