"""The interfaces services depend on, and the failures they may report.

Adapters (chalicelib/adapters) implement these against AWS; tests may implement them in memory.
Services never see a botocore exception: adapters translate them into these.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from typing import Protocol

from chalicelib.models.customer import StoredText
from chalicelib.models.interaction import Author, Interaction
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document


class SecretUnavailable(RuntimeError):
    """A secret cannot be read or is not set: a deployment problem, never a bad request."""


class QueueUnavailable(RuntimeError):
    """Interactions could not all be queued; the delivery must not be acknowledged."""


class MessageTooLarge(ValueError):
    """One interaction cannot be made to fit a queue message; nothing was sent."""


class BadCursor(ValueError):
    """A pagination cursor we did not issue (or issued for something else)."""


class SecretReader(Protocol):
    def get(self, key: str) -> str: ...


class InteractionSink(Protocol):
    def send(self, interactions: Sequence[Interaction]) -> int: ...


class Claim(Enum):
    """What claiming an idempotency key found."""

    NEW = "new"  # ours now: process it
    DONE = "done"  # processed before: a redelivery, nothing to do
    BUSY = "busy"  # another invocation is processing it: retry later


class Claims(Protocol):
    def claim(self, key: str, remaining_ms: int) -> Claim: ...

    def complete(self, key: str) -> None: ...

    def release(self, key: str, reason: Exception) -> None: ...


class TextAnalyzer(Protocol):
    def analyze(self, documents: Sequence[Document], redact: bool) -> list[Analysis | AnalysisFailed]: ...


class CustomerRepository(Protocol):
    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str: ...

    def customer_for(self, platform: str, user_id: str) -> str | None: ...

    def customer_of(self, platform: str, external_id: str) -> str | None: ...

    def add(
        self, customer_id: str, interaction: Interaction, analysis: Analysis | None, stored: StoredText
    ) -> bool: ...

    def revise(self, interaction: Interaction, analysis: Analysis | None, stored: StoredText) -> bool: ...

    def delete(self, interaction: Interaction) -> None: ...

    def deleted(self, interaction: Interaction) -> bool: ...

    def keep_pending(self, interaction: Interaction) -> None: ...
