"""The platform sandbox (tools/sandbox/): each send endpoint's documented answers and errors, token
checks, faults, what it records and shows, and the echoes and statuses it sends back, checked with
socialcrm's own webhook verification. Each test talks to a sandbox started in this process on a
free port, over HTTP, as the senders will."""

from __future__ import annotations

import base64
import json
import logging
import secrets as random
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from chalicelib.channels.base import WebhookRequest
from chalicelib.channels.registry import CHANNELS
from tests.helpers import Secrets
from tools import sandbox as sandbox_package
from tools.local import __main__ as local_stack
from tools.local.launch import free_port
from tools.sandbox import server, xauth
from tools.sandbox.callbacks import META_APP_ID
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.template import ROOT

DEV = load_file(DEV_SECRETS_PATH)
PAGE, OTHER_PAGE, INSTAGRAM = "104000000000001", "104000000000002", "17841400000000001"
PHONE = "100000000000101"
X_ACCOUNT = "3300000001"
TRUSTPILOT_UNIT = "43f51215-0000-4c60-b6dd-000000000001"
DOCUMENTED_FIELDS = {"platform", "endpoint", "recipient", "text", "platform_message_id", "received_at"}


# --- a tiny receiver for the callbacks, and the sandbox under test --------------------------------


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def document(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)

    def wait(self, count: int, timeout: float = 10) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while len(self.deliveries) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.deliveries) >= count, self.deliveries
        return list(self.deliveries)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    received: list[Delivery] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Receiver(f"http://127.0.0.1:{httpd.server_address[1]}", received)
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def sandbox(receiver: Receiver) -> Iterator[server.SandboxServer]:
    running = server.start(DEV, callback_url=receiver.url, callback_delay=0)
    yield running
    running.close()


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    raw: bytes

    @property
    def body(self) -> Any:
        return json.loads(self.raw) if self.raw else None


def call(
    base: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    method: str | None = None,
    form: dict[str, str] | None = None,
) -> Reply:
    data: bytes | None = None
    sent = dict(headers or {})
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
    elif body is not None:
        data = json.dumps(body).encode()
        sent.setdefault("Content-Type", "application/json")
    verb = method or ("POST" if data else "GET")
    request = urllib.request.Request(base + path, data=data, headers=sent, method=verb)  # noqa: S310 - the sandbox
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return Reply(answer.status, {k.lower(): v for k, v in answer.headers.items()}, answer.read())
    except urllib.error.HTTPError as error:
        return Reply(error.code, {k.lower(): v for k, v in error.headers.items()}, error.read())


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page_token(account: str = PAGE) -> str:
    return str(DEV["meta_page_tokens"][account])


def messenger(text: str = "Olá! Seu pedido sai hoje.", **extra: Any) -> dict[str, Any]:
    return {
        "recipient": {"id": "25000000000000001"},
        "messaging_type": "RESPONSE",
        "message": {"text": text, "metadata": "socialcrm:reply-1"},
        **extra,
    }


def verified(delivery: Delivery, channel: str) -> Any:
    """The delivery as socialcrm's own route would take it: authenticated, then parsed."""
    request = WebhookRequest(body=delivery.body, headers=delivery.headers)
    CHANNELS[channel].authenticate(request, Secrets(dict(DEV)), time.time())  # raises InvalidSignature
    from datetime import UTC, datetime

    return CHANNELS[channel].parse(request, datetime.now(UTC))


def messages(base: str, query: str = "") -> list[dict[str, Any]]:
    found = call(base, "/messages" + query)
    assert found.status == 200
    return list(found.body)


# --- Messenger, Instagram and comments ------------------------------------------------------------


