"""Replays the sample webhooks in events/webhooks through the running API, signed as the
platforms sign them, and logs what became of each, so a newcomer sees the pipeline work."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from tools.webhook_client import SAMPLES_DIR, sample_files, sign_sample

log = logging.getLogger("local.demo")


def post(base_url: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(base_url + path, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - our local API
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def replay(base_url: str, secrets: dict[str, str], session: Any, app_env: dict[str, str]) -> None:
    files = sample_files()
    log.info("replaying %d sample webhooks from %s", len(files), SAMPLES_DIR.relative_to(SAMPLES_DIR.parent.parent))
    queued = 0
    for path in files:
        request = sign_sample(path, secrets)
        status, body = post(base_url, request.path, request.headers, request.body)
        name = f"{path.parent.name}/{path.name}"
        if status == 200:
            queued += body.get("queued", 0)
            ignored = ", ".join(f"{count} {reason}" for reason, count in body.get("ignored", {}).items())
            log.info(
                "%-40s -> 200: queued %d of %d%s",
                name,
                body["queued"],
                body["received"],
                f" (ignored: {ignored})" if ignored else "",
            )
        else:
            log.warning("%-40s -> %d: %s", name, status, body.get("Message", body))
    sqs = session.client("sqs")
    attributes = sqs.get_queue_attributes(
        QueueUrl=app_env["SOCIALCRM_INGEST_QUEUE_URL"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    log.info(
        "demo queued %d interactions; ingest queue now holds %s waiting, %s in flight",
        queued,
        attributes["ApproximateNumberOfMessages"],
        attributes["ApproximateNumberOfMessagesNotVisible"],
    )
