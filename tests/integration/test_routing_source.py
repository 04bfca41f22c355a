"""Where the routing document comes from, on moto: the repository's default when the stage's SSM
parameter does not exist, the parameter's document when it does (read again at most every
SOCIALCRM_ROUTING_MAX_AGE seconds, so a change reaches warm functions). An invalid document, with a
message naming the rule and the field, never replaces a valid one: a warm function keeps its last
valid document and an alarm says why; only a function that never read one stops routing, and the
records wait the longest retry delay rather than reaching the dead-letter queue within minutes."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

import app as app_module
from chalicelib import dependencies
from chalicelib.adapters.routing_source import load_routing
from chalicelib.models.interaction import iso
from chalicelib.rules.routing import RoutingError, load_default
from tests.helpers import drain, meta_message, process_queue, tap_all_events
from tools.local.worker import LambdaContext, SqsConsumer, sqs_event
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.webhook_client import sign

OPS_TOKEN = load_file(DEV_SECRETS_PATH)["ops_api_token"]
ACCOUNT = "17841400000000077"
COMPLAINT = "My order never arrived and nobody answers, this is terrible service"

OVERRIDE: dict[str, Any] = {
    "version": "test-override-7",
    "sla_minutes": {"P1": 15, "P2": 45, "P3": 240, "P4": 1440},
    "rules": [
        {
            "name": "instagram-complaints",
            "when": {"platform": ["instagram"], "intent": ["complaint"]},
            "team": "social-care",
            "priority": "P2",
            "actions": ["open_case"],
        },
        {"name": "the-rest", "when": {}, "team": "social", "priority": "P4", "actions": []},
    ],
}


@pytest.fixture
def tap(pipeline: dict[str, str]) -> str:
    """A queue with every event the app puts on its bus, through a rule of the test's own."""
    return tap_all_events(pipeline)


def put_override(env: dict[str, str], document: dict[str, Any] | str) -> None:
    value = document if isinstance(document, str) else json.dumps(document)
    boto3.client("ssm").put_parameter(
        Name=env["SOCIALCRM_ROUTING_PARAMETER"], Value=value, Type="String", Overwrite=True
    )


def instagram_dm(user: str, mid: str, text: str, at: datetime) -> bytes:
    return meta_message(ACCOUNT, user, mid, text, at, obj="instagram")


def messenger(user: str, mid: str, text: str, at: datetime) -> bytes:
    return meta_message("PAGE77", user, mid, text, at)


