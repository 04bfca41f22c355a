"""Settings read from the environment once per container.

`.chalice/config.json` sets the static values per stage; the deploy merges in resource
identifiers (queue URL, secret id) from CloudFormation, and the local stack sets the same
variables from the stack it provisions in moto, so code never guesses a name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache

DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024
DEFAULT_SECRETS_MAX_AGE = 300


class ConfigError(RuntimeError):
    """A required setting is missing or unusable; raised at first use, naming the variable."""


@dataclass(frozen=True)
class Settings:
    stage: str
    ingest_queue_url: str
    secrets_id: str
    secrets_max_age: int = DEFAULT_SECRETS_MAX_AGE
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        source = dict(os.environ) if env is None else env
        return cls(
            stage=source.get("SOCIALCRM_STAGE", "dev"),
            ingest_queue_url=_required(source, "SOCIALCRM_INGEST_QUEUE_URL"),
            secrets_id=_required(source, "SOCIALCRM_SECRETS_ID"),
            secrets_max_age=_integer(source, "SOCIALCRM_SECRETS_MAX_AGE", DEFAULT_SECRETS_MAX_AGE),
            max_body_bytes=_integer(source, "SOCIALCRM_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        )


@cache
def settings() -> Settings:
    return Settings.from_env()


def _required(env: dict[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"environment variable {name} is not set")
    return value


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
