"""What the app counts reaches CloudWatch as embedded metric format (a JSON line in the log), under
the names, namespace and dimension that the stack's alarms watch."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.observability import SERVICE, metrics
from tests.helpers import process_queue
from tools import template as templates
from tools.webhook_client import sign


def emitted(output: str, dimensions: tuple[str, ...] = ()) -> dict[str, Any]:
    """Metric name -> total value, from the EMF lines in `output` with exactly the `service`
    dimension and `dimensions` (named `Name[value,...]` when broken down); also checks their envelope."""
    totals: dict[str, Any] = {}
    for line in output.splitlines():
        if not line.startswith('{"_aws"'):
            continue
        document = json.loads(line)
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        (names,) = directive["Dimensions"]
        if sorted(names) != sorted(("service", *dimensions)):
            continue
        assert document["service"] == SERVICE
        for metric in directive["Metrics"]:
            assert metric["Unit"] == "Count"
            values = document[metric["Name"]]
            total = sum(values) if isinstance(values, list) else values
            name = metric["Name"] + (f"[{','.join(str(document[d]) for d in dimensions)}]" if dimensions else "")
            totals[name] = totals.get(name, 0) + total
    return totals


@pytest.fixture(autouse=True)
def no_leftovers() -> None:
    metrics.clear_metrics()  # what other tests counted outside a handler


def telegram_update(update_id: int) -> bytes:
    message = {
        "message_id": update_id,
        "from": {"id": 77, "is_bot": False, "first_name": "Ana"},
        "chat": {"id": 77, "type": "private"},
        "date": 1763812800,
        "text": "Olá, o pedido não chegou",
    }
    return json.dumps({"update_id": update_id, "message": message}).encode()


def test_webhook_outcomes_are_counted_per_invocation(client, secrets, capsys) -> None:
    good = sign("telegram", telegram_update(1), secrets)
    assert client.http.post(good.path, headers=good.headers, body=good.body).status_code == 200
    forged = {**good.headers, "X-Telegram-Bot-Api-Secret-Token": "not-the-token"}
    assert client.http.post(good.path, headers=forged, body=good.body).status_code == 401
    assert client.http.post(good.path, headers=forged, body=good.body).status_code == 401
    malformed = sign("telegram", b"{not json", secrets)
    assert client.http.post(malformed.path, headers=malformed.headers, body=malformed.body).status_code == 400
    assert emitted(capsys.readouterr().out) == {
        "WebhooksAccepted": 1,
        "InteractionsQueued": 1,
        "WebhooksRejected": 2,
        "WebhooksMalformed": 1,
    }


def test_items_not_read_are_counted_in_all_and_by_channel_and_reason(client, secrets, capsys) -> None:
    item = {"sender": {"id": "7"}, "recipient": {"id": "PAGE"}, "timestamp": 1763812800000}
    good = {**item, "message": {"mid": "m_1", "text": "hi"}}
    broken = {**item, "message_v2": {"mid": "m_2", "text": "a shape Meta never sent"}}
    body = json.dumps({"object": "page", "entry": [{"id": "PAGE", "messaging": [good, broken, broken]}]}).encode()
    request = sign("meta", body, secrets)
    assert client.http.post(request.path, headers=request.headers, body=body).status_code == 200
    out = capsys.readouterr().out
    assert emitted(out)["WebhookItemsUnread"] == 2
    assert emitted(out, ("channel", "reason")) == {"WebhookItemsUnread[meta,unknown]": 2}


def test_refused_handshakes_are_counted(client, secrets, capsys) -> None:
    assert client.http.get("/webhooks/x?crc_token=%7B%7D").status_code == 400  # "{}": never X's shape
    assert client.http.get("/webhooks/meta?hub.mode=subscribe&hub.challenge=1&hub.verify_token=no").status_code == 403
    assert client.http.get("/webhooks/x?crc_token=abc").status_code == 200
    assert emitted(capsys.readouterr().out) == {"HandshakesRefused": 2}


def test_the_processor_counts_what_it_stored_and_what_failed(client, sqs, pipeline, secrets, capsys) -> None:
    queue_url = pipeline["SOCIALCRM_INGEST_QUEUE_URL"]
    for update_id in (1, 2, 2):  # the second one twice: a duplicate
        request = sign("telegram", telegram_update(update_id), secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    sqs.send_message(QueueUrl=queue_url, MessageBody='{"not": "an interaction"}')
    capsys.readouterr()
    assert process_queue(sqs, queue_url) == 4
    counted = emitted(capsys.readouterr().out)
    assert counted == {"RecordsProcessed": 4, "RecordsInvalid": 1, "DuplicateRecords": 1}


def test_the_alarms_watch_what_the_code_emits_where_each_stage_emits_it() -> None:
    """The alarm's namespace is the stage's POWERTOOLS_METRICS_NAMESPACE, its dimension the one the
    app publishes, and its metric one of the names the tests above see emitted."""
    template = templates.load()
    config = json.loads((templates.ROOT / ".chalice" / "config.json").read_text())
    watched = {
        resource["Properties"]["MetricName"]: resource["Properties"]
        for resource in template["Resources"].values()
        if resource.get("Type") == "AWS::CloudWatch::Alarm" and resource["Properties"]["Namespace"] != "AWS/SQS"
    }
    assert set(watched) == {
        "WebhooksRejected",
        "HandshakesRefused",
        "WebhookItemsUnread",
        "RoutingInvalid",
        "WebhooksUnavailable",
        "UnhandledErrors",
    }
    for alarm in watched.values():
        assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE}]
        for stage in ("dev", "prod"):
            namespace = alarm["Namespace"]["Fn::Sub"].replace("${Stage}", stage)
            assert config["stages"][stage]["environment_variables"]["POWERTOOLS_METRICS_NAMESPACE"] == namespace


def test_an_exception_no_handler_answered_for_is_counted_and_still_a_500(client, secrets, capsys, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("chalicelib.api.webhooks.receive", broken)
    request = sign("telegram", telegram_update(9), secrets)
    assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 500
    assert emitted(capsys.readouterr().out) == {"UnhandledErrors": 1}


def test_a_queue_handler_that_raises_is_counted_and_still_raises(capsys, monkeypatch) -> None:
    """Outside a route nothing turns the exception into an answer: Lambda fails the event."""
    from chalicelib.observability import publish_metrics

    def handler(event: Any) -> Any:
        raise KeyError("Records")

    with pytest.raises(KeyError):
        publish_metrics({}, handler)
    assert emitted(capsys.readouterr().out) == {"UnhandledErrors": 1}
    assert publish_metrics({}, lambda event: {"batchItemFailures": []}) == {"batchItemFailures": []}
    assert emitted(capsys.readouterr().out) == {}
