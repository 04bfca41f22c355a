"""One structured logger and one set of metrics for the whole app. Log counts, ids and reasons;
never message text, names, handles or phone numbers (a WhatsApp user id is a phone number).

Metrics are counters published as CloudWatch embedded metric format (one JSON line in the log at
the end of each invocation, which CloudWatch turns into metrics: no API call, no extra latency),
under the namespace `POWERTOOLS_METRICS_NAMESPACE` (`socialcrm/<stage>`) with the one dimension
`service`, so the stack's alarms can watch them. Which channel or outcome a count is about goes in
the log lines, not in dimensions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "socialcrm"

# What Chalice answers for an exception a route did not handle; the app's own errors are 4xx or 503.
UNHANDLED_STATUS = 500

logger = Logger(service=SERVICE)
# Each stage sets its namespace (.chalice/config.json); code run outside a stage counts under "local".
metrics = Metrics(service=SERVICE, namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "socialcrm/local")


def count(name: str, value: int = 1) -> None:
    """Add to a counter of this invocation."""
    if value:
        try:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
        except Exception as exc:  # counting must never cost a response
            logger.warning("metric not counted", extra={"metric": name, "error": type(exc).__name__})


def count_by(name: str, dimensions: dict[str, str], value: int = 1) -> None:
    """A counter broken down by `dimensions` (which channel, which reason), published at once as
    its own EMF line beside the invocation's `service`-only counters, which the alarms watch. Only
    for rare events: each combination of dimension values is a CloudWatch metric of its own."""
    if not value or os.environ.get("POWERTOOLS_METRICS_DISABLED", "").lower() in ("1", "true"):
        return
    try:
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=value,
            namespace=metrics.namespace,
            default_dimensions={"service": SERVICE},
        ) as metric:
            for key, dimension in dimensions.items():
                metric.add_dimension(name=key, value=dimension)
    except Exception as exc:  # counting must never cost a response
        logger.warning("metric not counted", extra={"metric": name, "error": type(exc).__name__})


def publish_metrics(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Chalice middleware for every handler: publish what the invocation counted, whatever its
    outcome (a 401 is worth counting most of all). A failure no code answered for (a bug) counts as
    `UnhandledErrors`: for a route Chalice has already turned it into a 500 (the app answers no
    500 of its own), for a queue or schedule handler it is the exception Lambda will fail on."""
    try:
        response = get_response(event)
    except Exception as exc:
        count("UnhandledErrors")
        logger.error("unhandled error", extra={"error": type(exc).__name__})
        _flush()
        raise
    if getattr(response, "status_code", None) == UNHANDLED_STATUS:
        count("UnhandledErrors")
    _flush()
    return response


def _flush() -> None:
    if metrics.metric_set:
        try:
            metrics.flush_metrics()
        except Exception as exc:  # counting must never cost a response
            logger.warning("metrics not published", extra={"error": type(exc).__name__})
        metrics.clear_metrics()  # kept by the flush when POWERTOOLS_METRICS_DISABLED is set
