"""Instagram mentions arrive as bare ids: the processor asks the Graph API for their words, on moto,
with a local HTTP server answering Meta's recorded bodies in Meta's way (status codes, error
envelopes), so the real adapter, its headers and its error handling are what is tested."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from chalicelib import dependencies
from tests.helpers import call, process_queue
from tools.webhook_client import sign

GRAPH = Path(__file__).resolve().parent.parent / "data" / "captures" / "instagram" / "graph"
ACCOUNT = "17841405309211844"
TOKEN = "page-token-for-tests"


@pytest.fixture
def graph(
    pipeline: dict[str, str], monkeypatch: pytest.MonkeyPatch, secrets: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """A Graph API stand-in: answers `state["answers"]` in turn (status, recorded file name)."""
    state: dict[str, Any] = {"answers": [], "asked": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            state["asked"].append((url.path, parse_qs(url.query), self.headers.get("Authorization")))
            status, name = state["answers"].pop(0)
            body = (GRAPH / f"{name}.json").read_bytes()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("SOCIALCRM_GRAPH_URL", f"http://127.0.0.1:{server.server_port}/v21.0")
    boto3.client("secretsmanager").put_secret_value(
        SecretId=pipeline["SOCIALCRM_SECRETS_ID"],
        SecretString=json.dumps({**secrets, "meta_page_tokens": {ACCOUNT: TOKEN}}),
    )
    dependencies.reset()
    yield state
    server.shutdown()


def mention_delivery(comment_id: str, media_id: str) -> bytes:
    value = {"media_id": media_id, "comment_id": comment_id}
    entry = {"id": ACCOUNT, "time": 1764979200, "changes": [{"field": "mentions", "value": value}]}
    return json.dumps({"object": "instagram", "entry": [entry]}).encode()


def post(client: Any, secrets: dict[str, Any], body: bytes) -> None:
    request = sign("meta", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200


def stored(client: Any) -> list[dict[str, Any]]:
    status, found = call(client, "get", f"/identities/instagram/unknown-author:{ACCOUNT}")
    if status == 404:
        return []
    _, page = call(client, "get", f"/customers/{found['customer_id']}/interactions")
    return list(page["interactions"])


def test_a_mention_gets_its_words_from_the_graph_api(client, sqs, pipeline, secrets, graph) -> None:
    graph["answers"] = [(200, "mentioned_comment_doc")]
    post(client, secrets, mention_delivery("17873440459141021", "17895695668004550"))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    ((path, query, authorization),) = graph["asked"]
    assert path == f"/v21.0/{ACCOUNT}"
    assert query == {"fields": ["mentioned_comment.comment_id(17873440459141021){id,text,timestamp}"]}
    assert authorization == f"Bearer {TOKEN}"  # the token in a header, never in the URL
    (interaction,) = stored(client)
    assert (interaction["kind"], interaction["text"], interaction["occurred_at"]) == (
        "mention",
        "Shout out to @metricsaurus",
        "2017-05-03T16:09:08.000Z",
    )
    assert interaction["sentiment"] is not None  # analysed like any words a customer wrote


def test_a_rate_limited_fetch_is_retried_and_then_stored(client, sqs, pipeline, secrets, graph, monkeypatch) -> None:
    from chalicelib.adapters.queue import RetryScheduler

    monkeypatch.setattr(RetryScheduler, "delay", staticmethod(lambda receive_count: 0))  # no 30 s wait here
    graph["answers"] = [(400, "error_4_application_limit"), (200, "mentioned_comment_doc")]
    post(client, secrets, mention_delivery("17873440459141021", "17895695668004550"))
    assert process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"]) == 2  # failed alone once, then stored
    assert len(graph["asked"]) == 2
    assert [i["text"] for i in stored(client)] == ["Shout out to @metricsaurus"]


def test_a_mention_that_cannot_be_fetched_is_stored_text_unavailable(client, sqs, pipeline, secrets, graph) -> None:
    graph["answers"] = [(400, "error_100_33_igapiexception")]
    post(client, secrets, mention_delivery("17873440459141021", "17895695668004550"))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    (interaction,) = stored(client)
    assert interaction["text"] is None
    assert interaction["attachments"] == [{"type": "mention", "media_id": "17895695668004550"}]
