"""socialcrm: Chalice wiring only. Routes and handlers live in chalicelib; nothing is decided here."""

from chalice.app import Chalice

from chalicelib.api.health import health
from chalicelib.api.webhooks import webhooks

app = Chalice(app_name="socialcrm")
app.register_blueprint(health)
app.register_blueprint(webhooks)
