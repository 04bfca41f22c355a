"""The notifier's outlets: the chat incoming webhook for urgent alerts (its URL a secret), beside
the SNS topics. A real HTTP server on localhost stands in for Slack / Teams / Google Chat."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import pytest
from moto import mock_aws

from chalicelib.adapters.notify import NotificationChannels
from chalicelib.ports import SecretUnavailable
from chalicelib.rules.hygiene import Channel
from tests.helpers import Secrets


@pytest.fixture
def chat() -> Iterator[dict[str, Any]]:
    """An incoming-webhook endpoint that records what it is sent and answers `status`."""
    state: dict[str, Any] = {"received": [], "status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers["Content-Length"])
            state["received"].append((self.headers["Content-Type"], json.loads(self.rfile.read(length))))
            self.send_response(state["status"])
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_port}/hooks/abc"
    yield state
    server.shutdown()


def test_urgent_alerts_are_posted_to_the_chat_webhook(chat: dict[str, Any]) -> None:
    channels = NotificationChannels({}, Secrets({"chat_webhook_url": chat["url"]}))
    delivered = channels.send(Channel.URGENT, "[socialcrm high] Retention Alert: c-1", "why:\n  - x", None)
    assert delivered == ("chat",)
    assert chat["received"] == [("application/json", {"text": "*[socialcrm high] Retention Alert: c-1*\nwhy:\n  - x"})]


def test_other_channels_never_go_to_chat(chat: dict[str, Any]) -> None:
    channels = NotificationChannels({}, Secrets({"chat_webhook_url": chat["url"]}))
    assert channels.send(Channel.ALERTS, "s", "b", None) == ()
    assert chat["received"] == []


def test_no_chat_webhook_configured_is_not_an_error() -> None:
    assert NotificationChannels({}, Secrets({})).send(Channel.URGENT, "s", "b", None) == ()


def test_a_failing_chat_webhook_fails_the_alert_when_nothing_else_delivered_it(chat: dict[str, Any]) -> None:
    chat["status"] = 500
    channels = NotificationChannels({}, Secrets({"chat_webhook_url": chat["url"]}))
    with pytest.raises(OSError, match="500"):
        channels.send(Channel.URGENT, "s", "b", None)


def test_a_failing_chat_webhook_does_not_undo_the_topic_delivery(chat: dict[str, Any]) -> None:
    """Retrying the record would publish to the topic (and e-mail everyone) again."""
    chat["status"] = 503
    with mock_aws():
        sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
        topic = sns.create_topic(Name="urgent")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        channels = NotificationChannels(
            {Channel.URGENT: topic}, Secrets({"chat_webhook_url": chat["url"]}), sns_client=sns
        )
        assert channels.send(Channel.URGENT, "subject", "body", None) == ("sns:urgent",)
        (message,) = sqs.receive_message(QueueUrl=inbox)["Messages"]
        assert message["Body"] == "body"
    assert len(chat["received"]) == 1


class Unreadable:
    def get(self, key: str) -> str:
        raise SecretUnavailable("AccessDeniedException reading socialcrm/prod/app")

    def entry(self, key: str, name: str) -> str:
        return self.get(key)


def test_a_secret_that_cannot_be_read_is_not_mistaken_for_no_chat_webhook() -> None:
    with pytest.raises(SecretUnavailable, match="AccessDenied"):
        NotificationChannels({}, Unreadable()).send(Channel.URGENT, "s", "b", None)


def test_the_local_echo_shows_the_weekly_summarys_subject_not_its_topics(capsys: Any) -> None:
    """Topic names are customers' words: the local stack's log gets the summary's counts only."""
    channels = NotificationChannels({}, Secrets({}), echo=True)
    assert channels.send(Channel.SUMMARY, "socialcrm weekly: 6 messages", "Rising topics:\n- battery", None) == ("log",)
    assert channels.send(Channel.ALERTS, "an alert", "its reasons", None) == ("log",)
    logged = capsys.readouterr().err
    assert "socialcrm weekly: 6 messages" in logged
    assert "its reasons" in logged
    assert "battery" not in logged
