"""Keeping the local stack's data across restarts. moto holds everything in memory, so stopping
`make run` loses it; with SOCIALCRM_LOCAL_STATE_DIR set, the stack saves its tables and the kept
deliveries there (when it stops, and every few minutes) and loads them when it starts again.

What is kept: every item of the table (customers, timelines, cases, alerts, the audit trail) and of
the idempotency table, and the deliveries kept for replay. What is not: messages still on a queue
(they are processed before the stack stops, or lost), SNS subscriptions made by hand, and Cognito
users (created again from the secrets document). Files are written whole, then renamed, so a stack
killed while saving keeps the previous save.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

TABLES = {"table": "SOCIALCRM_TABLE", "idempotency": "SOCIALCRM_IDEMPOTENCY_TABLE"}
BUCKET = "SOCIALCRM_UNREAD_BUCKET"


def save(session: Any, env: dict[str, str], directory: Path) -> dict[str, int]:
    """Write the stack's data under `directory`; returns how many items and objects."""
    directory.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    dynamodb = session.client("dynamodb")
    for name, variable in TABLES.items():
        staging = directory / f"{name}.jsonl.tmp"
        count = 0
        with staging.open("w", encoding="utf-8") as out:
            for page in dynamodb.get_paginator("scan").paginate(TableName=env[variable]):
                for item in page["Items"]:
                    out.write(json.dumps(item, ensure_ascii=False) + "\n")
                    count += 1
        staging.replace(directory / f"{name}.jsonl")
        counts[name] = count
    s3 = session.client("s3")
    staging_dir = directory / "unread.tmp"
    shutil.rmtree(staging_dir, ignore_errors=True)
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env[BUCKET]):
        for listed in page.get("Contents", []):
            target = staging_dir / listed["Key"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=env[BUCKET], Key=listed["Key"])["Body"].read())
            count += 1
    shutil.rmtree(directory / "unread", ignore_errors=True)
    if staging_dir.exists():
        staging_dir.rename(directory / "unread")
    counts["unread"] = count
    return counts


def restore(session: Any, env: dict[str, str], directory: Path) -> dict[str, int]:
    """Load what `save` wrote into the (new, empty) stack; returns how many items and objects."""
    counts: dict[str, int] = {}
    dynamodb = session.client("dynamodb")
    for name, variable in TABLES.items():
        path = directory / f"{name}.jsonl"
        items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []
        for start in range(0, len(items), 25):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + 25]]
            while requests:
                unprocessed = dynamodb.batch_write_item(RequestItems={env[variable]: requests})["UnprocessedItems"]
                requests = unprocessed.get(env[variable], [])
        counts[name] = len(items)
    s3 = session.client("s3")
    count = 0
    kept = directory / "unread"
    for path in sorted(kept.rglob("*")) if kept.exists() else []:
        if path.is_file():
            s3.put_object(Bucket=env[BUCKET], Key=str(path.relative_to(kept)), Body=path.read_bytes())
            count += 1
    counts["unread"] = count
    return counts
