"""boto3 clients, created on first use and shared per container.

Creating clients lazily keeps `import boto3` and endpoint resolution off the cold start of
routes that never reach AWS. botocore's own retry modes do the retrying; each profile fits the
caller's patience.
"""

from __future__ import annotations

from functools import cache
from typing import Any

WEBHOOK_PROFILE = "webhook"
WORKER_PROFILE = "worker"

# Webhook callers give up after 3 s (X) to 5 s (Messenger): two short attempts, then a 503 they
# will redeliver on, rather than an answer that arrives after they stopped listening. Queue
# consumers have minutes: adaptive mode slows down under throttling (Comprehend's batch APIs allow
# about 10 calls a second) instead of failing, and what still fails goes back to the queue.
_PROFILES: dict[str, dict[str, Any]] = {
    WEBHOOK_PROFILE: {"retries": {"mode": "standard", "max_attempts": 2}, "connect_timeout": 1, "read_timeout": 2},
    WORKER_PROFILE: {
        "retries": {"mode": "adaptive", "max_attempts": 6},
        "connect_timeout": 3,
        "read_timeout": 20,
        "max_pool_connections": 16,
    },
}


@cache
def client(service: str, profile: str = WEBHOOK_PROFILE) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**_PROFILES[profile]))  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests switch between emulated accounts)."""
    client.cache_clear()
