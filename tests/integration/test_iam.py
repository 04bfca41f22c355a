"""Every AWS call each deployed function makes is one its role allows.

moto checks no IAM, so a call a role does not allow passes every other test and fails in AWS,
every run. Here the whole system runs on moto and the platform sandbox, as in a day's work: the
webhooks arrive (one delivery the parser cannot read), the queues' consumers and every schedule
run as their event sources would, a burst raises a crisis, agents and admins use the ops API (a
reply that the sender delivers, an unread delivery replayed, an erasure), and the receipts come
back. Every botocore call is recorded with the function that would make it in AWS, and held
against that function's role in the merged template (tests/iam.py): action, resource, and the
partition keys and attributes its DynamoDB conditions test."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from chalicelib import dependencies
from tests.helpers import call, meta_message, role_token
from tests.iam import Call, Policies, Recorder, needs, recording
from tools import deploy
from tools import sandbox as sandbox_settings
from tools.local import LOCAL_SETTINGS, worker
from tools.sandbox.server import start
from tools.webhook_client import sign

PAGE = "104000000000001"  # a page the dev secrets hold a token for
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"
LEAD = "We'd like to buy 40 licences for our team, could you send a quote?"
CANCEL = "I'm cancelling my subscription today, this is the last straw"
PRAISE = "Thanks, all arrived fine"
NEGATIVE = ("Terrible service, my order never arrived", "Worst support ever, nobody answers me")


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The template AWS gets (`chalice package` merged with infra/), for the prod stage."""
    packaged: Path = deploy.package("prod", tmp_path_factory.mktemp("package"), "us-east-1")
    document: dict[str, Any] = json.loads(packaged.read_text())
    return document