def test_a_messenger_send_answers_as_the_send_api_and_comes_back_echoed_delivered_and_read(
    sandbox: server.SandboxServer, receiver: Receiver
) -> None:
    answer = call(sandbox.url, f"/graph/v21.0/{PAGE}/messages", messenger(), bearer(page_token()))
    assert answer.status == 200
    assert set(answer.body) == {"recipient_id", "message_id"}
    assert answer.body["recipient_id"] == "25000000000000001"
    mid = answer.body["message_id"]
    assert mid.startswith("m_")
    assert len(mid) > 20

    [record] = messages(sandbox.url)
    assert set(record) >= DOCUMENTED_FIELDS
    assert record["platform"] == "messenger"
    assert record["endpoint"] == "POST /{page-id}/messages"
    assert (record["recipient"], record["text"], record["platform_message_id"]) == (
        "25000000000000001",
        "Olá! Seu pedido sai hoje.",
        mid,
    )
    assert record["received_at"].endswith("Z")

    echo, delivery, read = receiver.wait(3)
    assert {d.path for d in (echo, delivery, read)} == {"/webhooks/meta"}
    parsed = verified(echo, "meta")
    message = echo.document["entry"][0]["messaging"][0]["message"]
    assert message == {
        "mid": mid,
        "is_echo": True,
        "app_id": META_APP_ID,
        "text": "Olá! Seu pedido sai hoje.",
        "metadata": "socialcrm:reply-1",
    }
    assert echo.document["object"] == "page"
    assert echo.document["entry"][0]["messaging"][0]["sender"] == {"id": PAGE}
    [interaction] = parsed.interactions
    assert (interaction.direction.value, interaction.external_id, interaction.thread_id) == (
        "outbound",
        mid,
        "25000000000000001",
    )
    verified(delivery, "meta")
    receipt = delivery.document["entry"][0]["messaging"][0]
    assert receipt["sender"] == {"id": "25000000000000001"}
    assert receipt["recipient"] == {"id": PAGE}
    assert receipt["delivery"]["mids"] == [mid]
    assert isinstance(receipt["delivery"]["watermark"], int)
    verified(read, "meta")
    assert set(read.document["entry"][0]["messaging"][0]["read"]) == {"watermark"}


def test_meta_tokens_are_the_accounts_own_and_errors_are_metas(sandbox: server.SandboxServer) -> None:
    path = f"/graph/v21.0/{PAGE}/messages"
    for token in ("not-a-token", page_token(OTHER_PAGE), ""):
        refused = call(sandbox.url, path, messenger(), bearer(token) if token else {})
        assert refused.status == 401
        error = refused.body["error"]
        assert (error["code"], error["type"]) == (190, "OAuthException")
        assert set(error) >= {"message", "type", "code", "fbtrace_id"}
    unknown = call(sandbox.url, "/graph/v21.0/999/messages", messenger(), bearer(page_token()))
    assert (unknown.status, unknown.body["error"]["code"], unknown.body["error"]["error_subcode"]) == (400, 100, 33)
    long = call(sandbox.url, path, messenger("x" * 2001), bearer(page_token()))
    assert (long.status, long.body["error"]["code"]) == (400, 100)
    assert "2000" in long.body["error"]["message"]
    assert call(sandbox.url, path, messenger("x" * 2000), bearer(page_token())).status == 200
    stranger = call(sandbox.url, path, {**messenger(), "recipient": {"id": "nobody"}}, bearer(page_token()))
    assert (stranger.body["error"]["code"], stranger.body["error"]["error_subcode"]) == (100, 2018001)
    untyped = {key: value for key, value in messenger().items() if key != "messaging_type"}
    assert call(sandbox.url, path, untyped, bearer(page_token())).body["error"]["code"] == 100
    tagged = messenger(messaging_type="MESSAGE_TAG", tag="HUMAN_AGENT")
    assert call(sandbox.url, path, tagged, bearer(page_token())).status == 200
    # the access_token parameter works as the header does
    assert call(sandbox.url, path + "?access_token=" + page_token(), messenger()).status == 200
    assert [r["status"] for r in messages(sandbox.url, "?all=true")] == [
        401,
        401,
        401,
        400,
        400,
        200,
        400,
        400,
        200,
        200,
    ]


def test_instagram_dms_count_bytes_and_come_back_echoed_and_seen(
    sandbox: server.SandboxServer, receiver: Receiver
) -> None:
    path = f"/graph/v21.0/{INSTAGRAM}/messages"
    token = bearer(page_token(INSTAGRAM))
    too_long = call(sandbox.url, path, messenger("ã" * 501), token)  # 1,002 bytes
    assert (too_long.status, too_long.body["error"]["code"]) == (400, 100)
    answer = call(sandbox.url, path, messenger("ã" * 500), token)
    assert answer.status == 200
    mid = answer.body["message_id"]
    echo, read = receiver.wait(2)
    assert echo.document["object"] == "instagram"
    [interaction] = verified(echo, "meta").interactions
    assert (interaction.platform, interaction.external_id) == ("instagram", mid)
    verified(read, "meta")
    assert read.document["entry"][0]["messaging"][0]["read"] == {"mid": mid}
    assert messages(sandbox.url)[0]["platform"] == "instagram"


