"""Every AWS call each deployed function makes is one its role allows.

moto checks no IAM, so a call a role does not allow passes every other test and fails in AWS,
every run. Here the whole system runs on moto and the platform sandbox, as in a day's work: the
webhooks arrive (one delivery the parser cannot read), the queues' consumers and every schedule
run as their event sources would, a burst raises a crisis, agents and admins use the ops API (a
reply that the sender delivers, an unread delivery replayed, an erasure), and the receipts come
back; then every platform's captured deliveries, an admin through the whole console as deployed,
and every route of the ops API (a route no day reaches fails the test). Every botocore call is
recorded with the function that would make it in AWS, and held against that function's role in
the merged template (tests/iam.py): action, resource, and the partition keys and attributes its
DynamoDB conditions test."""

from __future__ import annotations

import contextlib
import json
import re
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chalicelib import dependencies
from chalicelib.adapters.aws import WORKER_PROFILE
from chalicelib.adapters.aws import client as client_for
from tests.console_client import Browser, managed_login
from tests.helpers import call, meta_message, role_token
from tests.iam import Call, Policies, Recorder, needs, recording
from tools.deploy import INGRESS_PATHS
from tools.fake_comprehend import FakeComprehend
from tools.local import LOCAL_SETTINGS, worker
from tools.sandbox.server import SandboxServer
from tools.webhook_client import sample_files, sign, sign_sample

PAGE = "104000000000001"  # a page the dev secrets hold a token for
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"
LEAD = "We'd like to buy 40 licences for our team, could you send a quote?"
CANCEL = "I'm cancelling my subscription today, this is the last straw"
PRAISE = "Thanks, all arrived fine"
QUESTION = "Does the shop open on Sunday?"
# What Lambda's SQS event source mapping calls with the function's own role.
ESM_OPERATIONS = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "ChangeMessageVisibility")
NEGATIVE = ("Terrible service, my order never arrived", "Worst support ever, nobody answers me")