def post(client: Any, secrets: dict[str, Any], body: bytes) -> None:
    request = sign("meta", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200


def get(client: Any, path: str) -> tuple[int, Any]:
    response = client.http.get(path, headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    return int(response.status_code), json.loads(response.body) if response.body else None


def stored_route(client: Any, platform: str, user: str) -> dict[str, Any]:
    status, found = get(client, f"/identities/{platform}/{user}")
    assert status == 200, found
    _, page = get(client, f"/customers/{found['customer_id']}/interactions")
    (interaction,) = page["interactions"]
    return dict(interaction)


def routed(sqs: Any, tap: str) -> list[dict[str, Any]]:
    return [event["detail"] for event in drain(sqs, tap) if event["detail-type"] == "Interaction Routed"]


def test_without_the_parameter_the_default_document_routes(client, sqs, pipeline, secrets, tap) -> None:
    ssm = boto3.client("ssm")
    with pytest.raises(ssm.exceptions.ParameterNotFound):
        ssm.get_parameter(Name=pipeline["SOCIALCRM_ROUTING_PARAMETER"])
    default = load_default()
    assert dependencies.routing().version == default.version
    assert dependencies.routing() is dependencies.routing()  # the same value, the same document
    assert dependencies.decider() is dependencies.decider()  # and nothing built from it again

    post(client, secrets, instagram_dm("IGSID-1", "ig.1", COMPLAINT, datetime.now(UTC) - timedelta(minutes=5)))
    process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    stored = stored_route(client, "instagram", "IGSID-1")
    assert {k: stored["route"][k] for k in ("team", "priority", "rule")} == {
        "team": "support",
        "priority": "P2",
        "rule": "complaint",
    }
    (detail,) = routed(sqs, tap)
    assert detail["routing_version"] == default.version
    assert detail["route"]["team"] == "support"


def test_an_override_reaches_a_warm_function_within_its_max_age(
    client, sqs, pipeline, secrets, tap, monkeypatch
) -> None:
    default = dependencies.routing()
    put_override(pipeline, OVERRIDE)
    assert dependencies.routing() is default  # kept for SOCIALCRM_ROUTING_MAX_AGE (300 s by default)
    source = dependencies.routing_source()
    monkeypatch.setattr(source, "_max_age", 0)  # that time has passed:
    monkeypatch.setattr(source, "_absent_until", 0.0)
    assert dependencies.routing().version == "test-override-7"  # same container, no cold start
    assert [rule.name for rule in dependencies.routing().rules] == ["instagram-complaints", "the-rest"]
    assert dependencies.decider().routing.version == "test-override-7"

    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    post(client, secrets, instagram_dm("IGSID-2", "ig.2", COMPLAINT, at))
    post(client, secrets, messenger("PSID-2", "m.2", COMPLAINT, at))  # no Messenger rule in the override
    assert process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"]) == 2

    instagram = stored_route(client, "instagram", "IGSID-2")
    assert instagram["intent"]["label"] == "complaint"
    assert {k: instagram["route"][k] for k in ("team", "priority", "rule")} == {
        "team": "social-care",
        "priority": "P2",
        "rule": "instagram-complaints",
    }
    status, case = get(client, f"/cases/{instagram['case_id']}")
    assert status == 200
    assert (case["team"], case["rule"]) == ("social-care", "instagram-complaints")
    assert case["due_at"] == iso(at + timedelta(minutes=45))  # the override's SLA, not the default's 120

    other = stored_route(client, "messenger", "PSID-2")
    assert {k: other["route"][k] for k in ("team", "priority", "rule")} == {
        "team": "social",
        "priority": "P4",
        "rule": "the-rest",
    }
    assert other["case_id"] is None  # the catch-all opens no case

    by_platform = {detail["interaction"]["platform"]: detail for detail in routed(sqs, tap)}
    assert by_platform["instagram"]["route"]["team"] == "social-care"
    assert by_platform["instagram"]["routing_version"] == "test-override-7"
    assert by_platform["messenger"]["route"]["rule"] == "the-rest"


def broken(rule: int, **changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(OVERRIDE)
    document["rules"][rule].update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (broken(0, priority="P9"), "rules[0] 'instagram-complaints': priority: one of P1"),
        (broken(0, team="Social Care"), "rules[0] 'instagram-complaints': team: required"),
        (broken(0, when={"plataform": ["x"]}), "rules[0] 'instagram-complaints': when: unknown field(s) ['plataform']"),
        (
            broken(0, when={"intent": ["complain"]}),
            "rules[0] 'instagram-complaints': when.intent: unknown intent 'complain'",
        ),
        (
            broken(0, actions=["page_someone"]),
            "rules[0] 'instagram-complaints': actions: unknown action 'page_someone'",
        ),
        (broken(1, when={"platform": ["x"]}), "rules[1] 'the-rest': when: the last rule must have no conditions"),
        (broken(1, name="instagram-complaints"), "rules[1] 'instagram-complaints': name: used by an earlier rule"),
    ],
    ids=["priority", "team", "unknown-condition", "intent", "action", "no-catch-all", "duplicate-name"],
)
def test_an_invalid_override_names_the_rule_and_the_field(pipeline, document, expected) -> None:
    put_override(pipeline, document)
    dependencies.reset()
    with pytest.raises(RoutingError) as raised:
        dependencies.routing()
    assert str(raised.value).startswith(f"ssm:{pipeline['SOCIALCRM_ROUTING_PARAMETER']}: {expected}")


def test_a_cold_function_with_an_invalid_override_stops_loudly_until_it_is_fixed(
    client, sqs, pipeline, secrets, monkeypatch, capsys, caplog
) -> None:
    monkeypatch.setenv("SOCIALCRM_ROUTING_MAX_AGE", "0")
    put_override(pipeline, "{not json")
    dependencies.reset()
    with pytest.raises(RoutingError, match="not valid JSON"):
        load_routing(pipeline["SOCIALCRM_ROUTING_PARAMETER"])

    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    post(client, secrets, instagram_dm("IGSID-3", "ig.3", COMPLAINT, datetime.now(UTC) - timedelta(minutes=5)))
    (message,) = sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])["Messages"]
    consumer = SqsConsumer("process_interactions", app_module.process_interactions, queue_url, "arn:ingest", 250, 0)
    postponed: list[tuple[list[tuple[str, int]], bool]] = []

    def postpone(failed: list[tuple[str, int]], longest: bool = False) -> None:
        postponed.append((failed, longest))

    monkeypatch.setattr(dependencies.retry_scheduler(), "postpone", postpone)
    capsys.readouterr()
    answer = app_module.process_interactions(sqs_event(consumer, [message], "us-east-1"), LambdaContext("process"))
    assert answer == {"batchItemFailures": [{"itemIdentifier": message["MessageId"]}]}  # not raised: reported
    # Back after the longest delay (15 minutes), not the 30-minute timeout, and not 30 s: nothing
    # changes until a person fixes the document, and the ten receives must give them hours.
    assert postponed == [([(message["ReceiptHandle"], 1)], True)]
    assert '"RoutingInvalid":[1.0]' in capsys.readouterr().out  # the metric the alarm watches
    assert "routing override invalid" in caplog.text
    assert get(client, "/identities/instagram/IGSID-3")[0] == 404  # nothing stored, the message not deleted

    put_override(pipeline, OVERRIDE)  # fixed: the next read (max age 0 here) takes it, no cold start
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    assert process_queue(sqs, queue_url) == 1
    assert stored_route(client, "instagram", "IGSID-3")["route"]["team"] == "social-care"


