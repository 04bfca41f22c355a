"""`GET /health`: 200 only when the app can read its secrets and reach its queue.

The local stack starts the API last and waits on this before replaying its demo; in AWS it is a
cheap readiness probe (no authentication; the body says nothing beyond ok / which check failed).
"""

from __future__ import annotations

from chalice.app import Blueprint, Response

from chalicelib.dependencies import readiness


def health_routes() -> Blueprint:
    """`/health`, as a blueprint of its own for each app that serves it (see api/webhooks.py)."""
    routes = Blueprint(__name__)

    @routes.route("/health", methods=["GET"])
    def health_check() -> Response:
        checks = readiness().check()
        if all(state == "ok" for state in checks.values()):
            return Response(body={"status": "ok"}, status_code=200)
        return Response(body={"status": "unavailable", "checks": checks}, status_code=503)

    return routes
