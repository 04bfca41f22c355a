"""Alerts end to end on moto: the SLA watch, the notifier, the digest, churn's hysteresis and the
crisis watch, driven through the app's own handlers. Events are observed where the template sends
them (the alerts queue, through its EventBridge rules) or through a tap rule of the test's own;
notifications where SNS delivers them (a queue subscribed to each topic)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from chalicelib.rules.crisis import bucket_start
from tests.helpers import call, drain, meta_message, process_queue
from tools.local.worker import LambdaContext, SqsConsumer, sqs_event
from tools.webhook_client import sign

PAGE = "104000000000088"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"
QUESTION = "Does the shop open on Sunday?"
CANCEL = "I want to cancel my subscription"
NEGATIVE = (
    "Terrible service, my order never arrived",
    "This is terrible, I hate it",
    "Worst support ever, nobody answers me",
    "I am furious, you charged me twice",
)


@pytest.fixture
def topics(pipeline: dict[str, str]) -> dict[str, str]:
    """A queue subscribed to each alert topic (moto delivers SNS to SQS): channel -> queue URL."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    taps = {}
    for channel, variable in (
        ("urgent", "SOCIALCRM_URGENT_TOPIC"),
        ("alerts", "SOCIALCRM_ALERTS_TOPIC"),
        ("digest", "SOCIALCRM_DIGEST_TOPIC"),
    ):
        url = sqs.create_queue(QueueName=f"test-topic-{channel}")["QueueUrl"]
        sns.subscribe(TopicArn=pipeline[variable], Protocol="sqs", Endpoint=arn_of(sqs, url))
        taps[channel] = url
    return taps


@pytest.fixture
def tap(pipeline: dict[str, str]) -> str:
    """A queue with every event the app puts on its bus, through a rule of the test's own."""
    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="test-tap-all-events")["QueueUrl"]
    bus = pipeline["SOCIALCRM_EVENT_BUS"]
    events.put_rule(Name="test-tap", EventBusName=bus, EventPattern=json.dumps({"source": ["socialcrm"]}))
    events.put_targets(Rule="test-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn_of(sqs, url)}])
    return str(url)


def arn_of(sqs: Any, url: str) -> str:
    return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])


def messenger(psid: str, mid: str, text: str, at: datetime) -> bytes:
    return meta_message(PAGE, psid, mid, text, at)


def deliver(client: Any, sqs: Any, env: dict[str, str], secrets: dict[str, Any], *bodies: bytes) -> None:
    """Post the signed webhooks, then run the queue consumer over them."""
    for body in bodies:
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    assert process_queue(sqs, env["SOCIALCRM_INGEST_QUEUE_URL"]) == len(bodies)


