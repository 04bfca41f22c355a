"""The public webhook routes as an app of their own, for their own Lambda function.

Chalice gives every route of one app one function; the webhook routes are open to the internet and
should be able to do nothing but verify, queue and keep unread deliveries, so `make deploy` wires
them to a second function (`WebhookIngress`, tools/deploy.py) whose handler is this app, under a
role of its own. It imports only what the webhook path needs: none of the ops routes' code is on
its cold start. Locally, app.py serves these routes and every other one on one port.
"""

from __future__ import annotations

from chalice.app import Chalice

from chalicelib.api.health import health_routes
from chalicelib.api.webhooks import webhook_routes
from chalicelib.observability import publish_metrics

app = Chalice(app_name="socialcrm-ingress")
app.register_middleware(publish_metrics, "all")
app.register_blueprint(health_routes())
app.register_blueprint(webhook_routes())