def test_a_private_reply_goes_once_per_comment(sandbox: server.SandboxServer, receiver: Receiver) -> None:
    body = {"recipient": {"comment_id": "900000000000011_1200000000000001"}, "message": {"text": "Te chamei na DM"}}
    path = f"/graph/v21.0/{PAGE}/messages"
    first = call(sandbox.url, path, body, bearer(page_token()))
    assert first.status == 200
    assert first.body["recipient_id"].isdigit()
    again = call(sandbox.url, path, body, bearer(page_token()))
    assert (again.status, again.body["error"]["code"]) == (400, 10900)
    [record] = messages(sandbox.url)
    assert (record["platform"], record["recipient"]) == ("facebook", "900000000000011_1200000000000001")
    echo = receiver.wait(1)[0]
    assert echo.document["entry"][0]["messaging"][0]["recipient"] == {"id": first.body["recipient_id"]}


def test_public_comment_replies_on_facebook_and_instagram(sandbox: server.SandboxServer, receiver: Receiver) -> None:
    facebook = call(
        sandbox.url,
        "/graph/v21.0/900000000000011_1200000000000001/comments",
        {"message": "Entregamos sim!"},
        bearer(page_token()),
    )
    assert facebook.status == 200
    assert facebook.body["id"].startswith("900000000000011_")
    # Instagram's documented form: the message in the query string
    instagram = call(
        sandbox.url,
        "/graph/v21.0/17850000000000001/replies?" + urllib.parse.urlencode({"message": "Temos sim!"}),
        headers=bearer(page_token(INSTAGRAM)),
        method="POST",
    )
    assert instagram.status == 200
    assert instagram.body["id"].isdigit()
    wrong = call(sandbox.url, "/graph/v21.0/17850000000000001/replies", {"message": "x"}, bearer("nope"))
    assert (wrong.status, wrong.body["error"]["code"]) == (401, 190)
    long = call(sandbox.url, "/graph/v21.0/17850000000000001/replies", {"message": "x" * 2201}, bearer(page_token()))
    assert long.body["error"]["code"] == 100
    assert [(r["platform"], r["endpoint"], r["text"]) for r in messages(sandbox.url)] == [
        ("facebook", "POST /{comment-id}/comments", "Entregamos sim!"),
        ("instagram", "POST /{ig-comment-id}/replies", "Temos sim!"),
    ]
    time.sleep(0.1)
    assert receiver.deliveries == []  # comment replies are not echoed by the sandbox


def test_a_graph_lookup_is_answered_as_an_object_the_token_cannot_see(sandbox: server.SandboxServer) -> None:
    """socialcrm fetches mentions from the same base URL: the sandbox answers with a permanent error."""
    found = call(sandbox.url, "/graph/v21.0/17900000000000001?fields=id,text", headers=bearer(page_token()))
    assert (found.status, found.body["error"]["code"], found.body["error"]["error_subcode"]) == (400, 100, 33)
    assert call(sandbox.url, "/graph/v21.0/17900000000000001", headers=bearer("x")).status == 401
    assert messages(sandbox.url, "?all=true") == []


# --- WhatsApp -------------------------------------------------------------------------------------


def whatsapp(**extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": "48500100200",
        "type": "text",
        "text": {"body": "Dzień dobry! Kurier będzie jutro."},
        "biz_opaque_callback_data": "socialcrm:reply-7",
        **extra,
    }


