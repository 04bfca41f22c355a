"""socialcrm: Chalice wiring only. Routes and handlers live in chalicelib; nothing is decided here."""

from typing import Any

from chalice.app import Chalice, CloudWatchEvent, Rate, SQSEvent

from chalicelib.api.alerts import alerts
from chalicelib.api.audit import trail
from chalicelib.api.auth import access
from chalicelib.api.cases import cases
from chalicelib.api.customers import customers
from chalicelib.api.health import health_routes
from chalicelib.api.ops import ops
from chalicelib.api.replies import replies
from chalicelib.api.unread import kept
from chalicelib.api.webhooks import webhook_routes
from chalicelib.config import alerts_queue_name, ingest_queue_name, lake_queue_name, outbound_queue_name
from chalicelib.console import console
from chalicelib.insight.api import insights
from chalicelib.observability import publish_metrics

app = Chalice(app_name="socialcrm")
app.register_middleware(publish_metrics, "all")
app.register_blueprint(health_routes())
app.register_blueprint(access)
app.register_blueprint(webhook_routes())
app.register_blueprint(ops)
app.register_blueprint(cases)
app.register_blueprint(customers)
app.register_blueprint(replies)
app.register_blueprint(alerts)
app.register_blueprint(kept)
app.register_blueprint(trail)
app.register_blueprint(console)
app.register_blueprint(insights)


@app.on_sqs_message(
    queue=ingest_queue_name(),
    batch_size=1000,  # up to 1,000 texts a batch: Comprehend's batch APIs filled 25 at a time
    maximum_batching_window_in_seconds=10,
    maximum_concurrency=5,  # bounds the Comprehend calls per second at peaks (a quota, not a bill)
)
def process_interactions(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import processor

    return processor.handle(event.to_dict(), event.context)


@app.on_sqs_message(queue=alerts_queue_name(), batch_size=10, maximum_batching_window_in_seconds=1)
def notify_alerts(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import alerts as handlers

    return handlers.handle_alerts(event.to_dict(), event.context)


@app.on_sqs_message(queue=outbound_queue_name(), batch_size=10, maximum_batching_window_in_seconds=1)
def send_replies(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import sender

    return sender.handle(event.to_dict(), event.context)


@app.on_sqs_message(
    queue=lake_queue_name(),
    batch_size=100,  # every event on the bus: a hundred to a Firehose call, not one
    maximum_batching_window_in_seconds=30,
)
def archive_to_lake(event: SQSEvent) -> dict[str, Any]:
    from chalicelib.handlers import lake

    return lake.handle(event.to_dict(), event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def watch_slas(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import alerts as handlers

    return handlers.watch_slas(event.to_dict(), event.context)


@app.schedule(Rate(5, unit=Rate.MINUTES))
def watch_crises(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import alerts as handlers

    return handlers.watch_crises(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.HOURS))
def send_alert_digest(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import alerts as handlers

    return handlers.send_digest(event.to_dict(), event.context)


@app.schedule(Rate(15, unit=Rate.MINUTES))
def roll_up_figures(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import insight

    return insight.roll_up(event.to_dict(), event.context)


@app.schedule(Rate(1, unit=Rate.DAYS))
def assign_segments(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import insight

    return insight.assign_segments(event.to_dict(), event.context)


@app.schedule(Rate(7, unit=Rate.DAYS))
def send_weekly_summary(event: CloudWatchEvent) -> dict[str, Any]:
    from chalicelib.handlers import insight

    return insight.send_weekly_summary(event.to_dict(), event.context)
