"""The webhook secrets document: which keys it has, reading it from a file, storing it.

`make run` stores it in moto with `store`; `make deploy` hands it to the stack (which owns the
secret) or stores it in an existing entry; either way at the name the deployed functions read
through `SOCIALCRM_SECRETS_ID`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Generic, NamedTuple, TypeVar

# Required: each a non-empty string.
KEYS = (
    "meta_app_secret",
    "meta_verify_token",
    "x_consumer_secret",
    "telegram_secret_token",
    "trustpilot_token",
)

# Optional strings: `generic_secret`, the generic webhook's shared secret (sources without one of
# their own in `generic_secrets` use it; without either, a source cannot post); `chat_webhook_url`,
# an https:// incoming-webhook URL (Slack, Teams, Google Chat...) that urgent alerts are posted to;
# `ops_api_token`, the shared ops token, which only the local stack accepts (SOCIALCRM_OPS_TOKEN_ROLE);
# `telegram_bot_token`, the bot's token replies are sent with (`sendMessage`); `search_key`, the key of
# the keyed hashes customer search matches through (without it nothing is indexed and search answers
# 503; changing it leaves what was indexed unfindable until the customer writes again); `lake_key`,
# the stage's key of the data lake's pseudonyms (at least 16 characters; without it the lake's
# events wait on its queue, then its dead-letter queue; changing it starts new references, so rows
# before and after no longer join).
OPTIONAL_KEYS = ("generic_secret", "chat_webhook_url", "ops_api_token", "telegram_bot_token", "search_key", "lake_key")
URL_KEYS = ("chat_webhook_url",)
# Optional maps of name -> non-empty string: `generic_secrets` by generic source; `meta_page_tokens`
# by Facebook Page or Instagram account id, the page access token the Graph API is asked with (to
# fetch what a mention's webhook leaves out, and to send replies); `whatsapp_tokens` by WhatsApp
# phone number id, the Cloud API token replies from that number are sent with.
MAP_KEYS = ("generic_secrets", "meta_page_tokens", "whatsapp_tokens")
# Optional maps of name -> object, with the object's required and optional string fields: the
# credentials replies are sent with, by the channel account they answer from. A platform nobody
# answers on needs none of them.
# - `x_user_credentials` by X user id: the OAuth 1.0a user context (the app's consumer key and
#   secret, the account's access token and secret) for DMs and reply tweets;
# - `trustpilot_clients` by business unit id: the API client whose client-credentials token the
#   review replies are posted with, and the business user they are posted as;
# - `generic_outbound` by generic source: where replies to that source's customers are posted, and
#   the secret they are signed with (required: the sender cannot read the webhook secret, which
#   holds the sources' inbound secrets).
OBJECT_MAP_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "x_user_credentials": (("consumer_key", "consumer_secret", "access_token", "access_token_secret"), ()),
    "trustpilot_clients": (("client_id", "client_secret", "business_user_id"), ()),
    "generic_outbound": (("url", "secret"), ()),
}
# The fields of those objects that are secrets (checked before a deploy like every other secret);
# the rest name things (ids, an address) and are not.
SECRET_FIELDS = frozenset({"consumer_secret", "access_token", "access_token_secret", "client_secret", "secret"})
# An outbound URL must be https://, except to this machine (the local stack's platform sandbox).
_LOCAL_HTTP = ("http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/")

# Local stack only: the console's users, {"<e-mail>": {"password": ..., "role": agent|supervisor|admin}},
# created in the local Cognito pool by `make run`; never part of a deployed secret.
LOCAL_KEYS = ("console_users",)
ROLES = ("agent", "supervisor", "admin")

# The document as the file holds it: strings, and maps of strings.
Secrets = dict[str, Any]
T = TypeVar("T")

DEV_SECRETS_PATH = Path(__file__).resolve().parent.parent / "events" / "dev-secrets.json"


class SecretsFileError(ValueError):
    pass


# The keys the public webhook function may read, kept in a secret of their own (its role can read
# that one only); everything else (the ops token, page tokens, the chat webhook) in the app secret.
WEBHOOK_KEYS = (
    "meta_app_secret",
    "meta_verify_token",
    "x_consumer_secret",
    "telegram_secret_token",
    "trustpilot_token",
    "generic_secret",
    "generic_secrets",
)


# The keys of socialcrm's keyed hashes, kept in a secret of their own: the ops API (search) and the
# lake's archiver need them and must not read the app secret's page tokens for them.
HASH_KEYS = ("search_key", "lake_key")


class Slots(NamedTuple, Generic[T]):
    """Something for each of the stack's three secrets, each read only by the roles that need it."""

    app: T
    webhook: T
    keys: T


def default_name(stage: str) -> str:
    return f"socialcrm/{stage}/app"


def webhook_name(stage: str) -> str:
    return f"socialcrm/{stage}/webhooks"


def keys_name(stage: str) -> str:
    return f"socialcrm/{stage}/keys"


def names(stage: str) -> Slots[str]:
    """The stage's three secrets' names in Secrets Manager."""
    return Slots(app=default_name(stage), webhook=webhook_name(stage), keys=keys_name(stage))


def split(values: Secrets) -> Slots[Secrets]:
    """The app's, the webhook function's and the hash keys' documents of one secrets file."""
    deployed = deployable(values)
    return Slots(
        app={key: value for key, value in deployed.items() if key not in WEBHOOK_KEYS + HASH_KEYS},
        webhook={key: value for key, value in deployed.items() if key in WEBHOOK_KEYS},
        keys={key: value for key, value in deployed.items() if key in HASH_KEYS},
    )