def test_a_whatsapp_send_answers_with_a_wamid_and_its_statuses_come_back(
    sandbox: server.SandboxServer, receiver: Receiver
) -> None:
    token = bearer(str(DEV["whatsapp_tokens"][PHONE]))
    answer = call(sandbox.url, f"/graph/v21.0/{PHONE}/messages", whatsapp(context={"message_id": "wamid.X"}), token)
    assert answer.status == 200
    wamid = answer.body["messages"][0]["id"]
    assert answer.body == {
        "messaging_product": "whatsapp",
        "contacts": [{"input": "48500100200", "wa_id": "48500100200"}],
        "messages": [{"id": wamid}],
    }
    assert wamid.startswith("wamid.")
    deliveries = receiver.wait(3)
    states = []
    for delivery in deliveries:
        parsed = verified(delivery, "meta")
        assert not set(parsed.ignored) & {"malformed", "unreadable", "unknown", "conflict"}, parsed.ignored
        [entry] = delivery.document["entry"]
        assert entry["id"] == "100000000000100"  # the number's business account, as the demo's statuses
        [change] = entry["changes"]
        assert change["field"] == "messages"
        value = change["value"]
        assert value["metadata"] == {"display_phone_number": "15550100000", "phone_number_id": PHONE}
        [status] = value["statuses"]
        assert (status["id"], status["recipient_id"], status["biz_opaque_callback_data"]) == (
            wamid,
            "48500100200",
            "socialcrm:reply-7",
        )
        assert status["timestamp"].isdigit()
        assert status["conversation"]["origin"] == {"type": "service"}
        assert status["pricing"] == {"billable": True, "pricing_model": "CBP", "category": "service"}
        states.append(status["status"])
    assert states == ["sent", "delivered", "read"]
    assert (
        "expiration_timestamp"
        in deliveries[0].document["entry"][0]["changes"][0]["value"]["statuses"][0]["conversation"]
    )


def test_whatsapp_errors_tokens_and_business_scoped_ids(sandbox: server.SandboxServer, receiver: Receiver) -> None:
    path, token = f"/graph/v21.0/{PHONE}/messages", bearer(str(DEV["whatsapp_tokens"][PHONE]))
    page_token_here = call(sandbox.url, path, whatsapp(), bearer(page_token()))
    assert (page_token_here.status, page_token_here.body["error"]["code"]) == (401, 190)
    long = call(sandbox.url, path, whatsapp(text={"body": "x" * 4097}), token)
    assert long.status == 400
    assert long.body["error"]["code"] == 100
    assert long.body["error"]["error_data"]["messaging_product"] == "whatsapp"
    assert "4096" in long.body["error"]["error_data"]["details"]
    scoped = call(sandbox.url, path, {**whatsapp(to=None), "recipient": "US.13491208655302741918"}, token)
    assert scoped.status == 200
    assert scoped.body["contacts"] == [{"input": "US.13491208655302741918", "user_id": "US.13491208655302741918"}]
    template = {
        "messaging_product": "whatsapp",
        "to": "48500100200",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": {"code": "pl"},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "A-1042"}]}],
        },
    }
    sent = call(sandbox.url, path, template, token)
    assert sent.status == 200
    assert sent.body["messages"][0]["message_status"] == "accepted"
    assert messages(sandbox.url)[-1]["text"] == "[template order_update (pl)] A-1042"
    deliveries = receiver.wait(6)
    statuses = [d.document["entry"][0]["changes"][0]["value"]["statuses"][0] for d in deliveries]
    scoped_statuses = [s for s in statuses if s["id"] == scoped.body["messages"][0]["id"]]
    assert [s.get("recipient_user_id") for s in scoped_statuses] == ["US.13491208655302741918"] * 3
    assert all("recipient_id" not in s and s["pricing"]["pricing_model"] == "PMP" for s in scoped_statuses)
    # a business-scoped id in `to` is accepted and silently dropped: no status ever comes
    dropped = call(sandbox.url, path, whatsapp(to="US.13491208655302741918"), token)
    assert dropped.status == 200
    time.sleep(0.2)
    assert len(receiver.deliveries) == 6


# --- Telegram -------------------------------------------------------------------------------------


def test_telegram_send_message_and_its_documented_errors(sandbox: server.SandboxServer, receiver: Receiver) -> None:
    path = f"/telegram/bot{DEV['telegram_bot_token']}/sendMessage"
    body = {
        "chat_id": 6100000001,
        "text": "Przepraszamy! Zwrot już w drodze.",
        "reply_parameters": {"message_id": 1207},
    }
    first, second = call(sandbox.url, path, body), call(sandbox.url, path, body)
    assert first.status == 200
    assert first.body["ok"] is True
    result = first.body["result"]
    assert result["chat"]["id"] == 6100000001
    assert result["text"] == body["text"]
    assert isinstance(result["message_id"], int)
    assert isinstance(result["date"], int)
    assert second.body["result"]["message_id"] == result["message_id"] + 1
    wrong = call(sandbox.url, "/telegram/bot123:wrong/sendMessage", body)
    assert (wrong.status, wrong.body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    long = call(sandbox.url, path, {**body, "text": "x" * 4097})
    assert (long.status, long.body) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
    )
    form = call(sandbox.url, path, form={"chat_id": "6100000001", "text": "form-encoded works too"})
    assert form.status == 200
    [one, _two, three] = messages(sandbox.url, "?platform=telegram")
    assert one["endpoint"] == "POST /bot{token}/sendMessage"  # never the token itself
    assert (one["recipient"], one["platform_message_id"]) == ("6100000001", str(result["message_id"]))
    assert three["text"] == "form-encoded works too"
    assert receiver.deliveries == []  # a bot never receives its own messages


