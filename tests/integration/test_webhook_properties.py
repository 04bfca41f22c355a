"""Property tests: whatever arrives, no route answers 5xx, and nothing unsigned is ever queued.

Bodies are arbitrary bytes, arbitrary JSON, and the sample deliveries with values at random
paths replaced by values of the wrong type, which is what reaches the deepest parser code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from hypothesis import given
from hypothesis import strategies as st
from moto import mock_aws

from chalicelib import dependencies
from tests.helpers import drain
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.webhook_client import sample_files, sign

SECRETS = load_file(DEV_SECRETS_PATH)
ROUTES = ["meta", "x", "telegram", "trustpilot", "generic"]
SAMPLES = {path: json.loads(path.read_bytes()) for path in sample_files()}
HEADER_NAMES = [
    "X-Hub-Signature-256",
    "X-Twitter-Webhooks-Signature",
    "X-Telegram-Bot-Api-Secret-Token",
    "X-SocialCRM-Timestamp",
    "X-SocialCRM-Signature",
    "Content-Type",
    "X-Anything",
]

# Values that have broken parsers before: calendar edges, non-finite numbers, huge numbers.
EDGE_VALUES = st.sampled_from(
    [
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "Fri Dec 31 23:59:59 -2359 9999",
        "NaN",
        "Infinity",
        "1e999",
        "-1",
        "",
        "edited",
        "remove",
        "hide",
        10**30,
        -(10**30),
        1e308,
    ]
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | EDGE_VALUES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _replace(node: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    copy = list(node) if isinstance(node, list) else dict(node)
    copy[path[0]] = _replace(node[path[0]], path[1:], value)
    return copy


@st.composite
def mutated_samples(draw: st.DrawFn) -> tuple[str, str, bytes]:
    path = draw(st.sampled_from(sorted(SAMPLES)))
    document = SAMPLES[path]
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(_paths(document)))
        document = _replace(document, target, draw(json_values))
    return path.parent.name, path.stem, json.dumps(document).encode()


bodies = (
    st.binary(max_size=300)
    | json_values.map(lambda value: json.dumps(value).encode())
    | mutated_samples().map(lambda sample: sample[2])
)


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[Any, Any, str]]:
    from chalice.test import Client

    from app import app

    with mock_aws(), pytest.MonkeyPatch.context() as patch:
        env = provision(boto3.Session(), "dev", SECRETS)
        for key, value in env.items():
            patch.setenv(key, value)
        dependencies.reset()
        with Client(app, stage_name="dev") as client:
            yield client, boto3.client("sqs"), env["SOCIALCRM_INGEST_QUEUE_URL"]
        dependencies.reset()


def _path(route: str, source: str) -> str:
    return f"/webhooks/generic/{source}" if route == "generic" else f"/webhooks/{route}"


@given(
    route=st.sampled_from(ROUTES),
    source=st.sampled_from(["shopforum", "x", "Bad Name"]) | st.text(max_size=10),
    body=bodies,
    headers=st.dictionaries(st.sampled_from(HEADER_NAMES), st.text(max_size=80), max_size=5),
    token=st.none() | st.text(max_size=30),
)
def test_unsigned_or_forged_requests_never_queue_and_never_5xx(stack, route, source, body, headers, token) -> None:
    client, sqs, queue_url = stack
    path = _path(route, source.replace("/", "") or "s")
    if token is not None and route == "trustpilot":
        path += "?token=" + token.encode().hex()
    response = client.http.post(path, headers=headers, body=body)
    assert response.status_code < 500, response.body
    assert response.status_code != 200
    assert drain(sqs, queue_url) == []


@given(sample=mutated_samples() | st.tuples(st.sampled_from(ROUTES), st.just("shopforum"), bodies))
def test_validly_signed_garbage_is_a_4xx_or_a_clean_200(stack, sample) -> None:
    client, sqs, queue_url = stack
    route, source, body = sample
    request = sign(route, body, SECRETS, source=source)
    response = client.http.post(request.path, headers=request.headers, body=body)
    assert response.status_code in (200, 400), response.body
    messages = drain(sqs, queue_url)
    if response.status_code == 400:
        assert messages == []
        assert json.loads(response.body)["Message"]
    else:
        ack = json.loads(response.body)
        assert len(messages) == ack["queued"]
        assert "unreadable" not in ack["ignored"], "a parser raised something other than MalformedPayload"


@given(
    route=st.sampled_from(["/webhooks/meta", "/webhooks/x"]),
    params=st.dictionaries(
        st.sampled_from(["hub.mode", "hub.challenge", "hub.verify_token", "crc_token", "x"]), st.text(max_size=40)
    ),
)
def test_handshake_routes_never_5xx_and_never_echo_without_the_token(stack, route, params) -> None:
    client, _, _ = stack
    query = "&".join(f"{key}={value.encode().hex()}" for key, value in params.items())
    response = client.http.get(f"{route}?{query}" if query else route)
    assert response.status_code < 500, response.body
    if route == "/webhooks/meta":
        assert response.status_code == 403  # the hex-encoded token can never be the real one


X_DELIVERIES = [body for path, body in SAMPLES.items() if path.parent.name == "x"]
crc_tokens = (
    st.text(max_size=120)
    | st.from_regex(r"[A-Za-z0-9+/_\-=]{1,300}", fullmatch=True)
    | st.sampled_from(X_DELIVERIES).map(lambda body: json.dumps(body, separators=(",", ":")))
    | mutated_samples().map(lambda sample: sample[2].decode())
)


@given(token=crc_tokens)
def test_no_crc_answer_is_the_signature_of_a_delivery_we_would_store(stack, token) -> None:
    """The attack: ask the CRC check to sign a forged delivery, then post it with that signature."""
    client, sqs, queue_url = stack
    answer = client.http.get("/webhooks/x?" + urlencode({"crc_token": token}))
    assert answer.status_code in (200, 400), answer.body
    if answer.status_code == 400:
        return
    signature = json.loads(answer.body)["response_token"]
    forged = client.http.post(
        "/webhooks/x",
        headers={"Content-Type": "application/json", "X-Twitter-Webhooks-Signature": signature},
        body=token.encode(),
    )
    assert forged.status_code == 400, forged.body
    assert drain(sqs, queue_url) == []


def test_a_delivery_passed_as_a_crc_token_is_refused(stack) -> None:
    client = stack[0]
    for delivery in X_DELIVERIES:
        token = json.dumps(delivery)
        assert client.http.get("/webhooks/x?" + urlencode({"crc_token": token})).status_code == 400
