"""Each webhook route on emulated AWS: who gets in, what is queued, and what every failure answers."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest

from chalicelib import dependencies
from tests.helpers import drain
from tools.secrets import split
from tools.webhook_client import sign

MESSENGER = {
    "object": "page",
    "entry": [
        {
            "id": "PAGE",
            "time": 1763812800000,
            "messaging": [
                {
                    "sender": {"id": f"PSID{i}"},
                    "recipient": {"id": "PAGE"},
                    "timestamp": 1763812800000 + i,
                    "message": {"mid": f"m_{i}", "text": f"mensagem {i} ✓"},
                }
                for i in range(25)
            ],
        }
    ],
}
TELEGRAM = {
    "update_id": 10,
    "message": {
        "message_id": 5,
        "from": {"id": 77, "is_bot": False, "first_name": "Ola"},
        "chat": {"id": 77, "type": "private"},
        "date": 1763812800,
        "text": "Dzień dobry",
    },
}
TRUSTPILOT = {
    "events": [
        {
            "eventName": "service-review-created",
            "version": "1",
            "eventData": {
                "id": "r1",
                "stars": 2,
                "text": "Slow delivery",
                "createdAt": "2026-11-22T10:00:00Z",
                "consumer": {"id": "c1", "name": "Kim"},
            },
        }
    ]
}
X_DM = {
    "for_user_id": "100",
    "direct_message_events": [
        {
            "type": "message_create",
            "id": "dm1",
            "created_timestamp": "1763812800000",
            "message_create": {"target": {"recipient_id": "100"}, "sender_id": "200", "message_data": {"text": "help"}},
        }
    ],
    "users": {"200": {"id": "200", "screen_name": "kim", "name": "Kim"}},
}
GENERIC = {
    "events": [
        {
            "id": "g1",
            "author": {"id": "u1"},
            "text": "hello",
            "created_at": "2026-11-22T10:00:00Z",
            "kind": "comment",
        }
    ]
}

DELIVERIES = {
    "meta": (MESSENGER, ""),
    "x": (X_DM, ""),
    "telegram": (TELEGRAM, ""),
    "trustpilot": (TRUSTPILOT, ""),
    "generic": (GENERIC, "shopforum"),
}


def post(client: Any, channel: str, raw: bytes, secrets: dict[str, Any], source: str = "", **overrides: Any) -> Any:
    request = sign(channel, raw, secrets, source=source)
    headers = {**request.headers, **overrides.get("headers", {})}
    path = overrides.get("path", request.path)
    return client.http.post(path, headers=headers, body=raw)


def queued(sqs: Any, aws: dict[str, str]) -> list[dict[str, Any]]:
    return drain(sqs, aws["SOCIALCRM_INGEST_QUEUE_URL"])


@pytest.mark.parametrize("channel", list(DELIVERIES))
def test_a_signed_delivery_is_queued_and_acknowledged(client, sqs, aws, secrets, channel) -> None:
    document, source = DELIVERIES[channel]
    response = post(client, channel, json.dumps(document).encode(), secrets, source)
    assert response.status_code == 200, response.body
    messages = queued(sqs, aws)
    assert json.loads(response.body) == {"received": len(messages), "queued": len(messages), "ignored": {}}
    assert len(messages) >= 1


def test_many_events_in_one_post_become_one_message_each(client, sqs, aws, secrets) -> None:
    response = post(client, "meta", json.dumps(MESSENGER).encode(), secrets)
    assert response.status_code == 200
    messages = queued(sqs, aws)
    assert sorted(m["external_id"] for m in messages) == sorted(f"m_{i}" for i in range(25))
    assert {m["text"] for m in messages} == {f"mensagem {i} ✓" for i in range(25)}


def _wrong_secret(secrets: dict[str, Any]) -> dict[str, Any]:
    def wrong(value: Any) -> Any:
        if isinstance(value, dict):
            return {name: wrong(entry) for name, entry in value.items()}
        return value + "-wrong" if isinstance(value, str) else value

    return {key: wrong(value) for key, value in secrets.items()}


@pytest.mark.parametrize("channel", list(DELIVERIES))
def test_wrong_secret_is_401_and_nothing_is_queued(client, sqs, aws, secrets, channel) -> None:
    document, source = DELIVERIES[channel]
    raw = json.dumps(document).encode()
    request = sign(channel, raw, _wrong_secret(secrets), source=source)
    response = client.http.post(request.path, headers=request.headers, body=raw)
    assert response.status_code == 401
    assert json.loads(response.body)["Code"] == "UnauthorizedError"
    assert queued(sqs, aws) == []


@pytest.mark.parametrize("channel", ["meta", "x", "generic"])
def test_tampered_body_is_401(client, sqs, aws, secrets, channel) -> None:
    document, source = DELIVERIES[channel]
    raw = json.dumps(document).encode()
    request = sign(channel, raw, secrets, source=source)
    tampered = raw.replace(b"e", b"E", 1)
    response = client.http.post(request.path, headers=request.headers, body=tampered)
    assert response.status_code == 401
    assert queued(sqs, aws) == []


@pytest.mark.parametrize(
    ("channel", "path"),
    [
        ("meta", "/webhooks/meta"),
        ("x", "/webhooks/x"),
        ("telegram", "/webhooks/telegram"),
        ("trustpilot", "/webhooks/trustpilot"),
        ("generic", "/webhooks/generic/shopforum"),
    ],
)
def test_missing_signature_is_401(client, sqs, aws, channel, path) -> None:
    document, _ = DELIVERIES[channel]
    response = client.http.post(path, headers={"Content-Type": "application/json"}, body=json.dumps(document))
    assert response.status_code == 401
    assert queued(sqs, aws) == []


def test_stale_generic_timestamp_is_401(client, sqs, aws, secrets) -> None:
    raw = json.dumps(GENERIC).encode()
    request = sign("generic", raw, secrets, source="shopforum", now=time.time() - 600)
    response = client.http.post(request.path, headers=request.headers, body=raw)
    assert response.status_code == 401
    assert "seconds from now" in json.loads(response.body)["Message"]
    assert queued(sqs, aws) == []


def test_a_generic_delivery_signed_for_one_source_is_refused_at_another(client, sqs, aws, secrets) -> None:
    raw = json.dumps(GENERIC).encode()
    captured = sign("generic", raw, secrets, source="shopforum")
    replayed = client.http.post("/webhooks/generic/forum2", headers=captured.headers, body=raw)
    assert replayed.status_code == 401  # both sources share generic_secret: only the signed source tells
    assert queued(sqs, aws) == []


def test_a_source_with_its_own_secret_accepts_only_that_secret(client, sqs, aws, secrets) -> None:
    raw = json.dumps(GENERIC).encode()
    assert secrets["generic_secrets"]["helpdesk"] != secrets["generic_secret"]
    shared = {**secrets, "generic_secrets": {}}  # signs helpdesk's delivery with the shared secret
    request = sign("generic", raw, shared, source="helpdesk")
    assert client.http.post(request.path, headers=request.headers, body=raw).status_code == 401
    assert queued(sqs, aws) == []
    # helpdesk's own secret signs for helpdesk, and for nobody else
    own = sign("generic", raw, secrets, source="helpdesk")
    assert client.http.post(own.path, headers=own.headers, body=raw).status_code == 200
    assert len(queued(sqs, aws)) == 1
    as_other = sign("generic", raw, {**secrets, "generic_secret": secrets["generic_secrets"]["helpdesk"]}, "shopforum")
    assert client.http.post(as_other.path, headers=as_other.headers, body=raw).status_code == 401
    assert queued(sqs, aws) == []


def test_a_source_without_any_secret_cannot_post(client, sqs, aws, secrets) -> None:
    webhook_part = split(secrets).webhook
    boto3.client("secretsmanager").put_secret_value(
        SecretId=aws["SOCIALCRM_WEBHOOK_SECRETS_ID"],
        SecretString=json.dumps({key: value for key, value in webhook_part.items() if key != "generic_secret"}),
    )
    dependencies.reset()
    raw = json.dumps(GENERIC).encode()
    assert post(client, "generic", raw, secrets, "shopforum").status_code == 401  # not configured: refused
    assert post(client, "generic", raw, secrets, "helpdesk").status_code == 200
    assert len(queued(sqs, aws)) == 1


@pytest.mark.parametrize("channel", list(DELIVERIES))
def test_malformed_json_with_a_valid_signature_is_400(client, sqs, aws, secrets, channel) -> None:
    _, source = DELIVERIES[channel]
    response = post(client, channel, b'{"object": "page", "entry": [', secrets, source)
    assert response.status_code == 400
    assert "not valid JSON" in json.loads(response.body)["Message"]
    assert queued(sqs, aws) == []


def test_unknown_meta_object_is_400_naming_the_field(client, sqs, aws, secrets) -> None:
    response = post(client, "meta", json.dumps({"object": "permissions", "entry": []}).encode(), secrets)
    assert response.status_code == 400
    assert json.loads(response.body)["Message"].startswith("object: expected one of page")


def test_generic_source_that_shadows_a_platform_is_400(client, sqs, aws, secrets) -> None:
    response = post(client, "generic", json.dumps(GENERIC).encode(), secrets, "messenger")
    assert response.status_code == 400
    assert queued(sqs, aws) == []


def test_body_over_the_limit_is_413_before_anything_else(client, sqs, aws, secrets, monkeypatch) -> None:
    monkeypatch.setenv("SOCIALCRM_MAX_BODY_BYTES", "1000")
    dependencies.reset()
    raw = json.dumps(MESSENGER).encode()
    assert len(raw) > 1000
    response = post(client, "meta", raw, secrets)
    assert response.status_code == 413
    assert queued(sqs, aws) == []
    unsigned = client.http.post("/webhooks/meta", headers={"Content-Type": "application/json"}, body=raw)
    assert unsigned.status_code == 413


def test_a_generic_text_over_the_contract_limit_is_400(client, sqs, aws, secrets) -> None:
    events = [dict(GENERIC["events"][0], id="small"), dict(GENERIC["events"][0], id="huge", text="ü" * 60_001)]
    response = post(client, "generic", json.dumps({"events": events}).encode(), secrets, "shopforum")
    assert response.status_code == 400
    assert "events[1].text: at most 60000 characters" in json.loads(response.body)["Message"]
    assert queued(sqs, aws) == []


def _visitor_post(post_id: str, text: str) -> dict[str, Any]:
    value = {"from": {"id": "U1", "name": "Ivan"}, "post_id": post_id, "message": text, "created_time": 1763812800}
    return {"field": "feed", "value": {**value, "item": "status", "verb": "add"}}


def test_a_very_long_cyrillic_post_is_queued_whole_beside_its_neighbour(client, sqs, aws, secrets) -> None:
    long_text = "Здравствуйте " * 4_000 + "конец"
    document = {
        "object": "page",
        "entry": [
            {"id": "PAGE", "time": 1763812800, "changes": [_visitor_post("P_1", "ok"), _visitor_post("P_2", long_text)]}
        ],
    }
    response = post(client, "meta", json.dumps(document).encode(), secrets)
    assert response.status_code == 200
    texts = {m["external_id"]: (m["text"], m["text_truncated"]) for m in queued(sqs, aws)}
    assert texts == {"P_1": ("ok", False), "P_2": (long_text, False)}


def test_text_beyond_one_sqs_message_is_cut_and_marked_not_dropped(client, sqs, aws, secrets) -> None:
    document = {
        "object": "page",
        "entry": [
            {
                "id": "PAGE",
                "time": 1763812800,
                "changes": [_visitor_post("P_1", "ok"), _visitor_post("P_2", "🔥" * 70_000)],
            }
        ],
    }
    response = post(client, "meta", json.dumps(document).encode(), secrets)
    assert response.status_code == 200
    messages = {m["external_id"]: m for m in queued(sqs, aws)}
    assert messages["P_1"]["text"] == "ok"
    assert messages["P_2"]["text_truncated"] is True
    assert set(messages["P_2"]["text"]) == {"🔥"}


def test_meta_handshake(client, aws, secrets) -> None:
    good = client.http.get(
        f"/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={secrets['meta_verify_token']}"
    )
    assert (good.status_code, good.body, good.headers["Content-Type"]) == (200, b"1158201444", "text/plain")
    bad = client.http.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=guess")
    assert bad.status_code == 403


def test_x_crc(client, aws, secrets) -> None:
    response = client.http.get("/webhooks/x?crc_token=abc")
    assert response.status_code == 200
    from chalicelib.channels.signing import base64_signature

    assert json.loads(response.body) == {"response_token": base64_signature(secrets["x_consumer_secret"], b"abc")}
    assert client.http.get("/webhooks/x").status_code == 400


def test_unreadable_secrets_are_503_so_the_platform_retries(client, sqs, aws, secrets) -> None:
    boto3.client("secretsmanager").delete_secret(
        SecretId=aws["SOCIALCRM_WEBHOOK_SECRETS_ID"], ForceDeleteWithoutRecovery=True
    )
    dependencies.reset()
    response = post(client, "meta", json.dumps(MESSENGER).encode(), secrets)
    assert response.status_code == 503
    assert queued(sqs, aws) == []
    assert client.http.get("/health").status_code == 503


def test_a_queue_that_cannot_be_reached_is_503(client, sqs, aws, secrets) -> None:
    sqs.delete_queue(QueueUrl=aws["SOCIALCRM_INGEST_QUEUE_URL"])
    response = post(client, "telegram", json.dumps(TELEGRAM).encode(), secrets)
    assert response.status_code == 503
    assert json.loads(response.body)["Code"] == "ServiceUnavailableError"


def test_health_is_200_when_secrets_and_queue_are_reachable(client, aws) -> None:
    response = client.http.get("/health")
    assert (response.status_code, json.loads(response.body)) == (200, {"status": "ok"})


def test_deliveries_that_hold_no_customer_event_are_acknowledged_without_queueing(client, sqs, aws, secrets) -> None:
    statuses = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"phone_number_id": "PNID"},
                            "statuses": [{"id": "wamid.1", "status": "read", "timestamp": "1763812800"}],
                        },
                    }
                ],
            }
        ],
    }
    response = post(client, "meta", json.dumps(statuses).encode(), secrets)
    assert (response.status_code, json.loads(response.body)) == (
        200,
        {"received": 1, "queued": 0, "ignored": {"status": 1}},
    )
    assert queued(sqs, aws) == []


def test_the_webhook_function_serves_the_public_routes_and_only_those(sqs, aws, secrets) -> None:
    """What `make deploy` runs as WebhookIngress: chalicelib.ingress, the webhook and health routes."""
    from chalice.test import Client

    from chalicelib.ingress import app as ingress

    assert sorted(ingress.routes) == [
        "/health",
        "/webhooks/generic/{source}",
        "/webhooks/meta",
        "/webhooks/telegram",
        "/webhooks/trustpilot",
        "/webhooks/x",
    ]
    with Client(ingress, stage_name="dev") as client:
        response = post(client, "telegram", json.dumps(TELEGRAM).encode(), secrets)
        assert response.status_code == 200
        assert [m["text"] for m in queued(sqs, aws)] == ["Dzień dobry"]
        assert client.http.get("/health").status_code == 200
