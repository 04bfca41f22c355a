"""Settings read from the environment once per container.

`.chalice/config.json` sets the static values per stage; the deploy merges in resource
identifiers (queue URL, table names, secret id) from CloudFormation, and the local stack sets the
same variables from the stack it provisions in moto, so code never guesses a name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

from chalicelib.models.access import Role

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_SECRETS_MAX_AGE = 300
DEFAULT_ROUTING_MAX_AGE = 300
# Meta's Graph API; tests and the local stack point SOCIALCRM_GRAPH_URL at a server of their own.
DEFAULT_GRAPH_URL = "https://graph.facebook.com/v21.0"
# The other platforms' send APIs; tests and the local stack point them at the platform sandbox.
DEFAULT_TELEGRAM_URL = "https://api.telegram.org"
DEFAULT_X_URL = "https://api.x.com"
DEFAULT_TRUSTPILOT_URL = "https://api.trustpilot.com"
DEFAULT_RETENTION_DAYS = 365
DEFAULT_AUDIT_RETENTION_DAYS = 1825
# WhatsApp redelivers for up to 7 days: remember processed interactions a day longer.
DEFAULT_DEDUPE_DAYS = 8
NLP_ENGINES = ("comprehend", "hybrid", "local")
CONSOLE_SIGNIN = ("password", "managed")
DEFAULT_CONSOLE_SESSION_HOURS = 12  # a working day; the role is checked again every few minutes


class ConfigError(RuntimeError):
    """A required setting is missing or unusable; raised at first use, naming the variable."""


@dataclass(frozen=True)
class Settings:
    stage: str
    ingest_queue_url: str
    secrets_id: str
    webhook_secrets_id: str = ""
    keys_secrets_id: str = ""
    table: str = ""
    idempotency_table: str = ""
    event_bus: str = ""
    routing_parameter: str = ""
    segments_parameter: str = ""  # the segments document's SSM override (insight/segments.py)
    routing_max_age: int = DEFAULT_ROUTING_MAX_AGE
    ingest_dlq_url: str = ""
    alerts_queue_url: str = ""
    urgent_topic: str = ""
    alerts_topic: str = ""
    digest_topic: str = ""
    summary_topic: str = ""  # the weekly summary's SNS topic: the supervisors' address
    lake_stream: str = ""  # the data lake's Firehose delivery stream (chalicelib/lake); empty: no lake
    unread_bucket: str = ""
    graph_url: str = DEFAULT_GRAPH_URL
    telegram_url: str = DEFAULT_TELEGRAM_URL
    x_url: str = DEFAULT_X_URL
    trustpilot_url: str = DEFAULT_TRUSTPILOT_URL
    outbound_queue_url: str = ""
    # Pages (and Instagram accounts) whose app has Meta's Human Agent permission: only there may a
    # person's reply go with the HUMAN_AGENT tag between 24 hours and 7 days.
    human_agent_accounts: frozenset[str] = frozenset()
    echo_alerts: bool = False
    nlp: str = "comprehend"
    redact_pii: bool = True
    retention_days: int = DEFAULT_RETENTION_DAYS
    dedupe_days: int = DEFAULT_DEDUPE_DAYS
    local_languages: tuple[str, ...] = ("en", "pt", "es", "it", "cs", "pl", "de", "fr")
    cognito_user_pool_id: str = ""
    ops_token_role: Role | None = None
    # Export and erasure need a second factor: an admin without MFA acts as a supervisor.
    admin_mfa: bool = True
    audit_retention_days: int = DEFAULT_AUDIT_RETENTION_DAYS
    cognito_client_ids: tuple[str, ...] = ()
    secrets_max_age: int = DEFAULT_SECRETS_MAX_AGE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    # The console's sign-in: `password` (the local stack: e-mail and password against the pool) or
    # `managed` (deployed: Cognito managed login, authorization code + PKCE).
    console_signin: str = "password"
    cognito_domain: str = ""  # managed login's base URL, https://<prefix>.auth.<region>.amazoncognito.com
    console_client_id: str = ""  # the app client the console signs in with
    console_url: str = ""  # the console's own base URL (redirect_uri); empty: from the request's host
    console_session_hours: int = DEFAULT_CONSOLE_SESSION_HOURS
    # What social care is worth (insight/report.py Assumptions): each case resolved on social is
    # taken to replace this many e-mails or calls, each costing cost_per_contact (None: not set).
    contacts_avoided_per_resolution: float = 1.0
    cost_per_contact: float | None = None
    cost_currency: str = "USD"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        source = dict(os.environ) if env is None else env
        nlp = source.get("SOCIALCRM_NLP", "comprehend").strip() or "comprehend"
        if nlp not in NLP_ENGINES:
            raise ConfigError(
                f"environment variable SOCIALCRM_NLP must be one of {', '.join(NLP_ENGINES)}, got {nlp!r}"
            )
        return cls(
            stage=source.get("SOCIALCRM_STAGE", "dev"),
            ingest_queue_url=_required(source, "SOCIALCRM_INGEST_QUEUE_URL"),
            secrets_id=_required(source, "SOCIALCRM_SECRETS_ID"),
            webhook_secrets_id=source.get("SOCIALCRM_WEBHOOK_SECRETS_ID", "").strip(),
            keys_secrets_id=source.get("SOCIALCRM_KEYS_SECRETS_ID", "").strip(),
            table=source.get("SOCIALCRM_TABLE", "").strip(),
            idempotency_table=source.get("SOCIALCRM_IDEMPOTENCY_TABLE", "").strip(),
            event_bus=source.get("SOCIALCRM_EVENT_BUS", "").strip(),
            routing_parameter=source.get("SOCIALCRM_ROUTING_PARAMETER", "").strip(),
            segments_parameter=source.get("SOCIALCRM_SEGMENTS_PARAMETER", "").strip(),
            routing_max_age=_integer(source, "SOCIALCRM_ROUTING_MAX_AGE", DEFAULT_ROUTING_MAX_AGE),
            ingest_dlq_url=source.get("SOCIALCRM_INGEST_DLQ_URL", "").strip(),
            alerts_queue_url=source.get("SOCIALCRM_ALERTS_QUEUE_URL", "").strip(),
            urgent_topic=source.get("SOCIALCRM_URGENT_TOPIC", "").strip(),
            alerts_topic=source.get("SOCIALCRM_ALERTS_TOPIC", "").strip(),
            digest_topic=source.get("SOCIALCRM_DIGEST_TOPIC", "").strip(),
            summary_topic=source.get("SOCIALCRM_SUMMARY_TOPIC", "").strip(),
            lake_stream=source.get("SOCIALCRM_LAKE_STREAM", "").strip(),
            unread_bucket=source.get("SOCIALCRM_UNREAD_BUCKET", "").strip(),
            graph_url=source.get("SOCIALCRM_GRAPH_URL", "").strip() or DEFAULT_GRAPH_URL,
            telegram_url=source.get("SOCIALCRM_TELEGRAM_URL", "").strip() or DEFAULT_TELEGRAM_URL,
            x_url=source.get("SOCIALCRM_X_URL", "").strip() or DEFAULT_X_URL,
            trustpilot_url=source.get("SOCIALCRM_TRUSTPILOT_URL", "").strip() or DEFAULT_TRUSTPILOT_URL,
            outbound_queue_url=source.get("SOCIALCRM_OUTBOUND_QUEUE_URL", "").strip(),
            human_agent_accounts=frozenset(
                account
                for account in source.get("SOCIALCRM_HUMAN_AGENT_ACCOUNTS", "").replace(" ", "").split(",")
                if account
            ),
            echo_alerts=_boolean(source, "SOCIALCRM_ECHO_ALERTS", False),
            nlp=nlp,
            redact_pii=_boolean(source, "SOCIALCRM_REDACT_PII", True),
            retention_days=_integer(source, "SOCIALCRM_RETENTION_DAYS", DEFAULT_RETENTION_DAYS),
            dedupe_days=_integer(source, "SOCIALCRM_DEDUPE_DAYS", DEFAULT_DEDUPE_DAYS),
            local_languages=tuple(
                code.strip() for code in source.get("SOCIALCRM_LOCAL_LANGUAGES", "en,pt,es,it,cs,pl,de,fr").split(",")
            ),
            cognito_user_pool_id=source.get("SOCIALCRM_COGNITO_USER_POOL_ID", "").strip(),
            ops_token_role=_ops_token_role(source),
            admin_mfa=_boolean(source, "SOCIALCRM_ADMIN_MFA", True),
            audit_retention_days=_integer(source, "SOCIALCRM_AUDIT_RETENTION_DAYS", DEFAULT_AUDIT_RETENTION_DAYS),
            cognito_client_ids=tuple(
                client
                for client in source.get("SOCIALCRM_COGNITO_CLIENT_IDS", "").replace(" ", "").split(",")
                if client
            ),
            secrets_max_age=_integer(source, "SOCIALCRM_SECRETS_MAX_AGE", DEFAULT_SECRETS_MAX_AGE),
            max_body_bytes=_integer(source, "SOCIALCRM_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
            console_signin=_console_signin(source),
            cognito_domain=source.get("SOCIALCRM_COGNITO_DOMAIN", "").strip().rstrip("/"),
            console_client_id=source.get("SOCIALCRM_CONSOLE_CLIENT_ID", "").strip(),
            console_url=source.get("SOCIALCRM_CONSOLE_URL", "").strip().rstrip("/"),
            console_session_hours=_integer(source, "SOCIALCRM_CONSOLE_SESSION_HOURS", DEFAULT_CONSOLE_SESSION_HOURS),
            contacts_avoided_per_resolution=_number(source, "SOCIALCRM_CONTACTS_AVOIDED_PER_RESOLUTION") or 1.0,
            cost_per_contact=_number(source, "SOCIALCRM_COST_PER_CONTACT"),
            cost_currency=source.get("SOCIALCRM_COST_CURRENCY", "").strip() or "USD",
        )

    def require(self, name: str) -> str:
        """A setting only some functions need (the webhook route has no table)."""
        value = str(getattr(self, name))
        if not value:
            raise ConfigError(f"environment variable SOCIALCRM_{name.upper()} is not set")
        return value


@cache
def settings() -> Settings:
    return Settings.from_env()


def ingest_queue_name() -> str:
    """Read at import by app.py: Chalice needs the queue's name to wire the consumer."""
    return os.environ.get("SOCIALCRM_INGEST_QUEUE_NAME", "socialcrm-dev-ingest")


