"""End to end on the local stack (issue 12): how fast `make run` turns signed webhooks into stored
interactions. Target: >= 10 interactions a second on a 2-core machine.

The stack starts as `make run` starts it (tools.local.launch: moto server, the stack provisioned
in it, the platform sandbox, the worker, chalice local; the analysis is the offline analyzer), without
the demo replay. A few deliveries warm it up first (the analyzer's models load on the first batch, as
in a cold Lambda) and are not counted. Then 500 single-event deliveries, one per POST, signed as each
platform signs them and spread over the eight platforms with the mixed-language texts of
bench/corpus.py, are posted to the webhook routes over HTTP by a few concurrent senders (platforms do
not wait for one another). Stored means the interaction's pointer item (external id -> interaction,
written in the same transaction as the interaction) is in the table on the moto server; drained means
the ingest queue is empty as well (events published, the records deleted).
"""

from __future__ import annotations

import copy
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.corpus import corpus
from bench.table import render
from bench.webhook_latency import typical_deliveries
from tools.template import ROOT

TARGET = 10.0  # interactions a second, end to end
COUNT = 500
WARM_UP = 8  # one per platform
SENDERS = 4
TABLE = "socialcrm-dev"
INGEST_QUEUE = "socialcrm-dev-ingest"
LOG = ROOT / "build" / "local" / "bench-local-stack.log"  # the stack's output during the last run
# The platforms in turn: (platform in the pointer's key, the typical delivery it is built from)
PLATFORMS = (
    ("messenger", "messenger"),
    ("instagram", "instagram"),
    ("whatsapp", "whatsapp"),
    ("facebook", "facebook feed"),
    ("x", "x"),
    ("telegram", "telegram"),
    ("trustpilot", "trustpilot"),
    ("shopforum", "generic"),
)


def deliveries(count: int, offset: int = 0) -> list[tuple[str, str, str, dict[str, Any]]]:
    """`count` single-event deliveries: (channel, source, pointer key, body). Each carries a corpus
    text, its author (a third as many authors as texts, so customers write more than once), a unique
    id and a time of a few minutes ago; X and Trustpilot tag the text's language, as they do."""
    from chalicelib.store import keys

    templates = typical_deliveries()
    now = datetime.now(UTC) - timedelta(minutes=10)
    built = []
    for index, interaction in enumerate(corpus(1000)[offset : offset + count], start=offset):
        platform, name = PLATFORMS[index % len(PLATFORMS)]
        channel, source, template = templates[name]
        body = copy.deepcopy(template)
        language = interaction.language_hint or _language(interaction.text)
        assert interaction.author is not None
        author = int(interaction.author.user_id.split("-")[1]) + 1
        at = now + timedelta(milliseconds=index)
        external_id = _fill(name, body, index, author, interaction.text, language, at)
        built.append((channel, source, keys.pointer(platform, external_id), body))
    return built


def _language(text: str) -> str:
    from bench.corpus import language_of

    return language_of(text)


def _fill(name: str, body: dict[str, Any], index: int, author: int, text: str, language: str, at: datetime) -> str:
    """Put the text, ids and time into a typical delivery; returns the interaction's external id."""
    seconds, millis = int(at.timestamp()), int(at.timestamp() * 1000)
    if name == "messenger":
        item = body["entry"][0]["messaging"][0]
        body["entry"][0]["time"] = item["timestamp"] = millis
        item["sender"]["id"] = str(25000000000100000 + author)
        item["message"] = {"mid": f"m_local_{index}", "text": text}
        return str(item["message"]["mid"])
    if name == "instagram":
        body["entry"][0]["time"] = seconds
        value = body["entry"][0]["changes"][0]["value"]
        value.update(id=str(17900000000100000 + index), text=text)
        value["from"] = {"id": str(17800000000100000 + author), "username": f"user{author}"}
        return str(value["id"])
    if name == "whatsapp":
        value = body["entry"][0]["changes"][0]["value"]
        phone = str(5511900000000 + author)
        value["contacts"] = [{"profile": {"name": f"User {author}"}, "wa_id": phone}]
        message = value["messages"][0]
        message.update({"from": phone, "id": f"wamid.local{index}", "timestamp": str(seconds), "text": {"body": text}})
        return str(message["id"])
    if name == "facebook feed":
        body["entry"][0]["time"] = seconds
        value = body["entry"][0]["changes"][0]["value"]
        value.update(comment_id=f"1_{1000 + index}", message=text, created_time=seconds)
        value["from"] = {"id": str(25000000000200000 + author), "name": f"User {author}"}
        return str(value["comment_id"])
    if name == "x":
        tweet = body["tweet_create_events"][0]
        tweet.update(id_str=str(1860000000000100000 + index), text=text, timestamp_ms=str(millis), lang=language)
        tweet["created_at"] = at.strftime("%a %b %d %H:%M:%S +0000 %Y")
        tweet["user"] = {"id_str": str(1500000000000100000 + author), "screen_name": f"user{author}", "name": "U"}
        return str(tweet["id_str"])
    if name == "telegram":
        body["update_id"] = 900100000 + index
        message = body["message"]
        message.update(message_id=index + 1, date=seconds, text=text)
        message["from"] = {"id": 700100000 + author, "is_bot": False, "first_name": "U", "language_code": language}
        message["chat"] = {"id": 700100000 + author, "type": "private"}
        return f"{700100000 + author}:{index + 1}"
    if name == "trustpilot":
        data = body["events"][0]["eventData"]
        data.update(id=f"69000000000000000{index:07d}", text=text, language=language)
        data["createdAt"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
        data["consumer"] = {"id": f"5f00000000000000{author:08d}", "name": f"User {author}"}
        return str(data["id"])
    event = body["events"][0]
    event.update(id=f"post-local-{index}", text=text, created_at=at.strftime("%Y-%m-%dT%H:%M:%SZ"))
    event["author"] = {"id": f"u-{author}", "handle": f"user{author}", "name": f"User {author}"}
    return str(event["id"])


def _post_all(api: str, secrets: dict[str, Any], batch: list[tuple[str, str, str, dict[str, Any]]]) -> int:
    """Post every delivery (SENDERS at a time); the interactions the routes queued."""
    from tools.local.demo import post
    from tools.webhook_client import sign

    def send(delivery: tuple[str, str, str, dict[str, Any]]) -> int:
        channel, source, _, body = delivery
        signed = sign(channel, json.dumps(body).encode(), secrets, source=source)
        status, answer = post(api, signed.path, signed.headers, signed.body)
        if status != 200 or answer.get("queued") != 1:
            raise RuntimeError(f"{signed.path.split('?')[0]} answered {status}: {answer} ({delivery[2]})")
        return 1

    with ThreadPoolExecutor(SENDERS) as pool:
        return sum(pool.map(send, batch))


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wait_stored(dynamodb: Any, pointers: list[str], timeout: float) -> float:
    """Poll the table until every pointer is there; the monotonic time the last one was seen."""
    missing = list(pointers)
    deadline = time.monotonic() + timeout
    while missing:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(missing)} of {len(pointers)} interactions not stored after {timeout:.0f} s")
        found: set[str] = set()
        for chunk in _chunks(missing, 100):
            request = {TABLE: {"Keys": [{"pk": {"S": pk}, "sk": {"S": "POINTER"}} for pk in chunk],
                               "ProjectionExpression": "pk, interaction_sk", "ConsistentRead": True}}  # fmt: skip
            while request:
                answer = dynamodb.batch_get_item(RequestItems=request)
                found.update(item["pk"]["S"] for item in answer["Responses"].get(TABLE, []) if "interaction_sk" in item)
                request = answer.get("UnprocessedKeys") or {}
        seen = time.monotonic()
        missing = [pk for pk in missing if pk not in found]
        if missing:
            time.sleep(0.5)
    return seen


