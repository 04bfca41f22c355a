"""boto3 clients, created on first use and shared per container.

Creating clients lazily keeps `import boto3` and endpoint resolution off the cold start of
routes that never reach AWS. botocore's own retry modes do the retrying: `standard` on the
webhook path, where the platform is waiting and will redeliver anyway, `adaptive` for consumers,
which should slow down under throttling rather than fail.
"""

from __future__ import annotations

from functools import cache
from typing import Any

WEBHOOK_PROFILE = "webhook"
WORKER_PROFILE = "worker"

_PROFILES: dict[str, dict[str, Any]] = {
    WEBHOOK_PROFILE: {"retries": {"mode": "standard", "max_attempts": 3}, "connect_timeout": 2, "read_timeout": 3},
    WORKER_PROFILE: {"retries": {"mode": "adaptive", "max_attempts": 8}, "connect_timeout": 5, "read_timeout": 30},
}


@cache
def client(service: str, profile: str = WEBHOOK_PROFILE) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(service, config=Config(**_PROFILES[profile]))  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests switch between emulated accounts)."""
    client.cache_clear()
