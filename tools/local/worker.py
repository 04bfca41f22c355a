"""Runs the app's queue consumers and schedules locally, since `chalice local` serves HTTP only.

It reads what the Chalice app registered (`app.event_sources`) and invokes the very handler
functions Lambda would, with the event shapes Lambda builds: SQS batches up to the configured
batch size, honouring partial batch responses (`batchItemFailures`), and `rate(...)` schedules.
Messages a handler fails are left on the queue, so SQS redelivers them and, after the queue's
maxReceiveCount, moves them to the dead-letter queue, as in AWS.

Each queue is polled by its own process, as each Lambda instance is separate, and a consumer whose
function sets a maximum concurrency runs that many batches side by side (at most
$SOCIALCRM_LOCAL_CONCURRENCY, default 2): one batch is analysed while another is being written.
The schedules run in the worker's main process, which stops (for the stack to start it again)
when a poller dies.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger("local.worker")

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
# How long an idle receive waits for a message. A receive still open when its worker dies goes on
# in moto and takes the next message to nobody (invisible for the queue's visibility timeout), so
# a new worker starts only after this long: see Stack.start_worker.
LONG_POLL_SECONDS = 1
# Batches of one consumer run side by side, at most (and at most the function's maximum concurrency).
DEFAULT_CONCURRENCY = 2
# How often a batch that is not yet full looks for more messages while its window lasts.
WINDOW_POLL_SECONDS = 0.1


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object that handlers and powertools read."""

    function_name: str
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    deadline: float = field(default_factory=lambda: time.monotonic() + 60)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass
class SqsConsumer:
    name: str
    handler: Callable[[dict[str, Any], Any], Any]
    queue_url: str
    queue_arn: str
    batch_size: int
    window_seconds: int
    maximum_concurrency: int | None = None


@dataclass
class Schedule:
    name: str
    handler: Callable[[dict[str, Any], Any], Any]
    every_seconds: float
    next_run: float = 0.0


# Schedules that run sooner after start than their rate: the figures' rollup (every 15 minutes in
# AWS) runs a minute after `make run` starts, so the console's Insight page shows the demo at once.
FIRST_RUN_SECONDS = {"roll_up_figures": 60.0}


def load_app(module_name: str = "app") -> tuple[Any, Any]:
    module = importlib.import_module(module_name)
    return module, module.app


def discover(
    module: Any, app: Any, sqs: Any, schedule_scale: float = 1.0, max_window: int | None = None
) -> tuple[list[SqsConsumer], list[Schedule]]:
    from chalice.app import ScheduledEventConfig, SQSEventConfig

    consumers, schedules = [], []
    for source in app.event_sources:
        handler = getattr(module, source.handler_string.split(".", 1)[1])
        if isinstance(source, SQSEventConfig):
            queue_url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            consumers.append(
                SqsConsumer(
                    source.name,
                    handler,
                    queue_url,
                    arn,
                    source.batch_size,
                    source.maximum_batching_window_in_seconds
                    if max_window is None
                    else min(max_window, source.maximum_batching_window_in_seconds),
                    getattr(source, "maximum_concurrency", None),
                )
            )
        elif isinstance(source, ScheduledEventConfig):
            expression = source.schedule_expression  # a string, or Chalice's Rate / Cron
            text = expression.to_string() if hasattr(expression, "to_string") else str(expression)
            seconds = rate_seconds(text) * schedule_scale
            first = min(seconds, FIRST_RUN_SECONDS.get(source.name, seconds))
            schedules.append(Schedule(source.name, handler, seconds, time.monotonic() + first))
        else:
            log.warning("event source %s (%s) is not run locally", source.name, type(source).__name__)
    return consumers, schedules