def test_a_warm_function_keeps_its_last_valid_document_while_the_override_is_invalid(
    client, sqs, pipeline, secrets, monkeypatch, capsys, caplog
) -> None:
    monkeypatch.setenv("SOCIALCRM_ROUTING_MAX_AGE", "0")
    put_override(pipeline, OVERRIDE)
    dependencies.reset()
    assert dependencies.routing().version == "test-override-7"

    put_override(pipeline, broken(0, priority="P9"))  # edited by hand in the console, say
    capsys.readouterr()
    assert dependencies.routing().version == "test-override-7"  # kept, not replaced
    (logged,) = [r for r in caplog.records if r.getMessage() == "routing override invalid"]
    assert "priority: one of P1" in logged.__dict__["reason"]  # naming the rule and the field

    post(client, secrets, instagram_dm("IGSID-4", "ig.4", COMPLAINT, datetime.now(UTC) - timedelta(minutes=5)))
    assert process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"]) == 1  # stored, by the last valid rules
    assert '"RoutingInvalid":[1.0]' in capsys.readouterr().out  # counted in the invocation: the alarm
    assert stored_route(client, "instagram", "IGSID-4")["route"]["rule"] == "instagram-complaints"


def test_an_unreadable_parameter_keeps_the_last_document_or_waits_without_one(
    client, sqs, pipeline, secrets, monkeypatch
) -> None:
    from botocore.exceptions import ClientError

    from chalicelib.adapters.routing_source import RoutingSource, RoutingUnavailable

    ssm = boto3.client("ssm")
    put_override(pipeline, OVERRIDE)
    source = RoutingSource(pipeline["SOCIALCRM_ROUTING_PARAMETER"], 0, ssm)
    assert source.current().version == "test-override-7"

    def throttled(**_: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameter")

    monkeypatch.setattr(ssm, "get_parameter", throttled)
    assert source.current().version == "test-override-7"  # SSM throttled: the last document
    with pytest.raises(RoutingUnavailable, match="ThrottlingException"):
        RoutingSource(pipeline["SOCIALCRM_ROUTING_PARAMETER"], 0, ssm).current()  # none read yet

    def unavailable() -> Any:
        raise RoutingUnavailable("ssm: cannot be read")

    # An ops route that needs the document answers 503 rather than 500.
    monkeypatch.setattr(dependencies.routing_source(), "current", unavailable)
    response = client.http.post(
        "/cases/nope/status",
        headers={"Authorization": f"Bearer {OPS_TOKEN}", "Content-Type": "application/json"},
        body=json.dumps({"status": "resolved"}),
    )
    assert response.status_code == 503
