"""Small test helpers: draining queues, the ops API, a tap on the event bus."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from chalicelib.models.alert import Alert
from chalicelib.models.events import Severity


def drain(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message body on the queue, decoded, in the order received."""
    bodies: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = response.get("Messages", [])
        if not messages:
            return bodies
        for message in messages:
            bodies.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def process_queue(sqs: Any, queue_url: str) -> int:
    """Run the app's queue consumer over everything on the queue, as the local worker (and
    Lambda's event source mapping) would; returns how many records were handed to it."""
    import app as app_module
    from tools.local import worker

    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consumer = worker.SqsConsumer("process_interactions", app_module.process_interactions, queue_url, arn, 250, 0)
    handled = 0
    while count := worker.poll_once(consumer, sqs, "us-east-1", wait_seconds=0):
        handled += count
    return handled


def one_pass(sqs: Any, queue_url: str) -> int:
    """One receive of up to 250 records handed to the consumer, as one Lambda invocation."""
    import app as app_module
    from tools.local import worker

    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    consumer = worker.SqsConsumer("process_interactions", app_module.process_interactions, queue_url, arn, 250, 0)
    return worker.poll_once(consumer, sqs, "us-east-1", wait_seconds=0)


def meta_message(
    account: str, sender: str, mid: str, text: str, at: datetime, obj: str = "page", echo: bool = False
) -> bytes:
    """A Meta webhook with one message, as Meta sends them: the customer's to the page (or
    Instagram account), or, `echo`, the page's reply echoed back (sender the page)."""
    millis = int(at.timestamp() * 1000)
    message: dict[str, Any] = {"mid": mid, "text": text}
    frm, to = sender, account
    if echo:
        message.update({"is_echo": True, "app_id": 1000000000000001, "metadata": "agent:desk-1"})
        frm, to = account, sender
    item = {"sender": {"id": frm}, "recipient": {"id": to}, "timestamp": millis, "message": message}
    return json.dumps({"object": obj, "entry": [{"id": account, "time": millis, "messaging": [item]}]}).encode()


class Secrets:
    """An in-memory secrets document, as the SecretReader port reads one."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def get(self, key: str) -> str:
        from chalicelib.ports import SecretNotSet

        value = self.values.get(key)
        if not isinstance(value, str) or not value:
            raise SecretNotSet(f"secret {key!r} is not set")
        return value

    def entry(self, key: str, name: str) -> str:
        from chalicelib.ports import SecretNotSet

        value = (self.values.get(key) or {}).get(name)
        if not isinstance(value, str) or not value:
            raise SecretNotSet(f"secret {key!r} has no entry {name!r}")
        return value


def ops_token() -> str:
    from tools.secrets import DEV_SECRETS_PATH, load_file

    return str(load_file(DEV_SECRETS_PATH)["ops_api_token"])


def role_token(role: str) -> str:
    """An access token of the local Cognito pool's console user with that role (the dev secrets
    document's `console_users`), as the stack's provisioning created them."""
    import os

    import boto3

    from tools.secrets import DEV_SECRETS_PATH, load_file

    users = load_file(DEV_SECRETS_PATH)["console_users"]
    email = next(email for email, user in users.items() if user["role"] == role)
    result = boto3.client("cognito-idp").initiate_auth(
        ClientId=os.environ["SOCIALCRM_COGNITO_CLIENT_IDS"].split(",")[0],
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": users[email]["password"]},
    )
    return str(result["AuthenticationResult"]["AccessToken"])


def call(
    client: Any, method: str, path: str, body: Any = None, token: str | None = "", role: str | None = None
) -> tuple[int, Any]:
    """An ops API call through chalice's test client: (status, JSON body). The dev ops token (a
    supervisor's) unless `role` asks for a signed-in user of that role, or `token` says otherwise
    (None: no Authorization header)."""
    headers = {"Content-Type": "application/json"}
    if role is not None:
        token = role_token(role)
    if token is not None:
        headers["Authorization"] = f"Bearer {token or ops_token()}"
    raw = json.dumps(body).encode() if body is not None else b""
    response = getattr(client.http, method)(path, headers=headers, body=raw)
    return int(response.status_code), json.loads(response.body) if response.body else None


def tap_all_events(env: dict[str, str]) -> str:
    """A queue that receives every event the app puts on its bus (a rule of the test's own)."""
    import boto3

    events, sqs = boto3.client("events"), boto3.client("sqs")
    url = sqs.create_queue(QueueName="test-tap-all-events")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = env["SOCIALCRM_EVENT_BUS"]
    events.put_rule(Name="test-tap", EventBusName=bus, EventPattern=json.dumps({"source": ["socialcrm"]}))
    events.put_targets(Rule="test-tap", EventBusName=bus, Targets=[{"Id": "tap", "Arn": arn}])
    return str(url)


@contextlib.contextmanager
def dynamodb_requests_atomic() -> Iterator[None]:
    """Make moto's DynamoDB answer one request at a time, as DynamoDB applies each atomically.
    Called from several threads (the race tests), moto can check a condition in one thread while
    another writes, or iterate a table another thread grows, which DynamoDB never shows."""
    from unittest.mock import patch

    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    names = ("get_item", "put_item", "update_item", "delete_item", "query", "scan", "transact_write_items",
             "transact_get_items", "batch_get_item")  # fmt: skip
    patches = []
    for name in names:
        original = getattr(DynamoDBBackend, name)

        def one_at_a_time(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        patches.append(patch.object(DynamoDBBackend, name, one_at_a_time))
    with contextlib.ExitStack() as stack:
        for each in patches:
            stack.enter_context(each)
        yield


def crisis_alert(alert_id: str, raised_at: datetime, **detail: Any) -> Alert:
    """A crisis alert about the brand "acme", as the crisis watch raises one (no customer of its
    own); `detail` adds what the test needs: sampled interactions, reasons."""
    return Alert(
        alert_id=alert_id,
        dedupe_key=f"crisis:acme:{alert_id}",
        detail_type="Crisis Alert",
        severity=Severity.CRITICAL,
        subject="acme",
        customer_id=None,
        raised_at=raised_at,
        detail={"brand": "acme", **detail},
    )


def retention_alert(customer_id: str, key: str, raised_at: datetime) -> Alert:
    """A retention alert about one customer, as the processor raises one."""
    return Alert(
        alert_id=key,
        dedupe_key=key,
        detail_type="Retention Alert",
        severity=Severity.HIGH,
        subject=customer_id,
        customer_id=customer_id,
        raised_at=raised_at,
        detail={"customer_id": customer_id, "churn_score": 0.8},
    )


@contextlib.contextmanager
def arrived_at(moment: datetime) -> Iterator[None]:
    """Within it, the store takes what the processor stores as arriving at `moment` (the
    timeline writer's `datetime.now`, which also dates its figures), so a test's history is what
    the schedules would have seen then: the topic count lists a message stored after its own
    hour's last count under the hour it arrived (insight/topics.late_listing), and the figures
    book what belongs to a closed day at that hour (insight/counts.booked), so a backdated
    message alone is not history."""
    from chalicelib.store import timeline

    class Pinned(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Pinned:
            return cls.fromtimestamp(moment.timestamp(), tz)

    real = getattr(timeline, "datetime")  # noqa: B009 - the module's own name, replaced for a while
    setattr(timeline, "datetime", Pinned)  # noqa: B010
    try:
        yield
    finally:
        setattr(timeline, "datetime", real)  # noqa: B010