@pytest.fixture
def platforms(pipeline: dict[str, str], secrets: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The platform sandbox, with the senders pointed at it (as `make run` does)."""
    server = start(secrets)
    for key, value in sandbox_settings.environment(server.server_address[1]).items():
        monkeypatch.setenv(key, value)
    dependencies.reset()
    yield
    server.close()


class Day:
    """The system's functions, each run as AWS runs it and recorded as its role."""

    def __init__(self, recorder: Recorder, policies: Policies, sqs: Any, secrets: dict[str, Any]) -> None:
        from chalice.test import Client

        from chalicelib.ingress import app as ingress

        self.recorder, self.policies, self.sqs, self.secrets = recorder, policies, sqs, secrets
        self.module, app = worker.load_app()
        # Each consumer takes what is there, without waiting out its batching window.
        self.consumers, self.schedules = worker.discover(self.module, app, sqs, max_window=0)
        self.started: set[str] = set()
        self.ingress = Client(ingress, stage_name="dev")
        self.token = role_token("admin")  # signing in is the browser's call, not the API's

    def _as(self, role: str) -> Any:
        """Calls made inside are `role`'s. Its first run starts cold, as a new Lambda environment
        does: nothing another function fetched (secrets, parameters, clients) is cached."""
        if role not in self.started:
            self.started.add(role)
            dependencies.reset()
        return self.recorder.acting_as(role)

    def webhooks(self, *deliveries: tuple[str, bytes]) -> None:
        with self._as("WebhookIngressRole"):
            for channel, body in deliveries:
                request = sign(channel, body, self.secrets)
                answer = self.ingress.http.post(request.path, headers=request.headers, body=request.body)
                assert answer.status_code == 200, answer.body

    def queues(self) -> None:
        """Every queue's consumer, until no queue has anything (an event one puts on the bus or
        a queue can wake another)."""
        while True:
            handled = 0
            for consumer in self.consumers:
                with self._as(self.policies.role_of(f"app.{consumer.name}")):
                    handled += worker.poll_once(consumer, self.sqs, "us-east-1", wait_seconds=0)
            if not handled:
                return

    def schedule(self, name: str) -> Any:
        (found,) = [s for s in self.schedules if s.name == name]
        with self._as(self.policies.role_of(f"app.{name}")):
            return found.handler(worker.scheduled_event(), worker.LambdaContext(name))

    def authorize(self) -> Any:
        """The ops authorizer as API Gateway invokes it, in its own function (inside chalice's test
        client it runs in the API's)."""
        from chalicelib.api.auth import ops_authorizer

        event = {
            "type": "TOKEN",
            "authorizationToken": f"Bearer {self.token}",
            "methodArn": "arn:aws:execute-api:us-east-1:123456789012:abc123/api/GET/cases",
        }
        with self._as(self.policies.role_of("chalicelib.api.auth.ops_authorizer")):
            return ops_authorizer(event, worker.LambdaContext("ops_authorizer"))

    def api(self, client: Any, *requests: tuple[str, str, Any]) -> list[Any]:
        answers = []
        with self._as("ApiHandlerRole"):
            for method, path, body in requests:
                status, answer = call(client, method, path, body, token=self.token)
                assert status < 300, (method, path, status, answer)
                answers.append(answer)
        return answers


def pin_alert_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The alert schedules' `datetime.now` is `moment` (a burst then sits inside one bucket)."""
    from chalicelib.handlers import alerts as handlers

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Pinned:
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(handlers, "datetime", Pinned)


def test_every_aws_call_each_function_makes_is_one_its_role_allows(
    merged: dict[str, Any],
    client: Any,
    sqs: Any,
    pipeline: dict[str, str],
    platforms: None,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from chalicelib.rules.crisis import bucket_start

    policies = Policies(merged, "dev")
    assert policies.parameters["SecretsName"] == pipeline["SOCIALCRM_SECRETS_ID"]
    # As deployed: no shared ops token (a local convenience that reads the app's secret on every call).
    for key in LOCAL_SETTINGS:
        monkeypatch.delenv(key)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = bucket_start(now - timedelta(hours=1), 15) + timedelta(minutes=12)
    burst = clock - timedelta(minutes=6)  # inside the bucket the crisis watch judges
    pin_alert_clock(monkeypatch, clock)
    unreadable = {"sender": {"id": "7"}, "recipient": {"id": PAGE}, "timestamp": 1763812800000, "message_v2": {}}
    with recording() as recorder:
        day = Day(recorder, policies, sqs, secrets)
        day.webhooks(
            ("meta", meta_message(PAGE, "25000000000000901", "m.a", COMPLAINT, now - timedelta(minutes=30))),
            ("meta", meta_message(PAGE, "25000000000000902", "m.l", LEAD, now - timedelta(minutes=20))),
            ("meta", meta_message(PAGE, "25000000000000903", "m.c", CANCEL, now - timedelta(minutes=10))),
            ("meta", meta_message(PAGE, "25000000000000904", "m.h", PRAISE, now - timedelta(days=3))),  # late
            *(
                ("meta", meta_message(PAGE, f"25000000000001{n:03d}", f"m.n{n}", NEGATIVE[n % 2], burst))
                for n in range(12)
            ),
            ("meta", json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [unreadable]}]}).encode()),
        )
        day.queues()

        assert day.authorize()["context"]["role"] == "admin"
        (cases, unread) = day.api(client, ("get", "/cases?status=open", None), ("get", "/unread", None))
        (case,) = [c for c in cases["cases"] if c["interactions"] == ["messenger:m.a"]]
        (reply, *_) = day.api(
            client,
            ("post", f"/cases/{case['case_id']}/replies", {"text": "Sorry, it ships today.", "client_reply_id": "r"}),
            ("get", f"/customers/{case['customer_id']}", None),
            ("get", f"/customers/{case['customer_id']}/export", None),
            ("get", "/customers?q=Ana", None),
            ("get", "/alerts", None),
            ("post", "/unread/replay", {"keys": [unread["deliveries"][0]["key"]]}),
        )
        day.queues()  # the sender sends; its outbound message is stored; the lake archives

        for schedule in sorted(s.name for s in day.schedules):
            day.schedule(schedule)
        day.queues()  # the crisis and the digest's alerts are notified
        alerts = day.api(client, ("get", "/alerts", None))[0]["alerts"]
        day.api(
            client,
            ("post", f"/alerts/{alerts[0]['alert_id']}/ack", {}),
            ("get", "/insights/topics", None),
            ("get", "/insights/overview", None),
            ("get", f"/replies/{reply['reply_id']}", None),
        )
        reply_state = day.api(client, ("get", f"/replies/{reply['reply_id']}", None))[0]["state"]
        day.api(client, ("delete", f"/customers/{case['customer_id']}", None))
        day.queues()

    functions = {
        policies.role_of(resource["Properties"]["Handler"])
        for resource in merged["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert recorder.roles() == functions  # every function made calls

    assert "Crisis Alert" in {alert["type"] for alert in alerts}  # the crisis watch's own calls ran
    assert reply_state == "sent"
    assert policies.refused(recorder.calls) == []


def test_the_check_refuses_what_a_role_does_not_allow(merged: dict[str, Any]) -> None:
    """The check itself: an action, a resource, a partition key or an attribute outside a
    statement is refused; the same call inside it is allowed."""
    policies = Policies(merged, "dev")
    table = "socialcrm-dev"

    def refused(role: str, service: str, operation: str, **params: Any) -> list[str]:
        return policies.refused([Call(role, service, operation, params)])

    def sender(operation: str, key: str, *names: str) -> list[str]:
        where = {"Item": {"pk": {"S": key}}} if operation == "PutItem" else {"Key": {"pk": {"S": key}}}
        named = {f"#{n}": name for n, name in enumerate(names)}
        return refused(
            "SendRepliesRole", "dynamodb", operation, TableName=table, ExpressionAttributeNames=named, **where
        )

    assert sender("UpdateItem", "CUSTOMER#c1", "state", "record") == []
    assert sender("UpdateItem", "CUSTOMER#c1", "state", "text") != []  # an attribute the condition leaves out
    assert sender("PutItem", "CHANNEL#telegram") == []
    assert sender("PutItem", "CUSTOMER#c1") != []  # a partition the condition leaves out
    assert sender("DeleteItem", "CHANNEL#telegram") == []
    assert refused("SendRepliesRole", "dynamodb", "Query", TableName=table, IndexName="inbox", **_query("X")) != []
    queue = "https://sqs.us-east-1.amazonaws.com/123456789012/socialcrm-dev-outbound"
    assert refused("ApiHandlerRole", "sqs", "SendMessage", QueueUrl=queue) == []
    assert refused("ApiHandlerRole", "sqs", "SendMessage", QueueUrl=queue.replace("outbound", "alerts")) != []
    assert refused("ApiHandlerRole", "sqs", "DeleteMessage", QueueUrl=queue) != []
    assert refused("ProcessInteractionsRole", "secretsmanager", "GetSecretValue", SecretId="socialcrm/dev/app") == []
    assert refused("WebhookIngressRole", "secretsmanager", "GetSecretValue", SecretId="socialcrm/dev/app") != []
    with pytest.raises(AssertionError, match="no rule"):
        needs("kms", "Decrypt", {})


def _query(key: str) -> dict[str, Any]:
    return {"KeyConditionExpression": "#0 = :0", "ExpressionAttributeValues": {":0": {"S": key}}}