class Day:
    """The system's functions, each run as AWS runs it and recorded as its role."""

    def __init__(self, recorder: Recorder, policies: Policies, sqs: Any, secrets: dict[str, Any]) -> None:
        from chalice.test import Client

        from chalicelib.ingress import app as ingress

        self.recorder, self.policies, self.sqs, self.secrets = recorder, policies, sqs, secrets
        self.module, app = worker.load_app()
        # Each consumer takes what is there, without waiting out its batching window.
        self.consumers, self.schedules = worker.discover(self.module, app, sqs, max_window=0)
        self.acting: str | None = None
        self.polled: set[str] = set()
        self.ingress = Client(ingress, stage_name="dev")
        self.token = role_token("admin")  # signing in is the browser's call, not the API's

    def _as(self, role: str) -> Any:
        """Calls made inside are `role`'s. Each function starts cold when another ran since, as in
        its own Lambda environment: nothing another function fetched (secrets, parameters,
        clients) is cached for it."""
        if role != self.acting:
            self.acting = role
            dependencies.reset()
        return self.recorder.acting_as(role)

    def cold_with_comprehend(self, role: str) -> FakeComprehend:
        """`role`'s function started cold, with its Comprehend and Translate clients answered by
        the fake (installed on the clients it will use: the next calls as `role` keep them)."""
        self.acting = None
        with self._as(role):
            fake = FakeComprehend()
            return fake.install(client_for("comprehend", WORKER_PROFILE), client_for("translate", WORKER_PROFILE))

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
                role = self.policies.role_of(f"app.{consumer.name}")
                if consumer.name not in self.polled:
                    # What Lambda's event source mapping does with the function's role.
                    self.polled.add(consumer.name)
                    for operation in ESM_OPERATIONS:
                        self.recorder.calls.append(Call(role, "sqs", operation, {"QueueUrl": consumer.queue_url}))
                with self._as(role):
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
        for method, path, body in requests:
            status, answer = self.request(client, method, path, body)
            assert status < 300, (method, path, status, answer)
            answers.append(answer)
        return answers

    def request(self, client: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One ops API call, whatever it answers."""
        with self._as("ApiHandlerRole"):
            return call(client, method, path, body, token=self.token)


class Routes:
    """Which of an app's routes the requests through its test client reached, so a route added
    later is in the day or fails it."""

    def __init__(self, client: Any, app: Any) -> None:
        from chalice.local import RouteMatcher

        self.every = {f"{method} {path}" for path, methods in app.routes.items() for method in methods}
        self.reached: set[str] = set()
        matcher, request = RouteMatcher(list(app.routes)), client.http.request

        def reaching(method: str, path: str, **kwargs: Any) -> Any:
            with contextlib.suppress(ValueError):  # no such route: the gateway answers 404, nothing reached
                self.reached.add(f"{method.upper()} {matcher.match_route(path).route}")
            return request(method, path, **kwargs)

        client.http.request = reaching

    def missed(self) -> set[str]:
        return self.every - self.reached


def test_every_aws_call_each_function_makes_is_one_its_role_allows(
    merged: dict[str, Any],
    client: Any,
    sqs: Any,
    pipeline: dict[str, str],
    platforms: SandboxServer,
    secrets: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    local_stack_moto: None,
) -> None:
    from chalicelib.channels.meta.messaging import MessagingReader
    from chalicelib.rules.crisis import bucket_start
    from tests.integration.test_alerts_flow import pin_clock
    from tests.integration.test_replies import fault

    policies = Policies(merged, "dev")
    assert policies.parameters["SecretsName"] == pipeline["SOCIALCRM_SECRETS_ID"]
    # As deployed: no shared ops token (a local convenience that reads the app's secret on every call).
    for key in LOCAL_SETTINGS:
        monkeypatch.delenv(key)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = bucket_start(now - timedelta(hours=1), 15) + timedelta(minutes=12)
    burst = clock - timedelta(minutes=6)  # inside the bucket the crisis watch judges
    pin_clock(monkeypatch, clock)
    changed = {"sender": {"id": "7"}, "recipient": {"id": PAGE}, "timestamp": 1763812800000}
    unreadable = {**changed, "message_v2": {"mid": "m.u", "text": "O pedido não chegou"}}

    def message(psid: int, mid: str, text: str, at: datetime) -> tuple[str, bytes]:
        return ("meta", meta_message(PAGE, str(25000000000000000 + psid), mid, text, at))

    with recording() as recorder:
        day = Day(recorder, policies, sqs, secrets)
        day.webhooks(
            message(901, "m.a", COMPLAINT, now - timedelta(minutes=30)),
            message(902, "m.l", LEAD, now - timedelta(minutes=20)),
            message(903, "m.c", CANCEL, now - timedelta(minutes=10)),
            message(904, "m.h", PRAISE, now - timedelta(days=3)),  # late
            message(905, "m.o", COMPLAINT, now - timedelta(hours=3)),  # its case overdue: medium
            message(906, "m.q", QUESTION, now - timedelta(hours=10)),  # overdue: low, for the digest
            *(message(1000 + n, f"m.n{n}", NEGATIVE[n % 2], burst) for n in range(12)),
            ("meta", json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": [unreadable]}]}).encode()),
        )
        sqs.send_message(QueueUrl=pipeline["SOCIALCRM_INGEST_QUEUE_URL"], MessageBody="not an interaction")
        day.queues()
        dead = sqs.get_queue_attributes(QueueUrl=pipeline["SOCIALCRM_INGEST_DLQ_URL"], AttributeNames=["All"])
        assert dead["Attributes"]["ApproximateNumberOfMessages"] == "1"  # the invalid record, at once

        assert day.authorize()["context"]["role"] == "admin"
        (cases, unread) = day.api(client, ("get", "/cases?status=open", None), ("get", "/unread", None))
        (case,) = [c for c in cases["cases"] if c["interactions"] == ["messenger:m.a"]]
        replies = f"/cases/{case['case_id']}/replies"
        (sent, *_) = day.api(
            client,
            ("post", replies, {"text": "Sorry, it ships today.", "client_reply_id": "r1"}),
            ("get", f"/customers/{case['customer_id']}", None),
            ("get", f"/customers/{case['customer_id']}/export", None),
            ("get", "/customers?q=Ana", None),
            ("get", "/alerts", None),
        )
        day.queues()  # the sender sends; its outbound message is stored; the lake archives
        fault(platforms, "messenger", 429, 1)
        (throttled,) = day.api(client, ("post", replies, {"text": "And a voucher.", "client_reply_id": "r2"}))
        day.queues()  # Meta's 429: put back on the queue, with a delay
        time.sleep(2.1)  # moto honours the delay
        day.queues()
        fault(platforms, "messenger", 401, 1)
        (revoked,) = day.api(client, ("post", replies, {"text": "Still there?", "client_reply_id": "r3"}))
        day.queues()  # the token refused: the channel needs reauthorisation, and ops hear of it

        # The parser learns the changed shape; the kept delivery is replayed and read in full.
        def fixed(self: Any, event: dict[str, Any], path: str, *args: Any) -> None:
            renamed = {("message" if key == "message_v2" else key): value for key, value in event.items()}
            original(self, renamed, path, *args)

        original = MessagingReader._messaging
        monkeypatch.setattr(MessagingReader, "_messaging", fixed)
        (replayed,) = day.api(client, ("post", "/unread/replay", {"keys": [unread["deliveries"][0]["key"]]}))
        day.queues()

        done = {schedule.name: day.schedule(schedule.name) for schedule in sorted(day.schedules, key=lambda s: s.name)}
        day.queues()  # the crisis and the SLA breaches are notified; the low one waits for the digest
        done["send_alert_digest"] = day.schedule("send_alert_digest")
        alerts = day.api(client, ("get", "/alerts", None))[0]["alerts"]
        states = [
            day.api(client, ("get", f"/replies/{reply['reply_id']}", None))[0]["state"]
            for reply in (sent, throttled, revoked)
        ]
        day.api(
            client,
            ("post", f"/alerts/{alerts[0]['alert_id']}/ack", {}),
            ("get", "/insights/topics", None),
            ("get", "/insights/overview", None),
            ("delete", f"/customers/{case['customer_id']}", None),
        )
        day.queues()

        # A stage that analyses with Comprehend and Translate (answered at botocore's level:
        # moto's Comprehend is canned and it has no Translate).
        monkeypatch.setenv("SOCIALCRM_NLP", "comprehend")
        day.webhooks(
            message(907, "m.x", COMPLAINT, now - timedelta(minutes=1)),
            message(908, "m.y", "O pedido não chegou, péssimo atendimento", now - timedelta(minutes=1)),
        )
        fake = day.cold_with_comprehend("ProcessInteractionsRole")
        (ingest,) = [c for c in day.consumers if c.name == "process_interactions"]
        with day._as("ProcessInteractionsRole"):  # warm: the fake stays
            assert worker.poll_once(ingest, sqs, "us-east-1", wait_seconds=0) == 2
        assert fake.calls["BatchDetectSentiment"] >= 1
        left = sqs.get_queue_attributes(QueueUrl=ingest.queue_url, AttributeNames=["All"])["Attributes"]
        assert (left["ApproximateNumberOfMessages"], left["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
        for schedule in ("roll_up_figures", "watch_crises"):
            day.cold_with_comprehend(policies.role_of(f"app.{schedule}"))
            day.schedule(schedule)

    # The day did what each grant is for.
    assert (replayed["replayed"][0]["status"], states) == ("read", ["sent", "sent", "failed"])
    assert {"Crisis Alert", "SLA Breached"} <= {alert["type"] for alert in alerts}
    assert done["send_alert_digest"] == {"alerts": 1}
    made = {
        (call.role, need.action) for call in recorder.calls for need in needs(call.service, call.operation, call.params)
    }
    for expected in (
        ("ProcessInteractionsRole", "sqs:SendMessage"),  # the invalid record to the dead-letter queue
        ("ProcessInteractionsRole", "comprehend:BatchDetectSentiment"),
        ("RollUpFiguresRole", "translate:TranslateText"),  # one topic across languages
        ("ProcessInteractionsRole", "events:PutEvents"),
        ("NotifyAlertsRole", "sns:Publish"),
        ("ArchiveToLakeRole", "firehose:PutRecordBatch"),
        ("SendRepliesRole", "sqs:SendMessage"),  # put back after the 429, and its outbound message
        ("SendRepliesRole", "events:PutEvents"),  # the channel needs reauthorisation
        ("SendRepliesRole", "dynamodb:PutItem"),  # the channel's state
        ("ApiHandlerRole", "sqs:SendMessage"),
        ("ApiHandlerRole", "s3:DeleteObject"),  # the replayed delivery, read in full
        ("ApiHandlerRole", "secretsmanager:GetSecretValue"),  # the hash keys, for search
        ("WatchSlasRole", "events:PutEvents"),
        ("WatchCrisesRole", "events:PutEvents"),
        ("SendAlertDigestRole", "sns:Publish"),
        ("SendWeeklySummaryRole", "sns:Publish"),
        ("RollUpFiguresRole", "firehose:PutRecordBatch"),
        ("AssignSegmentsRole", "dynamodb:Query"),
        ("OpsAuthorizerRole", "cognito-idp:AdminListGroupsForUser"),
        ("WebhookIngressRole", "s3:PutObject"),
    ):
        assert expected in made, (expected, sorted(action for role, action in made if role == expected[0]))
    functions = {
        policies.role_of(resource["Properties"]["Handler"])
        for resource in merged["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }
    assert recorder.roles() == functions
    assert policies.refused(recorder.calls) == []


def test_every_route_and_every_platforms_delivery_calls_only_what_the_roles_allow(
    merged: dict[str, Any],
    client: Any,
    sqs: Any,
    pipeline: dict[str, str],
    platforms: SandboxServer,
    secrets: dict[str, Any],
    aws: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    local_stack_moto: None,
) -> None:
    """The rest of the day: every captured delivery of every platform and both handshakes; a
    Telegram customer and a Messenger one who give the same e-mail (a suggestion to link them);
    an admin through every console page and action as deployed (managed login, the role asked of
    Cognito again, sign-out); every ops API route; the replies sent on Telegram and Messenger.
    Every route of both apps is reached. (The ops authorizer runs inside chalice's gateway here, so
    its Cognito calls count as the API's; the first test runs it as its own function.)"""
    from app import app
    from chalicelib.ingress import app as ingress
    from chalicelib.services import console_sessions
    from tests.integration.test_replies import sent_to, telegram

    policies = Policies(merged, "dev")
    for key in LOCAL_SETTINGS:
        monkeypatch.delenv(key)
    now = datetime.now(UTC).replace(microsecond=0)
    api = Routes(client, app)
    with managed_login(aws, monkeypatch), recording() as recorder:
        day = Day(recorder, policies, sqs, secrets)
        hooks = Routes(day.ingress, ingress)
        with day._as("WebhookIngressRole"):
            for sample in sample_files():
                request = sign_sample(sample, secrets)
                answer = day.ingress.http.post(request.path, headers=request.headers, body=request.body)
                assert answer.status_code == 200, (sample.name, answer.body)
            verify = {"hub.mode": "subscribe", "hub.verify_token": secrets["meta_verify_token"], "hub.challenge": "7"}
            assert day.ingress.http.get(f"/webhooks/meta?{urllib.parse.urlencode(verify)}").status_code == 200
            assert day.ingress.http.get("/webhooks/x?crc_token=challenge").status_code == 200
        day.webhooks(
            ("telegram", telegram(1, "O pedido não chegou, péssimo atendimento. joao.dia@example.com", now)),
            ("meta", meta_message(PAGE, "25000000000000911", "m.e", f"{COMPLAINT}. JOAO.DIA@example.com", now)),
            ("meta", meta_message(PAGE, "25000000000000912", "m.c", CANCEL, now)),
            ("meta", meta_message(PAGE, "25000000000000913", "m.l", LEAD, now)),
        )
        day.queues()
        (cases, alerts, joao_tg, joao_ms) = day.api(
            client,
            ("get", "/cases?status=open", None),
            ("get", "/alerts", None),
            ("get", "/identities/telegram/6100000901", None),
            ("get", "/identities/messenger/25000000000000911", None),
        )
        tg, ms = joao_tg["customer_id"], joao_ms["customer_id"]
        (tg_case, ms_case) = (next(c for c in cases["cases"] if c["customer_id"] == who) for who in (tg, ms))
        (first_alert, second_alert, *_) = [alert["alert_id"] for alert in alerts["alerts"]]

        with day._as("ApiHandlerRole"):
            admin = Browser(client)
            admin.sign_in_managed("admin")
            for path in (
                "/console",
                "/console/alerts",
                "/console/customers",
                "/console/insight",
                "/console/supervisor",
                f"/console/cases/{tg_case['case_id']}",
                f"/console/customers/{tg}",
                "/console/static/console.css",
            ):
                assert admin.get(path).status == 200, path
            privacy = admin.get(f"/console/customers/{tg}/privacy")
            name = re.search(r'data-confirm="([^"]+)"', privacy.body)
            assert privacy.status == 200
            assert name
            for path, fields in (
                (f"/console/cases/{tg_case['case_id']}/viewing", {}),
                (f"/console/cases/{tg_case['case_id']}/notes", {"note": "Called back"}),
                (f"/console/cases/{tg_case['case_id']}/assign", {"assignee": "me"}),
                (
                    f"/console/cases/{tg_case['case_id']}/reply",
                    {"text": "Sorry, it ships today.", "client_reply_id": "t1"},
                ),
                ("/console/customers", {"q": "joao.dia@example.com"}),
                (f"/console/customers/{tg}/suggestions/{ms}/dismiss", {}),
                (f"/console/customers/{tg}/links", {"customer_id": ms}),
                (f"/console/customers/{tg}/links/{ms}/unlink", {}),
                (f"/console/customers/{tg}/export", {"confirm": name.group(1)}),
                (f"/console/alerts/{first_alert}/ack", {}),
                (f"/console/cases/{tg_case['case_id']}/status", {"status": "resolved"}),
            ):
                assert admin.post(path, fields).status in (200, 303), path

        case = f"/cases/{ms_case['case_id']}"
        (*_, options, sent) = day.api(
            client,
            ("get", "/customers?q=joao", None),
            ("get", f"/customers/{ms}", None),
            ("get", case, None),
            ("post", f"{case}/viewing", {}),
            ("post", f"{case}/assign", {"assignee": "me"}),
            ("get", f"{case}/replies", None),
            ("get", f"/customers/{ms}/links", None),
            ("post", f"/customers/{ms}/links", {"customer_id": tg}),
            ("delete", f"/customers/{ms}/links/{tg}", None),
            ("get", f"/customers/{ms}/history", None),
            ("get", f"/customers/{ms}/interactions", None),
            ("put", f"/customers/{ms}/segments", {"segments": ["vip"]}),
            ("post", f"/alerts/{second_alert}/ack", {}),
            ("get", "/audit", None),
            ("get", "/unread", None),
            *(("get", f"/insights/{part}", None) for part in ("overview", "reputation", "roi", "topics", "segments")),
            ("get", f"{case}/reply-options", None),
            ("post", f"{case}/replies", {"text": "Sorry, it ships today.", "client_reply_id": "m1"}),
        )
        # Dismissed on the Telegram side in the console: the Messenger side's is gone too.
        assert day.request(client, "delete", f"/customers/{ms}/suggestions/{tg}")[0] == 404
        (nothing,) = day.api(client, ("post", "/unread/replay", {"keys": ["nothing-kept-here"]}))
        assert nothing["replayed"] == [{"key": "nothing-kept-here", "status": "not_found"}]  # the bucket was read
        day.queues()  # the replies go out on Telegram and Messenger
        day.api(
            client,
            ("get", f"/replies/{sent['reply_id']}", None),
            ("post", f"{case}/status", {"status": "resolved"}),
            ("get", f"/customers/{ms}/export", None),
            ("delete", f"/customers/{ms}", None),
        )
        with day._as("ApiHandlerRole"):
            assert admin.post(f"/console/customers/{tg}/erase", {"confirm": name.group(1)}, htmx=False).status == 200
            monkeypatch.setattr(console_sessions, "RECHECK", timedelta(0))  # the role is asked again
            assert admin.get("/console/alerts").status == 200
            assert admin.post("/console/sign-in", {}, csrf=False).status == 404  # the local form: not deployed
            assert admin.post("/console/sign-out", {}, htmx=False).status == 303
            assert admin.get("/console/signed-out").status == 200
        day.queues()
        with day._as("WebhookIngressRole"):
            assert day.ingress.http.get("/health").status_code == 200

    assert (options["platform"], options["answerable"]) == ("messenger", True)
    assert [m["text"] for m in sent_to(platforms, "telegram")] == ["Sorry, it ships today."]
    assert sent_to(platforms, "messenger")
    # The ops app also answers the ingress's paths (for the local stack); deployed, the ingress does.
    ingress_paths = {route for route in api.every if route.split(" ", 1)[1].startswith(INGRESS_PATHS)}
    assert ingress_paths == hooks.every
    assert (api.missed() - ingress_paths, hooks.missed()) == (set(), set())
    made = {
        (call.role, need.action) for call in recorder.calls for need in needs(call.service, call.operation, call.params)
    }
    assert ("ApiHandlerRole", "cognito-idp:AdminGetUser") in made  # the console's re-check
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
    # IAM reads an action's name in any case.
    statement = {"Effect": "Allow", "Action": "SQS:sendmessage", "Resource": "*"}
    role = {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": {"Statement": [statement]}}]}}
    written = Policies({"Resources": {"SomeRole": role}}, "dev")
    assert written.refused([Call("SomeRole", "sqs", "SendMessage", {"QueueUrl": queue})]) == []
    assert written.refused([Call("SomeRole", "sqs", "DeleteMessage", {"QueueUrl": queue})]) != []


def _query(key: str) -> dict[str, Any]:
    return {"KeyConditionExpression": "#0 = :0", "ExpressionAttributeValues": {":0": {"S": key}}}
