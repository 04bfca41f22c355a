"""Where the app's adapters are built, once per container and only when first needed.

Routes ask for `secret_store()` or `interaction_queue()` here instead of building clients
themselves, so tests swap the environment and call `reset()` rather than patching modules.
"""

from __future__ import annotations

from functools import cache

from chalicelib.adapters.aws import reset_clients
from chalicelib.adapters.queue import InteractionQueue
from chalicelib.adapters.secrets import SecretStore
from chalicelib.config import settings
from chalicelib.services.readiness import Readiness


@cache
def secret_store() -> SecretStore:
    config = settings()
    return SecretStore(config.secrets_id, config.secrets_max_age)


@cache
def interaction_queue() -> InteractionQueue:
    return InteractionQueue(settings().ingest_queue_url)


@cache
def readiness() -> Readiness:
    return Readiness(
        {
            "secrets": lambda: secret_store().get("meta_app_secret"),
            "queue": lambda: interaction_queue().ping(),
        }
    )


def reset() -> None:
    for cached in (settings, secret_store, interaction_queue, readiness):
        cached.cache_clear()
    reset_clients()
