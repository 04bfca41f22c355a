"""The webhook secrets document: which keys it has, reading it from a file, storing it.

`make run` stores it in moto with `store`; `make deploy` hands it to the stack (which owns the
secret) or stores it in an existing entry; either way at the name the deployed functions read
through `SOCIALCRM_SECRETS_ID`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

KEYS = (
    "meta_app_secret",
    "meta_verify_token",
    "x_consumer_secret",
    "telegram_secret_token",
    "trustpilot_token",
    "generic_secret",
    "ops_api_token",
)

# Optional: an incoming-webhook URL (Slack, Teams, Google Chat...) that urgent alerts are posted to.
OPTIONAL_KEYS = ("chat_webhook_url",)

DEV_SECRETS_PATH = Path(__file__).resolve().parent.parent / "events" / "dev-secrets.json"


class SecretsFileError(ValueError):
    pass


def default_name(stage: str) -> str:
    return f"socialcrm/{stage}/app"


def load_file(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SecretsFileError(f"cannot read secrets file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise SecretsFileError(f"{path}: expected a JSON object with keys {', '.join(KEYS)}")
    missing = [key for key in KEYS if not isinstance(document.get(key), str) or not document[key]]
    if missing:
        raise SecretsFileError(f"{path}: missing or empty: {', '.join(missing)}")
    optional = {key: document[key] for key in OPTIONAL_KEYS if isinstance(document.get(key), str) and document[key]}
    for key, value in optional.items():
        if not value.startswith("https://"):
            raise SecretsFileError(f"{path}: {key} must be an https:// URL")
    return {**{key: document[key] for key in KEYS}, **optional}


def serialise(values: dict[str, str]) -> str:
    """The secret's value, as stored directly or handed to the stack's SecretsValue parameter."""
    return json.dumps(values, separators=(",", ":"))


def store(secretsmanager: Any, name: str, values: dict[str, str]) -> str:
    """Create the secret or add a new version; returns its ARN."""
    body = serialise(values)
    try:
        response = secretsmanager.create_secret(Name=name, SecretString=body, Description="socialcrm webhook secrets")
    except secretsmanager.exceptions.ResourceExistsException:
        response = secretsmanager.put_secret_value(SecretId=name, SecretString=body)
    return str(response["ARN"])
