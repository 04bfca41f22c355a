"""The weekly summary, sent by its schedule to the supervisors' topic: the week's headline figures
against the week before, and the rising topics; counts and topic names, never a customer's words."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3

from chalicelib import dependencies
from chalicelib.insight.service import rollup
from tests.helpers import arrived_at, meta_message, process_queue
from tests.integration.test_alerts_flow import arn_of, schedule
from tools.webhook_client import sign

PAGE = "104000000000088"
WORDS = ("Terrible battery, I hate this phone", "Worst battery ever, dead by noon, really bad")


def test_the_weekly_summary_reaches_the_supervisors_topic_with_figures_and_rising_topics(
    client, sqs, pipeline, secrets
) -> None:
    sns = boto3.client("sns")
    inbox = sqs.create_queue(QueueName="test-summary")["QueueUrl"]
    sns.subscribe(TopicArn=pipeline["SOCIALCRM_SUMMARY_TOPIC"], Protocol="sqs", Endpoint=arn_of(sqs, inbox),
                  Attributes={"RawMessageDelivery": "false"})  # fmt: skip
    now = datetime.now(UTC).replace(minute=30, second=0, microsecond=0)
    yesterday = now - timedelta(days=1)
    for n in range(6):
        body = meta_message(PAGE, f"PSID-W{n}", f"mid.w{n}", WORDS[n % 2], yesterday - timedelta(minutes=n))
        request = sign("meta", body, secrets)
        assert client.http.post(request.path, headers=request.headers, body=request.body).status_code == 200
    with arrived_at(yesterday):
        process_queue(sqs, pipeline["SOCIALCRM_INGEST_QUEUE_URL"])
    rollup(dependencies.figure_store(), now)
    dependencies.topics().count(yesterday)

    assert schedule("send_weekly_summary")["delivered"] == ["sns:summary"]
    (message,) = [
        json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    ]
    assert message["Subject"].startswith("socialcrm weekly: 6 messages")
    text = message["Message"]
    assert "- Messages from customers: 6 (0)" in text
    assert "- Cases opened:" in text
    assert "Rising topics:\n- battery: 6 messages" in text
    assert not any(words in text for words in WORDS)
    assert "PSID-W" not in text
