"""The platform sandbox: a stand-in for the platforms' send APIs, as the local stack's moto stands in
for AWS.

It answers socialcrm's senders at the platforms' documented endpoints (Graph API for Messenger,
Instagram, comments and WhatsApp; Telegram's sendMessage; X's DMs and tweets; Trustpilot's token and
review replies; the generic outbound URL) with their documented bodies and errors, checks the tokens
against the stack's secrets document, records every call (`GET /messages`, `GET /` as a page),
fails on demand (`POST /faults`), and sends back, signed, the echoes and statuses the platforms
would. `make run` starts it on 127.0.0.1:$SOCIALCRM_SANDBOX_PORT (default 8025) and gives the
functions `environment(port)`, so every reply the local stack sends lands here.

Modules: app.py (the endpoints, no HTTP), server.py (HTTP), callbacks.py (echoes, statuses and the
thread that posts them), errors.py (each platform's error bodies), xauth.py (X's OAuth 1.0a and
weighted length), page.py (the page). Standard library only, beside socialcrm's own signing.
"""

from __future__ import annotations

DEFAULT_PORT = 8025
GRAPH_VERSION = "v21.0"


def environment(port: int, host: str = "127.0.0.1") -> dict[str, str]:
    """The base URLs the senders call, pointed at a sandbox on host:port."""
    base = f"http://{host}:{port}"
    return {
        "SOCIALCRM_GRAPH_URL": f"{base}/graph/{GRAPH_VERSION}",
        "SOCIALCRM_TELEGRAM_URL": f"{base}/telegram",
        "SOCIALCRM_X_URL": f"{base}/x",
        "SOCIALCRM_TRUSTPILOT_URL": f"{base}/trustpilot",
    }