def _wait_drained(sqs: Any, queue_url: str, timeout: float) -> float:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
        if all(attributes[name] == "0" for name in names):
            return time.monotonic()
        time.sleep(0.25)
    raise TimeoutError(f"the ingest queue was not empty after {timeout:.0f} s")


def measure(count: int = COUNT, env: dict[str, str] | None = None) -> dict[str, float]:
    """Start the stack, warm it, post `count` deliveries; the timings (s) and rates (/s)."""
    from tools.local import launch
    from tools.secrets import DEV_SECRETS_PATH, load_file

    secrets = load_file(DEV_SECRETS_PATH)
    warm, measured = deliveries(WARM_UP, offset=count), deliveries(count)
    # Exactly as `make run`: without the log level the benchmarks before this one set in this process
    level = os.environ.pop("POWERTOOLS_LOG_LEVEL", None)
    try:
        stack = launch.start(demo=False, env=env, timeout=300)
    finally:
        if level is not None:
            os.environ["POWERTOOLS_LOG_LEVEL"] = level
    try:
        session = stack.session()
        dynamodb = session.client("dynamodb", endpoint_url=stack.endpoint)
        sqs = session.client("sqs", endpoint_url=stack.endpoint)
        queue_url = sqs.get_queue_url(QueueName=INGEST_QUEUE)["QueueUrl"]
        _post_all(stack.api, secrets, warm)
        _wait_stored(dynamodb, [pointer for _, _, pointer, _ in warm], timeout=300)
        _wait_drained(sqs, queue_url, timeout=120)
        started = time.monotonic()
        queued = _post_all(stack.api, secrets, measured)
        posted = time.monotonic()
        if queued != count:
            raise RuntimeError(f"the routes queued {queued} of {count} deliveries")
        stored = _wait_stored(dynamodb, [pointer for _, _, pointer, _ in measured], timeout=900)
        drained = _wait_drained(sqs, queue_url, timeout=300)
    finally:
        stack.stop(timeout=60)
        LOG.parent.mkdir(parents=True, exist_ok=True)
        LOG.write_text("".join(stack.log))
    return {
        "posted": posted - started,
        "stored": stored - started,
        "drained": drained - started,
        "ingress rate": count / (posted - started),
        "rate": count / (stored - started),
    }


def run(count: int = COUNT) -> str:
    result = measure(count)
    rows = [
        [
            count,
            SENDERS,
            result["posted"],
            result["ingress rate"],
            result["stored"],
            result["drained"],
            result["rate"],
            "ok" if result["rate"] >= TARGET else "MISSED",
        ]
    ]
    return render(
        f"Local stack end to end (`make run`, SOCIALCRM_NLP=local): signed webhooks over HTTP -> stored "
        f"interactions (target >= {TARGET:.0f}/s)",
        ["deliveries", "senders", "posted s", "ingress /s", "stored s", "drained s", "interactions/s", "target"],
        rows,
    )


if __name__ == "__main__":
    print(run())