def load_file(path: Path) -> Secrets:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SecretsFileError(f"cannot read secrets file {path}: {exc}") from None
    if not isinstance(document, dict):
        raise SecretsFileError(f"{path}: expected a JSON object with keys {', '.join(KEYS)}")
    return validate(document, str(path))


def validate(document: dict[str, Any], where: str) -> Secrets:
    """The document's known keys, checked; raises SecretsFileError naming the key at fault."""
    missing = [key for key in KEYS if not _text(document.get(key))]
    if missing:
        raise SecretsFileError(f"{where}: missing or empty: {', '.join(missing)}")
    values: Secrets = {key: document[key] for key in KEYS}
    for key in OPTIONAL_KEYS:
        if document.get(key) is None:
            continue
        if not _text(document[key]):
            raise SecretsFileError(f"{where}: {key} must be a non-empty string")
        if key in URL_KEYS and not document[key].startswith("https://"):
            raise SecretsFileError(f"{where}: {key} must be an https:// URL")
        values[key] = document[key]
    for key in MAP_KEYS:
        entries = document.get(key)
        if entries is None:
            continue
        if not isinstance(entries, dict) or not all(_text(name) and _text(v) for name, v in entries.items()):
            raise SecretsFileError(f"{where}: {key} must map names to non-empty strings")
        values[key] = dict(entries)
    for key, (required, optional) in OBJECT_MAP_KEYS.items():
        entries = document.get(key)
        if entries is None:
            continue
        values[key] = _object_map(entries, key, required, optional, where)
    users = document.get("console_users")
    if users is not None:
        valid = isinstance(users, dict) and all(
            _text(email) and isinstance(user, dict) and _text(user.get("password")) and user.get("role") in ROLES
            for email, user in users.items()
        )
        if not valid:
            raise SecretsFileError(
                f'{where}: console_users must map e-mails to {{"password": ..., "role": {"|".join(ROLES)}}}'
            )
        values["console_users"] = {email: dict(user) for email, user in users.items()}
    return values


def deployable(values: Secrets) -> Secrets:
    """The document as a deployed stack stores it: without what only the local stack uses."""
    return {key: value for key, value in values.items() if key not in LOCAL_KEYS}


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _object_map(
    entries: Any, key: str, required: tuple[str, ...], optional: tuple[str, ...], where: str
) -> dict[str, dict[str, str]]:
    """A map of name -> object with these string fields, checked (unknown fields are refused: a
    misspelt `acess_token` would otherwise go unnoticed until the first reply fails)."""
    shape = ", ".join([*required, *(f"{name}?" for name in optional)])
    if not isinstance(entries, dict):
        raise SecretsFileError(f"{where}: {key} must map names to {{{shape}}}")
    checked: dict[str, dict[str, str]] = {}
    for name, entry in entries.items():
        fields = set(required) | set(optional)
        valid = (
            _text(name)
            and isinstance(entry, dict)
            and all(_text(entry.get(field)) for field in required)
            and all(field in fields and _text(value) for field, value in entry.items())
        )
        if not valid:
            raise SecretsFileError(f"{where}: {key}.{name} must be {{{shape}}}, each a non-empty string")
        url = entry.get("url")
        if url is not None and not url.startswith(("https://", *_LOCAL_HTTP)):
            raise SecretsFileError(f"{where}: {key}.{name}.url must be an https:// URL")
        checked[name] = dict(entry)
    return checked


def serialise(values: Secrets) -> str:
    """The secret's value, as stored directly or handed to the stack's SecretsValue parameter."""
    return json.dumps(values, separators=(",", ":"))


def store(secretsmanager: Any, name: str, values: Secrets) -> str:
    """Create the secret or add a new version; returns its ARN."""
    body = serialise(values)
    try:
        response = secretsmanager.create_secret(Name=name, SecretString=body, Description="socialcrm webhook secrets")
    except secretsmanager.exceptions.ResourceExistsException:
        response = secretsmanager.put_secret_value(SecretId=name, SecretString=body)
    return str(response["ARN"])


# Words a generated secret never holds, but placeholders and copied examples do.
_PLACEHOLDERS = ("dev-only", "changeme", "change-me", "example", "password", "secret", "test", "dummy", "xxxx")
MIN_LENGTH = 24
MIN_DISTINCT = 10


def weak_keys(values: Secrets, known: Secrets, strict: bool = True) -> list[str]:
    """The keys (`name.entry` for maps) whose values must not guard a deployed stage: a value the
    repository's dev file holds (anyone can read it: never, in any deployed stage), and with
    `strict`, a placeholder, or a value too short or too plain to be random."""
    known_values = set(_flat(known).values())
    weak = []
    for key, value in _flat(deployable(values)).items():
        if key == "chat_webhook_url":
            continue  # an address, not a secret we choose
        lowered = value.lower()
        if value in known_values or (
            strict
            and (
                any(word in lowered for word in _PLACEHOLDERS)
                or len(value) < MIN_LENGTH
                or len(set(value)) < MIN_DISTINCT
            )
        ):
            weak.append(key)
    return weak


def _flat(values: Secrets) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in values.items():
        if isinstance(value, str):
            flat[key] = value
        elif isinstance(value, dict) and key in MAP_KEYS:
            flat.update({f"{key}.{name}": str(entry) for name, entry in value.items()})
        elif isinstance(value, dict) and key in OBJECT_MAP_KEYS:
            flat.update(
                {
                    f"{key}.{name}.{field}": str(secret)
                    for name, entry in value.items()
                    for field, secret in entry.items()
                    if field in SECRET_FIELDS
                }
            )
    return flat