# --- X --------------------------------------------------------------------------------------------


def oauth_header(method: str, url: str, credentials: dict[str, str], consumer_secret: str | None = None) -> str:
    """An OAuth 1.0a header as a sender builds it (RFC 5849)."""
    params = {
        "oauth_consumer_key": credentials["consumer_key"],
        "oauth_nonce": random.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(time.time())),
        "oauth_token": credentials["access_token"],
        "oauth_version": "1.0",
    }
    split = urllib.parse.urlsplit(url)
    signed = [*params.items(), *urllib.parse.parse_qsl(split.query)]
    params["oauth_signature"] = xauth.signature(
        method,
        f"{split.scheme}://{split.netloc}{split.path}",
        signed,
        consumer_secret or credentials["consumer_secret"],
        credentials["access_token_secret"],
    )
    return "OAuth " + ", ".join(f'{xauth.percent(k)}="{xauth.percent(v)}"' for k, v in sorted(params.items()))


def test_the_oauth_signature_is_twitters_documented_example() -> None:
    """The known answer from X's "Creating a signature" page."""
    params = [
        ("status", "Hello Ladies + Gentlemen, a signed OAuth request!"),
        ("include_entities", "true"),
        ("oauth_consumer_key", "xvz1evFS4wEEPTGEFPHBog"),
        ("oauth_nonce", "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg"),
        ("oauth_signature_method", "HMAC-SHA1"),
        ("oauth_timestamp", "1318622958"),
        ("oauth_token", "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb"),
        ("oauth_version", "1.0"),
    ]
    assert (
        xauth.signature(
            "POST",
            "https://api.twitter.com/1.1/statuses/update.json",
            params,
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        )
        == "hCtSmYh+iHYCEqBWrE7C7hYmtUk="
    )


def test_an_x_dm_needs_the_accounts_user_context_and_comes_back_as_its_own_dm(
    sandbox: server.SandboxServer, receiver: Receiver
) -> None:
    credentials = DEV["x_user_credentials"][X_ACCOUNT]
    url = f"{sandbox.url}/x/2/dm_conversations/with/1480000000000000101/messages"
    path = url.removeprefix(sandbox.url)
    body = {"text": "Aceitamos Pix sim! 😊"}
    assert call(sandbox.url, path, body).status == 401
    assert call(sandbox.url, path, body, {"Authorization": "Bearer app-only"}).body["status"] == 401
    forged = oauth_header("POST", url, credentials, consumer_secret="not-the-secret")
    assert call(sandbox.url, path, body, {"Authorization": forged}).status == 401
    answer = call(sandbox.url, path, body, {"Authorization": oauth_header("POST", url, credentials)})
    assert answer.status == 201
    data = answer.body["data"]
    assert data["dm_conversation_id"] == f"{X_ACCOUNT}-1480000000000000101"
    assert data["dm_event_id"].isdigit()
    [echo] = receiver.wait(1)
    assert echo.path == "/webhooks/x"
    [interaction] = verified(echo, "x").interactions
    assert (interaction.direction.value, interaction.external_id, interaction.recipient_id, interaction.text) == (
        "outbound",
        data["dm_event_id"],
        "1480000000000000101",
        "Aceitamos Pix sim! 😊",
    )
    assert echo.document["for_user_id"] == X_ACCOUNT
    assert echo.document["direct_message_events"][0]["message_create"]["sender_id"] == X_ACCOUNT


