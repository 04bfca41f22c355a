"""The local stack, started as `make run` starts it, receiving signed webhooks over HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tools.local import launch
from tools.local.demo import post, request
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.template import ROOT
from tools.webhook_client import sample_files, sign

pytestmark = pytest.mark.e2e


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def stack() -> Iterator[dict[str, Any]]:
    try:
        local = launch.start(demo=True)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    session = local.session()
    sqs = session.client("sqs", endpoint_url=local.endpoint)
    yield {
        "process": local.process,
        "log": local.log,
        "api": local.api,
        "session": session,
        "endpoint": local.endpoint,
        "sqs": sqs,
        "queue_url": sqs.get_queue_url(QueueName="socialcrm-dev-ingest")["QueueUrl"],
        "ports": (local.aws_port, local.api_port, local.sandbox_port),
        "sandbox": local.sandbox,
    }
    local.stop(timeout=30)


def test_demo_replayed_every_sample_with_a_200(stack: dict[str, Any]) -> None:
    replies = [
        line
        for line in stack["log"]
        if "[local.demo]" in line and "-> " in line and "GET " not in line and "/replies" not in line
    ]
    assert len(replies) == len(sample_files())
    assert all("-> 200" in line for line in replies), "".join(replies)


def wait_for(check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.3)
    pytest.fail("timed out")


def test_the_demo_shows_a_customer_the_pipeline_built(stack: dict[str, Any]) -> None:
    shown = [line for line in stack["log"] if "[local.demo] GET /customers/" in line]
    assert shown, "".join(stack["log"])
    assert "-> 200: " in shown[0]
    assert "{'telegram': " in shown[0]


def test_the_demo_answers_a_case_and_the_reply_comes_back_delivered(stack: dict[str, Any]) -> None:
    """A complaint arrived (the demo's Messenger sample) -> case -> POST /cases/{id}/replies -> the
    sender called the sandbox -> the sandbox's signed echo and receipts came back through the
    webhooks -> the reply is delivered (or read) and the case responded with its first-response time."""
    followed = [line for line in stack["log"] if "[local.demo] GET /replies/" in line]
    assert followed, "".join(line for line in stack["log"] if "[local.demo]" in line)
    assert " -> delivered;" in followed[0] or " -> read;" in followed[0], followed[0]
    assert "the case is responded" in followed[0]
    assert "first response after None" not in followed[0]
    status, received = request(stack["sandbox"], "/messages?platform=messenger", {})
    assert status == 200
    assert [m["text"] for m in received] == ["Sorry about that: your order ships today."]


def test_a_cancel_threat_goes_from_webhook_to_the_urgent_topic(stack: dict[str, Any]) -> None:
    """The whole chain on the emulated AWS: signed webhook -> ingest queue -> processor -> table
    -> bus -> rule -> alerts queue -> notifier -> SNS topic, seen through an SQS subscription."""
    session, endpoint, sqs = stack["session"], stack["endpoint"], stack["sqs"]
    sns = session.client("sns", endpoint_url=endpoint)
    (urgent,) = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":socialcrm-dev-alerts-urgent")
    ]
    inbox = sqs.create_queue(QueueName="e2e-urgent-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=urgent, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"})

    psid = "25000000000990001"
    delivery = {
        "object": "page",
        "entry": [
            {
                "id": "104000000000001",
                "time": int(time.time() * 1000),
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "104000000000001"},
                        "timestamp": int(time.time() * 1000),
                        "message": {
                            "mid": "m_e2e_cancel_1",
                            "text": "Fourth dropped call today. I'm cancelling my contract and moving to Kappa Bank.",
                        },
                    }
                ],
            }
        ],
    }
    signed = sign("meta", json.dumps(delivery).encode(), load_file(DEV_SECRETS_PATH))
    status, _ = post(stack["api"], signed.path, signed.headers, signed.body)
    assert status == 200

    def arrived() -> list[dict[str, Any]]:
        found = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
        messages: list[dict[str, Any]] = found.get("Messages", [])
        return messages

    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    wanted = ("Retention Alert (", "Interaction Routed (")
    while time.monotonic() < deadline and not all(any(m["Body"].startswith(w) for m in received) for w in wanted):
        received.extend(arrived())  # two events, two SQS messages: either may come first
    bodies = [m["Body"] for m in received]
    assert any(body.startswith("Retention Alert (") for body in bodies), bodies
    assert any(
        body.startswith("Interaction Routed (") and "route: team retention, priority P1, rule cancel" in body
        for body in bodies
    ), bodies
    assert all("Kappa" not in body and "dropped call" not in body for body in bodies), "no customer text in alerts"
    auth = {"Authorization": f"Bearer {load_file(DEV_SECRETS_PATH)['ops_api_token']}"}
    code, listing = request(stack["api"], "/alerts?type=Retention%20Alert", auth)
    assert code == 200
    assert any(alert["status"] == "sent" for alert in listing["alerts"])


def test_a_webhook_over_http_reaches_the_ops_api(stack: dict[str, Any]) -> None:
    secrets = load_file(DEV_SECRETS_PATH)
    update = {
        "update_id": 990001,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "text": "Mój e-mail: ivan@example.com. Zamówienie wciąż nie dotarło 😡",
            "from": {"id": 990001, "is_bot": False, "first_name": "Ivan", "username": "ivan_e2e"},
            "chat": {"id": 990001, "type": "private"},
        },
    }
    signed = sign("telegram", json.dumps(update).encode(), secrets)
    status, _ = post(stack["api"], signed.path, signed.headers, signed.body)
    assert status == 200
    auth = {"Authorization": f"Bearer {secrets['ops_api_token']}"}

    def stored() -> Any:
        """The identity is written a moment before the interaction: wait for both."""
        code, found = request(stack["api"], "/identities/telegram/990001", auth)
        if code != 200:
            return None
        code, view = request(stack["api"], f"/customers/{found['customer_id']}", auth)
        return view if code == 200 and view["latest_interactions"] else None

    view = wait_for(stored)
    (interaction,) = view["latest_interactions"]
    assert interaction["text"] == "Mój e-mail: [EMAIL]. Zamówienie wciąż nie dotarło 😡"
    assert interaction["pii_types"] == ["EMAIL"]
    assert interaction["sentiment"]["label"] in ("NEGATIVE", "POSITIVE", "NEUTRAL", "MIXED")
    assert view["identities"][0]["handle"] == "ivan_e2e"


def _case_of(api: str, auth: dict[str, str], platform: str, user_id: str) -> Any:
    """The open case of the customer behind the identity, once the worker has made it."""

    def found() -> Any:
        code, identity = request(api, f"/identities/{platform}/{user_id}", auth)
        if code != 200:
            return None
        code, page = request(api, "/cases?status=open&limit=100", auth)
        mine = [case for case in page.get("cases", []) if case["customer_id"] == identity["customer_id"]]
        return mine[0] if mine else None

    return wait_for(found)


def _json_post(url: str, path: str, auth: dict[str, str], body: dict[str, Any]) -> tuple[int, Any]:
    return post(url, path, {**auth, "Content-Type": "application/json"}, json.dumps(body).encode())


def test_a_whatsapp_customer_silent_two_days_gets_the_template_option_and_a_template_goes(
    stack: dict[str, Any],
) -> None:
    secrets = load_file(DEV_SECRETS_PATH)
    auth = {"Authorization": f"Bearer {secrets['ops_api_token']}"}
    user, written = "5511900099901", int(time.time()) - 2 * 86400
    message: dict[str, Any] = {"from": user, "id": "wamid.e2e.silent", "timestamp": str(written), "type": "text"}
    message["text"] = {"body": "Meu pedido nunca chegou, péssimo atendimento"}
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000101", "phone_number_id": "100000000000101"},
        "contacts": [{"profile": {"name": "Bia"}, "wa_id": user}],
        "messages": [message],
    }
    delivery = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
    }
    signed = sign("meta", json.dumps(delivery).encode(), secrets)
    assert post(stack["api"], signed.path, signed.headers, signed.body)[0] == 200
    case = _case_of(stack["api"], auth, "whatsapp", user)

    status, refused = _json_post(stack["api"], f"/cases/{case['case_id']}/replies", auth, {"text": "Olá de novo"})
    assert (status, refused["code"]) == (409, "window_closed")
    assert "template" in refused["options"]
    template = {"name": "order_update", "language": "pt_BR", "parameters": ["4821"]}
    status, reply = _json_post(stack["api"], f"/cases/{case['case_id']}/replies", auth, {"template": template})
    assert status == 202

    def delivered() -> Any:
        code, tracked = request(stack["api"], f"/replies/{reply['reply_id']}", auth)
        return tracked if code == 200 and tracked["state"] in ("delivered", "read") else None

    wait_for(delivered)  # the sandbox's signed sent / delivered / read statuses came back
    code, sent = request(stack["sandbox"], "/messages?platform=whatsapp", {})
    assert code == 200
    assert [m["recipient"] for m in sent] == [user]


def test_a_telegram_429_twice_then_success_sends_exactly_one_message(stack: dict[str, Any]) -> None:
    secrets = load_file(DEV_SECRETS_PATH)
    auth = {"Authorization": f"Bearer {secrets['ops_api_token']}"}
    chat = 990077
    update = {
        "update_id": 990077,
        "message": {
            "message_id": 7,
            "date": int(time.time()),
            "text": "Ninguém responde, quero cancelar",
            "from": {"id": chat, "is_bot": False, "first_name": "Caio"},
            "chat": {"id": chat, "type": "private"},
        },
    }
    signed = sign("telegram", json.dumps(update).encode(), secrets)
    assert post(stack["api"], signed.path, signed.headers, signed.body)[0] == 200
    case = _case_of(stack["api"], auth, "telegram", str(chat))
    fault = {"platform": "telegram", "status": 429, "count": 2, "retry_after": 1}
    assert post(stack["sandbox"], "/faults", {"Content-Type": "application/json"}, json.dumps(fault).encode())[0] in (
        200,
        201,
    )
    status, reply = _json_post(stack["api"], f"/cases/{case['case_id']}/replies", auth, {"text": "Estamos nisso."})
    assert status == 202

    def sent() -> Any:
        code, tracked = request(stack["api"], f"/replies/{reply['reply_id']}", auth)
        return tracked if code == 200 and tracked["state"] == "sent" else None

    wait_for(sent)
    code, calls = request(stack["sandbox"], "/messages?platform=telegram&all=true", {})
    assert code == 200
    to_chat = [m for m in calls if m["recipient"] == str(chat)]
    assert [m["status"] for m in to_chat] == [429, 429, 200]


def test_the_ops_api_over_http_needs_the_token(stack: dict[str, Any]) -> None:
    assert request(stack["api"], "/identities/telegram/990001", {})[0] == 401
    assert request(stack["api"], "/identities/telegram/990001", {"Authorization": "Bearer nope"})[0] == 401


def test_a_forged_webhook_over_http_is_401(stack: dict[str, Any]) -> None:
    status, _ = post(
        stack["api"],
        "/webhooks/meta",
        {"Content-Type": "application/json", "X-Hub-Signature-256": "sha256=" + "0" * 64},
        b'{"object":"page","entry":[]}',
    )
    assert status == 401


def test_handshakes_over_http(stack: dict[str, Any]) -> None:
    secrets = load_file(DEV_SECRETS_PATH)
    query = f"hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token={secrets['meta_verify_token']}"
    with urllib.request.urlopen(f"{stack['api']}/webhooks/meta?{query}", timeout=5) as response:  # noqa: S310
        assert (response.status, response.read()) == (200, b"1158201444")
    with urllib.request.urlopen(f"{stack['api']}/webhooks/x?crc_token=abc", timeout=5) as response:  # noqa: S310
        assert json.loads(response.read())["response_token"].startswith("sha256=")


def test_health_is_200(stack: dict[str, Any]) -> None:
    with urllib.request.urlopen(stack["api"] + "/health", timeout=5) as response:  # noqa: S310
        assert (response.status, json.loads(response.read())) == (200, {"status": "ok"})


def _children(pid: int) -> set[int]:
    """Live processes whose parent is `pid` (Linux /proc; the stack's children run in their own sessions)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_dead_sandbox_is_started_again(stack: dict[str, Any]) -> None:
    process = stack["process"]
    (sandbox,) = [pid for pid in _children(process.pid) if "tools.sandbox" in _command(pid)]
    os.killpg(sandbox, signal.SIGKILL)
    wait_for(lambda: [pid for pid in _children(process.pid) if "tools.sandbox" in _command(pid) and pid != sandbox])
    assert wait_for(lambda: _answers(stack["sandbox"] + "/messages"))
    assert process.poll() is None


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - the stack's sandbox
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


def test_a_dead_worker_is_started_again_and_the_stack_keeps_working(stack: dict[str, Any]) -> None:
    process = stack["process"]
    (worker,) = [pid for pid in _children(process.pid) if "tools.local.worker" in _command(pid)]
    os.killpg(worker, signal.SIGKILL)
    restarted = wait_for(
        lambda: [pid for pid in _children(process.pid) if "tools.local.worker" in _command(pid) and pid != worker]
    )
    assert len(restarted) == 1
    assert process.poll() is None  # the stack did not stop
    secrets = load_file(DEV_SECRETS_PATH)
    update = {
        "update_id": 990002,
        "message": {
            "message_id": 2,
            "date": int(time.time()),
            "text": "Still there after the restart?",
            "from": {"id": 990002, "is_bot": False, "first_name": "Ola"},
            "chat": {"id": 990002, "type": "private"},
        },
    }
    signed = sign("telegram", json.dumps(update).encode(), secrets)
    assert post(stack["api"], signed.path, signed.headers, signed.body)[0] == 200
    auth = {"Authorization": f"Bearer {secrets['ops_api_token']}"}
    wait_for(lambda: request(stack["api"], "/identities/telegram/990002", auth)[0] == 200, timeout=120)


def test_no_secret_and_no_customer_text_reach_any_log(stack: dict[str, Any]) -> None:
    """The stack's whole output and moto's log, after the demo and every test above, and after the
    requests most likely to leak: a Trustpilot delivery (its token in the query string) and a CRC
    check asked to sign a forged delivery (message text in the query string)."""
    secrets = load_file(DEV_SECRETS_PATH)
    forged = json.dumps({"for_user_id": "1", "direct_message_events": [{"text": "Forged words never to be logged"}]})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(f"{stack['api']}/webhooks/x?{urlencode({'crc_token': forged})}", timeout=5)  # noqa: S310
    review = {
        "events": [
            {
                "eventName": "service-review-created",
                "eventData": {
                    "id": "e2e-review-1",
                    "text": "Entrega rapidíssima, recomendo a todos",
                    "stars": 5,
                    "createdAt": "2026-12-01T10:00:00Z",
                    "consumer": {"id": "c-e2e", "name": "Rosa"},
                },
            }
        ]
    }
    signed = sign("trustpilot", json.dumps(review).encode(), secrets)
    assert post(stack["api"], signed.path, signed.headers, signed.body)[0] == 200
    time.sleep(3)  # let the worker process it, and log what it logs

    output = "".join(stack["log"]) + (ROOT / "build" / "local" / "moto.log").read_text(errors="replace")
    values = [v for v in _strings(secrets) if len(v) >= 8]
    assert len(values) >= 10
    assert [v for v in values if v in output] == []
    texts = [
        message["text"]
        for path in sample_files()
        for message in json.loads(path.with_name(path.stem + ".expected.json").read_text())["queued"]
        if len(message["text"]) >= 16
    ]
    texts += [
        "Forged words never to be logged",
        "Entrega rapidíssima, recomendo a todos",
        "Zamówienie wciąż nie dotarło",
    ]
    assert len(texts) > 20
    assert [text for text in texts if text in output or json.dumps(text)[1:-1] in output] == []


def _strings(value: Any) -> list[str]:
    """Every secret value in the document: strings, maps of them, the console users' passwords."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [found for key, item in value.items() if key != "role" for found in _strings(item)]
    return []


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def test_sigterm_stops_every_child_and_a_second_one_is_harmless(stack: dict[str, Any]) -> None:
    process = stack["process"]
    children = _children(process.pid)
    assert len(children) == 4, "moto server, the platform sandbox, worker and chalice local"
    process.send_signal(signal.SIGTERM)
    time.sleep(0.1)
    process.send_signal(signal.SIGTERM)  # impatient: a second one while it stops
    assert process.wait(timeout=30) == 0
    assert "Traceback" not in "".join(stack["log"])
    time.sleep(0.5)
    assert not any(port_open(port) for port in stack["ports"])
    assert not [pid for pid in children if _alive(pid)]


def test_a_port_in_use_is_refused_before_anything_starts() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "SOCIALCRM_AWS_PORT": str(port), "SOCIALCRM_API_PORT": str(launch.free_port())}
        result = subprocess.run(
            [sys.executable, "-m", "tools.local"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr + result.stdout
    assert "moto server is up" not in result.stderr + result.stdout


def test_with_a_state_folder_the_data_outlives_a_restart(tmp_path: Path) -> None:
    """moto keeps everything in memory; SOCIALCRM_LOCAL_STATE_DIR keeps the tables across restarts."""
    secrets = load_file(DEV_SECRETS_PATH)
    env = {"SOCIALCRM_LOCAL_STATE_DIR": str(tmp_path / "state")}
    update = {
        "update_id": 990003,
        "message": {
            "message_id": 3,
            "date": int(time.time()),
            "text": "Keep me",
            "from": {"id": 990003, "is_bot": False, "first_name": "Ada"},
            "chat": {"id": 990003, "type": "private"},
        },
    }
    auth = {"Authorization": f"Bearer {secrets['ops_api_token']}"}
    first = launch.start(demo=False, env=env)
    try:
        signed = sign("telegram", json.dumps(update).encode(), secrets)
        assert post(first.api, signed.path, signed.headers, signed.body)[0] == 200
        customer = wait_for(lambda: request(first.api, "/identities/telegram/990003", auth)[1].get("customer_id"))
        # the identity is written a moment before the interaction: wait for both
        wait_for(lambda: request(first.api, f"/customers/{customer}", auth)[1].get("latest_interactions"))
    finally:
        first.stop(timeout=30)
    assert (tmp_path / "state" / "table.jsonl").exists()
    second = launch.start(demo=False, env=env)
    try:
        assert request(second.api, "/identities/telegram/990003", auth) == (200, {"customer_id": customer})
        code, view = request(second.api, f"/customers/{customer}", auth)
        assert code == 200
        assert [i["text"] for i in view["latest_interactions"]] == ["Keep me"]
    finally:
        second.stop(timeout=30)