def alerts_queue_name() -> str:
    """Read at import by app.py, like the ingest queue's name."""
    return os.environ.get("SOCIALCRM_ALERTS_QUEUE_NAME", "socialcrm-dev-alerts")


def lake_queue_name() -> str:
    """Read at import by app.py: the queue the lake's rule fills with every event on the bus."""
    return os.environ.get("SOCIALCRM_LAKE_QUEUE_NAME", "socialcrm-dev-lake")


def outbound_queue_name() -> str:
    """Read at import by app.py: the replies' queue, consumed by the sender."""
    return os.environ.get("SOCIALCRM_OUTBOUND_QUEUE_NAME", "socialcrm-dev-outbound")


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value


def _console_signin(env: dict[str, str]) -> str:
    value = env.get("SOCIALCRM_CONSOLE_SIGNIN", "password").strip() or "password"
    if value not in CONSOLE_SIGNIN:
        raise ConfigError(f"environment variable SOCIALCRM_CONSOLE_SIGNIN must be one of {', '.join(CONSOLE_SIGNIN)}")
    return value


def _ops_token_role(env: dict[str, str]) -> Role | None:
    """SOCIALCRM_OPS_TOKEN_ROLE: unset or empty, the shared token is refused (every deployed stage
    by default); `agent` or `supervisor` enables it with that role; never `admin`."""
    raw = env.get("SOCIALCRM_OPS_TOKEN_ROLE", "").strip()
    if not raw:
        return None
    role = Role.named(raw)
    if role is None or role is Role.ADMIN:
        raise ConfigError(f"environment variable SOCIALCRM_OPS_TOKEN_ROLE must be agent or supervisor, got {raw!r}")
    return role


def _integer(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer, got {raw!r}") from None
    if value < 0:
        raise ConfigError(f"environment variable {name} must not be negative")
    return value


def _number(env: dict[str, str], name: str) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {raw!r}") from None
    if value < 0 or value != value:
        raise ConfigError(f"{name} must be zero or more")
    return value


def _boolean(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"environment variable {name} must be true or false, got {raw!r}")