def test_an_x_reply_tweet_counts_as_x_counts(sandbox: server.SandboxServer) -> None:
    credentials = DEV["x_user_credentials"][X_ACCOUNT]
    url = f"{sandbox.url}/x/2/tweets"

    def tweet(text: str) -> Reply:
        body = {"text": text, "reply": {"in_reply_to_tweet_id": "1860000000000000001"}}
        return call(sandbox.url, "/x/2/tweets", body, {"Authorization": oauth_header("POST", url, credentials)})

    fits = "😊" * 140  # 280 weighted: every emoji counts 2
    answer = tweet(fits)
    assert answer.status == 201
    assert answer.body["data"]["text"] == fits
    assert answer.body["data"]["id"].isdigit()
    too_long = tweet(fits + "!")
    assert (too_long.status, too_long.body["title"]) == (403, "Forbidden")
    assert "too long" in too_long.body["detail"]
    assert xauth.weighted_length("https://example.com/" + "a" * 100) == 23
    assert xauth.weighted_length("👨‍👩‍👧‍👦🇵🇱") == 4
    assert messages(sandbox.url)[0]["recipient"] == "1860000000000000001"


# --- Trustpilot and generic outbound --------------------------------------------------------------


def test_trustpilot_client_credentials_then_a_review_reply(sandbox: server.SandboxServer) -> None:
    client = DEV["trustpilot_clients"][TRUSTPILOT_UNIT]
    token_path = "/trustpilot/v1/oauth/oauth-business-users-for-applications/accesstoken"

    def basic(secret: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{client['client_id']}:{secret}".encode()).decode()}

    assert (
        call(sandbox.url, token_path, headers=basic("wrong"), form={"grant_type": "client_credentials"}).status == 401
    )
    issued = call(
        sandbox.url, token_path, headers=basic(client["client_secret"]), form={"grant_type": "client_credentials"}
    )
    assert issued.status == 200
    assert set(issued.body) == {"access_token", "expires_in", "token_type"}
    assert (issued.body["expires_in"], issued.body["token_type"]) == ("359999", "Bearer")
    reply_path = "/trustpilot/v1/private/reviews/6541f0a2b3c4d5e6f7a8b901/reply"
    body = {
        "message": "Sorry about the cold coffee: refund on its way.",
        "authorBusinessUserId": client["business_user_id"],
    }
    refused = call(sandbox.url, reply_path, body, bearer("made-up"))
    assert refused.status == 401
    assert refused.body["fault"]["faultstring"]
    other_user = call(
        sandbox.url,
        reply_path,
        {**body, "authorBusinessUserId": "5f0000000000000000000999"},
        bearer(issued.body["access_token"]),
    )
    assert other_user.status == 403
    answer = call(sandbox.url, reply_path, body, bearer(issued.body["access_token"]))
    assert (answer.status, answer.raw) == (201, b"")
    [record] = messages(sandbox.url)
    assert (record["platform"], record["recipient"], record["text"]) == (
        "trustpilot",
        "6541f0a2b3c4d5e6f7a8b901",
        body["message"],
    )
    kinds = [(r["kind"], r["status"]) for r in messages(sandbox.url, "?all=true")]
    assert kinds == [("token", 401), ("token", 200), ("send", 401), ("send", 403), ("send", 201)]


def test_a_generic_outbound_delivery_is_accepted_and_recorded(sandbox: server.SandboxServer) -> None:
    url = DEV["generic_outbound"]["helpdesk"]["url"]
    assert url.startswith("http://127.0.0.1:8025/generic/helpdesk")
    body = {"reply": {"thread_id": "tkt-1042", "text": "Endereço atualizado ✅"}}
    answer = call(sandbox.url, "/generic/helpdesk", body, {"X-SocialCRM-Signature": "sha256=00"})
    assert answer.status == 200
    assert len(answer.body["id"]) == 24
    [record] = messages(sandbox.url, "?platform=helpdesk")
    assert (record["endpoint"], record["recipient"], record["text"]) == (
        "POST /generic/{source}",
        "tkt-1042",
        "Endereço atualizado ✅",
    )


# --- faults, the record and the page --------------------------------------------------------------


def test_telegram_429_twice_then_success_sends_exactly_one_message(sandbox: server.SandboxServer) -> None:
    fault = call(sandbox.url, "/faults", {"platform": "telegram", "status": 429, "count": 2, "retry_after": 3})
    assert fault.status == 201
    assert call(sandbox.url, "/faults").body == [{"platform": "telegram", "status": 429, "count": 2, "retry_after": 3}]
    path = f"/telegram/bot{DEV['telegram_bot_token']}/sendMessage"
    answers = [call(sandbox.url, path, {"chat_id": 7, "text": "Oi"}) for _ in range(3)]
    assert [a.status for a in answers] == [429, 429, 200]
    assert answers[0].body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert call(sandbox.url, "/faults").body == []
    assert len(messages(sandbox.url, "?platform=telegram")) == 1
    assert [r["status"] for r in messages(sandbox.url, "?platform=telegram&all=true")] == [429, 429, 200]


def test_faults_answer_each_platforms_documented_error(sandbox: server.SandboxServer) -> None:
    def fault(platform: str, status: int, **extra: Any) -> None:
        assert call(sandbox.url, "/faults", {"platform": platform, "status": status, **extra}).status == 201

    messenger_path = f"/graph/v21.0/{PAGE}/messages"
    fault("messenger", 400)
    window = call(sandbox.url, messenger_path, messenger(), bearer(page_token()))
    assert (window.status, window.body["error"]["code"], window.body["error"]["error_subcode"]) == (400, 10, 2018278)
    fault("meta", 429, retry_after=7)  # `meta`: Messenger, Instagram and Facebook alike
    limited = call(sandbox.url, f"/graph/v21.0/{INSTAGRAM}/messages", messenger(), bearer(page_token(INSTAGRAM)))
    assert (limited.status, limited.body["error"]["code"], limited.headers["retry-after"]) == (429, 4, "7")
    fault("messenger", 503)
    outage = call(sandbox.url, messenger_path, messenger(), bearer(page_token()))
    assert (outage.status, outage.body["error"]["code"], outage.body["error"]["is_transient"]) == (503, 2, True)
    fault("messenger", 401)
    assert call(sandbox.url, messenger_path, messenger(), bearer(page_token())).body["error"]["code"] == 190

    whatsapp_path, whatsapp_token = f"/graph/v21.0/{PHONE}/messages", bearer(str(DEV["whatsapp_tokens"][PHONE]))
    fault("whatsapp", 400)
    closed = call(sandbox.url, whatsapp_path, whatsapp(), whatsapp_token)
    assert (closed.status, closed.body["error"]["code"]) == (400, 131047)
    fault("whatsapp", 429)
    assert call(sandbox.url, whatsapp_path, whatsapp(), whatsapp_token).body["error"]["code"] == 130429

    credentials = DEV["x_user_credentials"][X_ACCOUNT]
    fault("x", 429, retry_after=60)
    before = int(time.time())
    x_url = f"{sandbox.url}/x/2/tweets"
    rate = call(sandbox.url, "/x/2/tweets", {"text": "hi"}, {"Authorization": oauth_header("POST", x_url, credentials)})
    assert rate.status == 429
    assert "retry-after" not in rate.headers
    assert before + 59 <= int(rate.headers["x-rate-limit-reset"]) <= int(time.time()) + 61
    assert rate.headers["x-rate-limit-remaining"] == "0"

    fault("generic", 500, body={"custom": "answer"})
    assert call(sandbox.url, "/generic/shopforum", {"text": "x"}).body == {"custom": "answer"}
    fault("trustpilot", 429)
    throttled = call(sandbox.url, "/trustpilot/v1/private/reviews/r1/reply", {"message": "x"}, bearer("x"))
    assert throttled.status == 429
    assert throttled.headers["retry-after"] == "1"

    assert call(sandbox.url, "/faults", {"platform": "myspace!", "status": 200, "count": 0}).status == 400
    fault("telegram", 500, count=5)
    assert call(sandbox.url, "/faults", method="DELETE").status == 204
    assert call(sandbox.url, "/faults").body == []
    # nothing refused by a fault counts as sent
    assert messages(sandbox.url) == []


def test_messages_filter_and_clear(sandbox: server.SandboxServer) -> None:
    path = f"/telegram/bot{DEV['telegram_bot_token']}/sendMessage"
    call(sandbox.url, path, {"chat_id": 7, "text": "one"})
    call(sandbox.url, f"/graph/v21.0/{PAGE}/messages", messenger("two"), bearer(page_token()))
    assert [m["text"] for m in messages(sandbox.url)] == ["one", "two"]  # newest last
    assert [m["text"] for m in messages(sandbox.url, "?platform=messenger")] == ["two"]
    assert call(sandbox.url, "/messages", method="DELETE").status == 204
    assert messages(sandbox.url, "?all=true") == []
    assert call(sandbox.url, "/nowhere").status == 404
    assert call(sandbox.url, "/messages", {"x": 1}).status == 405


def test_the_page_shows_what_was_sent_and_escapes_it(sandbox: server.SandboxServer) -> None:
    text = "<script>alert('x')</script> & \"quoted\""
    path = f"/telegram/bot{DEV['telegram_bot_token']}/sendMessage"
    call(sandbox.url, path, {"chat_id": "@acme_news", "text": text})
    shown = call(sandbox.url, "/")
    assert shown.status == 200
    assert shown.headers["content-type"].startswith("text/html")
    page = shown.raw.decode()
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;quoted&quot;" in page
    assert "<script>" not in page
    assert "@acme_news" in page
    assert "/bot{token}/sendMessage" in page
    assert str(DEV["telegram_bot_token"]) not in page


# --- callbacks: off the send's path, failures logged without content -----------------------------


def test_callbacks_wait_their_delay_and_never_hold_up_the_answer(receiver: Receiver) -> None:
    slow = server.start(DEV, callback_url=receiver.url, callback_delay=0.4)
    try:
        started = time.monotonic()
        answer = call(slow.url, f"/graph/v21.0/{PAGE}/messages", messenger(), bearer(page_token()))
        assert answer.status == 200
        assert time.monotonic() - started < 0.3
        assert receiver.deliveries == []
        receiver.wait(3, timeout=5)
        assert time.monotonic() - started >= 1.2  # three callbacks, 0.4 s apart
    finally:
        slow.close()


def test_a_failed_callback_is_logged_without_text_or_secrets(caplog: pytest.LogCaptureFixture) -> None:
    nobody = server.start(DEV, callback_url=f"http://127.0.0.1:{free_port()}", callback_delay=0)
    try:
        with caplog.at_level(logging.INFO, logger="local.sandbox"):
            answer = call(
                nobody.url, f"/graph/v21.0/{PAGE}/messages", messenger("Texto secreto 123"), bearer(page_token())
            )
            assert answer.status == 200
            assert nobody.dispatcher is not None
            assert nobody.dispatcher.idle(timeout=10)
    finally:
        nobody.close()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "callback messenger echo failed" in logged
    assert "Texto secreto" not in logged
    assert page_token() not in logged
    assert "socialcrm:reply-1" not in logged


# --- the local stack runs it ----------------------------------------------------------------------


def test_make_run_starts_the_sandbox_and_points_the_senders_at_it(tmp_path: Path) -> None:
    assert "sandbox" in local_stack.PROCESSES
    assert local_stack.PROCESSES.index("sandbox") < local_stack.PROCESSES.index("worker")
    stack = local_stack.Stack(5001, 8001, DEV_SECRETS_PATH, tmp_path, sandbox_port=8026)
    command = stack.sandbox_command()
    assert command[1:3] == ["-m", "tools.sandbox"]
    assert command[command.index("--port") + 1] == "8026"
    assert command[command.index("--callback-url") + 1] == "http://127.0.0.1:8001"
    assert local_stack.sandbox_environment(8026) == {
        "SOCIALCRM_GRAPH_URL": "http://127.0.0.1:8026/graph/v21.0",
        "SOCIALCRM_TELEGRAM_URL": "http://127.0.0.1:8026/telegram",
        "SOCIALCRM_X_URL": "http://127.0.0.1:8026/x",
        "SOCIALCRM_TRUSTPILOT_URL": "http://127.0.0.1:8026/trustpilot",
    }
    # the generic outbound URLs of the document follow the sandbox to its port
    assert stack.secrets["generic_outbound"]["helpdesk"]["url"] == "http://127.0.0.1:8026/generic/helpdesk"
    assert sandbox_package.environment(8025)["SOCIALCRM_GRAPH_URL"].startswith("http://127.0.0.1:8025/")


def test_python_m_tools_sandbox_serves_on_its_port() -> None:
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-m", "tools.sandbox", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                assert call(f"http://127.0.0.1:{port}", "/messages").body == []
                break
            except urllib.error.URLError:
                time.sleep(0.2)
        else:
            pytest.fail("the sandbox did not answer")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0
    assert f"platform sandbox on http://127.0.0.1:{port}" in output
