"""The interfaces services depend on, and the failures they may report.

Adapters (chalicelib/adapters) implement these against AWS; tests may implement them in memory.
Services never see a botocore exception: adapters translate them into these.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.models.interaction import Interaction


class SecretUnavailable(RuntimeError):
    """A secret cannot be read or is not set: a deployment problem, never a bad request."""


class QueueUnavailable(RuntimeError):
    """Interactions could not all be queued; the delivery must not be acknowledged."""


class MessageTooLarge(ValueError):
    """One interaction cannot be made to fit a queue message; nothing was sent."""


class SecretReader(Protocol):
    def get(self, key: str) -> str: ...


class InteractionSink(Protocol):
    def send(self, interactions: Sequence[Interaction]) -> int: ...