def take(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message on the queue as SQS returned it (so it can be handed to a consumer), removed."""
    taken: list[dict[str, Any]] = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get(
        "Messages", []
    ):
        for message in messages:
            taken.append(message)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return taken


def kinds(messages: list[dict[str, Any]]) -> list[str]:
    return sorted(json.loads(message["Body"])["detail-type"] for message in messages)


def notify(sqs: Any, env: dict[str, str], messages: list[dict[str, Any]]) -> dict[str, Any]:
    """Run the app's alerts consumer over these alerts-queue messages, as Lambda's event source would."""
    import app as app_module

    url = env["SOCIALCRM_ALERTS_QUEUE_URL"]
    consumer = SqsConsumer("notify_alerts", app_module.notify_alerts, url, arn_of(sqs, url), 10, 0)
    result: dict[str, Any] = app_module.notify_alerts(
        sqs_event(consumer, messages, "us-east-1"), LambdaContext("notify_alerts")
    )
    assert result == {"batchItemFailures": []}
    return result


def schedule(name: str) -> dict[str, Any]:
    import app as app_module

    handler = getattr(app_module, name)
    event = {  # what an EventBridge schedule hands the function
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/socialcrm-dev-{name}"],
        "detail": {},
    }
    return dict(handler(event, LambdaContext(name)))


def published(sqs: Any, url: str) -> list[dict[str, Any]]:
    """The SNS notifications delivered to a subscribed queue: Subject, Message, MessageAttributes."""
    return [json.loads(body["Body"]) for body in take(sqs, url)]


def alerts_with(client: Any, status: str) -> list[dict[str, Any]]:
    code, page = call(client, "get", f"/alerts?status={status}")
    assert code == 200, page
    return list(page["alerts"])


def customer_of(client: Any, psid: str) -> str:
    status, found = call(client, "get", f"/identities/messenger/{psid}")
    assert status == 200
    return str(found["customer_id"])


def only_case(client: Any, customer: str) -> dict[str, Any]:
    _, page = call(client, "get", f"/customers/{customer}/interactions")
    (case_id,) = {i["case_id"] for i in page["interactions"] if i["case_id"]}
    status, case = call(client, "get", f"/cases/{case_id}")
    assert status == 200
    return dict(case)


# SLA


def test_an_overdue_case_is_reported_breached_once(client, sqs, pipeline, secrets, tap) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("PSID-LATE", "mid.late", COMPLAINT, now - timedelta(hours=3)),  # P2: due an hour ago
        messenger("PSID-FRESH", "mid.fresh", COMPLAINT, now - timedelta(minutes=10)),  # due in 110 minutes
    )
    late, fresh = (
        only_case(client, customer_of(client, "PSID-LATE")),
        only_case(client, customer_of(client, "PSID-FRESH")),
    )
    assert "Case Opened" in [e["detail-type"] for e in drain(sqs, tap)]

    assert schedule("watch_slas") == {"due": 1, "breached": 1, "retention_alerts": 0, "unpublished": 0}
    (breach,) = [e for e in drain(sqs, tap) if e["detail-type"] == "SLA Breached"]
    detail = breach["detail"]
    assert detail["case_id"] == late["case_id"]
    assert detail["customer_id"] == late["customer_id"]
    assert detail["due_at"] == late["due_at"]
    assert detail["dedupe_key"] == f"sla:{late['case_id']}:{late['due_at']}"
    assert (detail["priority"], detail["severity"], detail["team"]) == ("P2", "medium", "support")
    assert 59 <= detail["overdue_minutes"] <= 62

    # The template's rule put it on the notifier's queue too.
    on_alerts_queue = take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"])
    assert kinds(on_alerts_queue) == ["SLA Breached"]

    _, case = call(client, "get", f"/cases/{late['case_id']}")
    assert case["sla_breaches"] == [late["due_at"]]
    assert case["overdue"] is True
    assert call(client, "get", f"/cases/{fresh['case_id']}")[1]["sla_breaches"] == []
    _, view = call(client, "get", f"/customers/{late['customer_id']}")
    assert any(reason.startswith("SLA breaches: 1.0") for reason in view["churn"]["reasons"])

    # The next run finds the same case still open and overdue, and says nothing more.
    assert schedule("watch_slas")["breached"] == 0
    assert [e for e in drain(sqs, tap) if e["detail-type"] == "SLA Breached"] == []
    assert take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]) == []


# The notifier


def test_alerts_go_to_their_severitys_topic_once_and_low_ones_wait_for_the_digest(
    client, sqs, pipeline, secrets, topics
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    deliver(
        client,
        sqs,
        pipeline,
        secrets,
        messenger("PSID-A", "mid.a", COMPLAINT, now - timedelta(hours=3)),  # P2, overdue: medium
        messenger("PSID-B", "mid.b", QUESTION, now - timedelta(hours=10)),  # P3, overdue: low
    )
    assert take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]) == []  # neither rule raises an alert
    schedule("watch_slas")
    arrived = take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"])
    assert kinds(arrived) == ["SLA Breached", "SLA Breached"]
    by_customer = {json.loads(m["Body"])["detail"]["customer_id"]: m for m in arrived}
    medium = by_customer[customer_of(client, "PSID-A")]
    low = by_customer[customer_of(client, "PSID-B")]

    notify(sqs, pipeline, [*arrived, {**medium, "MessageId": "redelivered-1"}])  # one delivered twice
    notify(sqs, pipeline, [{**medium, "MessageId": "redelivered-2"}])  # and again, later

    (sent,) = published(sqs, topics["alerts"])
    medium_case = json.loads(medium["Body"])["detail"]["case_id"]
    assert sent["Subject"] == f"[socialcrm medium] SLA Breached: {customer_of(client, 'PSID-A')}"
    assert f"case_id: {medium_case}" in sent["Message"]
    assert sent["MessageAttributes"]["severity"]["Value"] == "medium"
    assert sent["MessageAttributes"]["type"]["Value"] == "SLA Breached"
    assert published(sqs, topics["urgent"]) == []
    assert published(sqs, topics["digest"]) == []

    (recorded,) = alerts_with(client, "sent")
    assert recorded["detail"]["case_id"] == medium_case
    assert recorded["delivered_to"] == ["sns:alerts"]
    assert f"/alerts/{recorded['alert_id']}/ack" in sent["Message"]
    (waiting,) = alerts_with(client, "pending_digest")
    assert waiting["customer_id"] == customer_of(client, "PSID-B")
    assert waiting["severity"] == "low"

    assert schedule("send_alert_digest") == {"alerts": 1}
    (digest,) = published(sqs, topics["digest"])
    assert digest["Subject"] == "[socialcrm digest] 1 low-priority alert(s)"
    assert "1 x SLA Breached" in digest["Message"]
    assert waiting["alert_id"] in digest["Message"]
    assert alerts_with(client, "pending_digest") == []
    assert [a["alert_id"] for a in alerts_with(client, "digested")] == [waiting["alert_id"]]
    assert schedule("send_alert_digest") == {"alerts": 0}
    assert published(sqs, topics["digest"]) == []
    assert json.loads(low["Body"])["detail"]["dedupe_key"] == waiting["dedupe_key"]


def test_a_repeat_alert_inside_the_cooldown_is_suppressed_and_alerts_can_be_acked(
    client, sqs, pipeline, secrets, topics
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    alerts_queue = pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]
    deliver(client, sqs, pipeline, secrets, messenger("PSID-C", "mid.c1", CANCEL, now - timedelta(minutes=5)))
    first = [m for m in take(sqs, alerts_queue) if json.loads(m["Body"])["detail-type"] == "Interaction Routed"]
    notify(sqs, pipeline, first)
    (urgent,) = [n for n in published(sqs, topics["urgent"]) if "Interaction Routed" in n["Subject"]]
    assert urgent["MessageAttributes"]["severity"]["Value"] == "high"
    assert f"customer_id: {customer_of(client, 'PSID-C')}" in urgent["Message"]

    # Five minutes later, again: another alert of that type about the customer, inside its 30 minutes.
    deliver(client, sqs, pipeline, secrets, messenger("PSID-C", "mid.c2", CANCEL + ", now!", now))
    second = [m for m in take(sqs, alerts_queue) if json.loads(m["Body"])["detail-type"] == "Interaction Routed"]
    assert len(second) == 1
    notify(sqs, pipeline, second)
    assert [n for n in published(sqs, topics["urgent"]) if "Interaction Routed" in n["Subject"]] == []
    (suppressed,) = alerts_with(client, "suppressed")
    assert suppressed["type"] == "Interaction Routed"
    assert suppressed["customer_id"] == customer_of(client, "PSID-C")
    assert suppressed["detail"]["interaction"]["external_id"] == "mid.c2"
    assert suppressed["delivered_to"] == []

    sent = [a for a in alerts_with(client, "sent") if a["type"] == "Interaction Routed"]
    (taken,) = sent
    path = f"/alerts/{taken['alert_id']}/ack"
    assert call(client, "post", path, token=None)[0] == 401
    assert call(client, "post", "/alerts/000000000000000000000000/ack")[0] == 404
    assert call(client, "post", path, {"by": "ana@ops"})[0] == 400  # who acks is whoever is signed in
    status, acked = call(client, "post", path, role="agent")
    assert status == 200, acked
    assert (acked["status"], acked["acked_by"]) == ("acked", "cognito:agent@example.com")
    assert acked["acked_at"] is not None
    assert [a["alert_id"] for a in alerts_with(client, "acked")] == [taken["alert_id"]]
    assert taken["alert_id"] not in [a["alert_id"] for a in alerts_with(client, "sent")]
    assert call(client, "post", path)[1]["acked_by"] == "cognito:agent@example.com"  # taken already
    assert call(client, "get", "/alerts?status=whatever")[0] == 400
    assert call(client, "get", "/alerts", token=None)[0] == 401


def test_a_failed_delivery_is_retried_and_not_suppressed_by_its_own_cooldown(
    client, sqs, pipeline, secrets, topics
) -> None:

    import app as app_module

    deliver(client, sqs, pipeline, secrets, messenger("PSID-F", "mid.f1", CANCEL, datetime.now(UTC)))
    routed = [
        m
        for m in take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"])
        if json.loads(m["Body"])["detail-type"] == "Interaction Routed"
    ]
    sns = boto3.client("sns")
    urgent_topic = pipeline["SOCIALCRM_URGENT_TOPIC"]
    sns.delete_topic(TopicArn=urgent_topic)  # SNS refuses the publish
    url = pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]
    consumer = SqsConsumer("notify_alerts", app_module.notify_alerts, url, arn_of(sqs, url), 10, 0)
    answer = app_module.notify_alerts(sqs_event(consumer, routed, "us-east-1"), LambdaContext("notify_alerts"))
    # Every record failed: each is reported, and comes back after its retry delay (30 s the first time).
    assert answer == {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in routed]}
    (pending,) = alerts_with(client, "new")  # recorded, holding its cooldown, not delivered
    assert pending["delivered_to"] == []

    recreated = sns.create_topic(Name=urgent_topic.rsplit(":", 1)[1])["TopicArn"]
    assert recreated == urgent_topic
    sns.subscribe(TopicArn=recreated, Protocol="sqs", Endpoint=arn_of(sqs, topics["urgent"]))
    notify(sqs, pipeline, routed)  # the redelivery
    (notice,) = published(sqs, topics["urgent"])
    assert pending["alert_id"] in notice["Message"]
    assert alerts_with(client, "suppressed") == []
    assert [a["alert_id"] for a in alerts_with(client, "sent")] == [pending["alert_id"]]


# Churn


def test_repeated_cancel_threats_raise_one_retention_alert(client, sqs, pipeline, secrets, topics) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    alerts_queue = pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]
    texts = (
        CANCEL,
        "Please cancel my account, I am leaving",
        "I want to cancel my subscription today",
        "Cancel my plan, I really want to cancel",
    )
    arrived: list[dict[str, Any]] = []
    alerting = []
    for number, text in enumerate(texts):
        at = now - timedelta(minutes=40 - 10 * number)
        deliver(client, sqs, pipeline, secrets, messenger("PSID-R", f"mid.r{number}", text, at))
        arrived += take(sqs, alerts_queue)
        churn = call(client, "get", f"/customers/{customer_of(client, 'PSID-R')}")[1]["churn"]
        alerting.append(churn["alerting"])
        assert churn["alerting"] is (churn["score"] >= 0.7 or any(alerting[:-1]))
    crossed = alerting.index(True)  # the message that took the risk over the threshold
    assert all(alerting[crossed:])

    retention = [m for m in arrived if json.loads(m["Body"])["detail-type"] == "Retention Alert"]
    assert len(retention) == 1  # hysteresis: one alert for the crossing, not one per message
    detail = json.loads(retention[0]["Body"])["detail"]
    assert detail["customer_id"] == customer_of(client, "PSID-R")
    assert detail["episode"] == 1
    assert detail["interaction"]["external_id"] == f"mid.r{crossed}"
    assert detail["churn_risk"] >= 0.7
    assert any(reason.startswith("cancel threats") for reason in detail["reasons"])

    notify(sqs, pipeline, arrived)
    notices = [
        n for n in published(sqs, topics["urgent"]) if n["MessageAttributes"]["type"]["Value"] == "Retention Alert"
    ]
    assert len(notices) == 1
    assert "churn_risk:" in notices[0]["Message"]
    status, page = call(client, "get", "/alerts?type=Retention%20Alert")
    assert status == 200
    assert [(a["type"], a["status"]) for a in page["alerts"]] == [("Retention Alert", "sent")]


# Crisis


def test_a_burst_of_negative_interactions_raises_one_crisis_alert(
    client, sqs, pipeline, secrets, tap, topics, monkeypatch
) -> None:
    # The watch reads the clock; pin it inside a fixed 15-minute bucket so the burst cannot straddle
    # two buckets however slowly the test runs.
    clock = bucket_start(datetime.now(UTC) - timedelta(hours=1), 15) + timedelta(minutes=12)
    pin_clock(monkeypatch, clock)
    quiet = [
        messenger(f"PSID-Q{n}", f"mid.q{n}", NEGATIVE[n], clock - timedelta(hours=3, minutes=7 * n)) for n in range(2)
    ]
    burst = [
        messenger(f"PSID-N{n}", f"mid.n{n}", NEGATIVE[n % len(NEGATIVE)], clock - timedelta(minutes=6, seconds=-20 * n))
        for n in range(12)
    ]
    deliver(client, sqs, pipeline, secrets, *quiet, *burst)
    take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"])
    drain(sqs, tap)

    report = schedule("watch_crises")
    assert (report["started"], report["negatives"], report["unpublished"]) == (1, 14, 0)
    (crisis,) = [e for e in drain(sqs, tap) if e["detail-type"] == "Crisis Alert"]
    detail = crisis["detail"]
    assert detail["brand"] == PAGE
    assert detail["negative_count"] == 12
    assert detail["severity"] == "critical"
    assert detail["baseline"]["mean"] < 0.1
    assert detail["z_score"] >= 3.0
    samples = detail["sample_interactions"]
    assert len(samples) == 5
    assert {s["platform"] for s in samples} == {"messenger"}
    assert {s["external_id"] for s in samples} == {f"mid.n{n}" for n in range(7, 12)}  # the latest five
    assert all(s["customer_id"] for s in samples)

    arrived = take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"])
    assert kinds(arrived) == ["Crisis Alert"]
    notify(sqs, pipeline, arrived)
    (notice,) = published(sqs, topics["urgent"])
    assert notice["Subject"] == f"[socialcrm critical] Crisis Alert: {PAGE}"

    # Two minutes on, the same episode: nothing new.
    pin_clock(monkeypatch, clock + timedelta(minutes=2))
    assert schedule("watch_crises")["started"] == 0
    assert [e for e in drain(sqs, tap) if e["detail-type"] == "Crisis Alert"] == []
    assert take(sqs, pipeline["SOCIALCRM_ALERTS_QUEUE_URL"]) == []


def pin_clock(monkeypatch: pytest.MonkeyPatch, moment: datetime) -> None:
    """The schedule handlers' `datetime.now` returns `moment`; nothing else about time changes."""
    from chalicelib.handlers import alerts as handlers

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Pinned:
            return cls.fromtimestamp(moment.timestamp(), tz)

    monkeypatch.setattr(handlers, "datetime", Pinned)
