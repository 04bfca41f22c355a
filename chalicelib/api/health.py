"""`GET /health`: 200 only when the app can do its job, i.e. read its secrets and reach its queue.

The local stack waits on this before replaying its demo; in AWS it is a cheap readiness probe.
Successful checks are remembered briefly so probes cannot turn into a stream of AWS calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalice.app import Blueprint, Response

from chalicelib.dependencies import interaction_queue, secret_store
from chalicelib.observability import logger

health = Blueprint(__name__)

HEALTHY_FOR_SECONDS = 30.0
_healthy_until = 0.0


@health.route("/health", methods=["GET"])
def health_check() -> Response:
    global _healthy_until
    if time.monotonic() < _healthy_until:
        return Response(body={"status": "ok"}, status_code=200)
    checks = {
        "secrets": _check(lambda: secret_store().get("meta_app_secret")),
        "queue": _check(lambda: interaction_queue().ping()),
    }
    if all(state == "ok" for state in checks.values()):
        _healthy_until = time.monotonic() + HEALTHY_FOR_SECONDS
        return Response(body={"status": "ok"}, status_code=200)
    return Response(body={"status": "unavailable", "checks": checks}, status_code=503)


def _check(probe: Callable[[], object]) -> str:
    try:
        probe()
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
        logger.warning("health check failed", extra={"error": type(exc).__name__})
        return "failed"
    return "ok"