def rate_seconds(expression: str) -> float:
    match = _RATE.fullmatch(expression)
    if not match:
        raise ValueError(f"only rate(...) schedules run locally, not {expression!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2).rstrip("s")]


def sqs_event(consumer: SqsConsumer, messages: list[dict[str, Any]], region: str) -> dict[str, Any]:
    """The event Lambda's SQS event source mapping delivers."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {}),
                "messageAttributes": message.get("MessageAttributes", {}),
                "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
                "eventSource": "aws:sqs",
                "eventSourceARN": consumer.queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


def poll_once(consumer: SqsConsumer, sqs: Any, region: str, wait_seconds: int = LONG_POLL_SECONDS) -> int:
    """Receive up to one batch, invoke the handler, delete what succeeded. Returns records handled.

    As Lambda's event source gathers a batch: from the first message, until the batch is full or
    the batching window has passed, whichever comes first (more messages arriving does not keep
    the batch open past the window)."""
    batch: dict[str, dict[str, Any]] = {}  # by MessageId: one record per message, as Lambda gives
    deadline = time.monotonic() + consumer.window_seconds
    while len(batch) < consumer.batch_size:
        response = sqs.receive_message(
            QueueUrl=consumer.queue_url,
            MaxNumberOfMessages=min(10, consumer.batch_size - len(batch)),
            WaitTimeSeconds=wait_seconds if not batch else 0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        received = response.get("Messages", [])
        new = [message for message in received if message["MessageId"] not in batch]
        batch.update((message["MessageId"], message) for message in received)
        left = deadline - time.monotonic()
        if not batch or (left <= 0 and (consumer.window_seconds or not new)):
            break
        if not new:  # nothing waiting yet: look again shortly, not in a tight loop against moto
            time.sleep(min(WINDOW_POLL_SECONDS, left))
    messages = list(batch.values())
    if not messages:
        return 0
    event = sqs_event(consumer, messages, region)
    try:
        result = consumer.handler(event, LambdaContext(function_name=consumer.name))
    except Exception:
        log.exception("%s failed a batch of %d; SQS will redeliver it", consumer.name, len(messages))
        return len(messages)
    failed = {item["itemIdentifier"] for item in (result or {}).get("batchItemFailures", [])}
    done = [message for message in messages if message["MessageId"] not in failed]
    for start in range(0, len(done), 10):
        sqs.delete_message_batch(
            QueueUrl=consumer.queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])
            ],
        )
    if failed:
        log.warning("%s: %d of %d records failed and will be retried", consumer.name, len(failed), len(messages))
    return len(messages)


def scheduled_event() -> dict[str, Any]:
    """What an EventBridge schedule hands its function."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "account": "123456789012",
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }


def run_due(schedules: list[Schedule]) -> None:
    now = time.monotonic()
    for schedule in schedules:
        if now >= schedule.next_run:
            schedule.next_run = now + schedule.every_seconds
            try:
                schedule.handler(scheduled_event(), LambdaContext(function_name=schedule.name))
            except Exception:
                log.exception("schedule %s failed", schedule.name)


def pollers(consumer: SqsConsumer, most: int) -> int:
    """How many batches of a consumer run at once: as many as its function's maximum concurrency
    allows (Lambda scales the others up to hundreds; locally one), at most `most`."""
    return max(1, min(consumer.maximum_concurrency or 1, most))


def _stop_on_signals() -> threading.Event:
    """Set by SIGTERM or SIGINT: the loop in hand finishes its round (a poller its batch) and ends."""
    stopping = threading.Event()

    def stop(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return stopping


def _poll_forever(consumer: SqsConsumer, region: str) -> None:
    """One poller, in a process of its own as each Lambda instance is: receives a batch, invokes
    the handler, deletes what succeeded; long-polls while the queue is empty. SIGTERM lets the
    batch in hand finish."""
    import boto3

    stopping = _stop_on_signals()
    sqs = boto3.client("sqs", region_name=region)  # its own: clients do not cross a fork
    while not stopping.is_set():
        try:
            poll_once(consumer, sqs, region)
        except Exception:  # moto restarting, a receive refused: the stack mends, this polls again
            log.exception("%s: polling failed", consumer.name)
            time.sleep(1)


def main() -> int:
    import multiprocessing
    import os

    import boto3

    from tools.local import logs

    logs.configure()
    stopping = _stop_on_signals()
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    sqs = boto3.client("sqs")
    module, app = load_app()
    scale = float(os.environ.get("SOCIALCRM_LOCAL_SCHEDULE_SCALE", "1"))
    # Locally nobody wants to wait ten seconds for a batch to fill: one second at most by default.
    window = int(os.environ.get("SOCIALCRM_LOCAL_BATCH_WINDOW", "1"))
    most = int(os.environ.get("SOCIALCRM_LOCAL_CONCURRENCY", str(DEFAULT_CONCURRENCY)))
    consumers, schedules = discover(module, app, sqs, scale, window)
    # Each queue is polled on its own, as Lambda's event sources poll, and a consumer whose function
    # allows it runs batches side by side: one batch's analysis uses the cores while another's
    # writes wait for DynamoDB. Processes, not threads: like Lambda instances they share nothing.
    # Forked once the app is imported (nothing in it has started a thread or opened a connection).
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_poll_forever, args=(consumer, region), name=f"{consumer.name}-{n}", daemon=True)
        for consumer in consumers
        for n in range(pollers(consumer, most))
    ]
    for process in workers:
        process.start()
    log.info(
        "worker running %d queue consumer(s) %s in %d poller(s) and %d schedule(s) %s",
        len(consumers),
        [c.name for c in consumers],
        len(workers),
        len(schedules),
        [s.name for s in schedules],
    )
    ready_file = os.environ.get("SOCIALCRM_WORKER_READY_FILE")
    if ready_file:
        Path(ready_file).write_text(str(os.getpid()))
    code = 0
    while not stopping.is_set():
        run_due(schedules)
        dead = [process.name for process in workers if not process.is_alive()]
        if dead:  # the stack starts the worker again, every poller with it
            log.error("poller %s died; the worker stops", dead[0])
            code = 1
            break
        time.sleep(0.2)
    for process in workers:
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGTERM)
    for process in workers:
        process.join(timeout=30)
    return code


if __name__ == "__main__":
    sys.exit(main())
