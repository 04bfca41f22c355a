"""The interfaces services depend on, and the failures they may report.

Adapters (chalicelib/adapters) implement these against AWS; tests may implement them in memory.
Services never see a botocore exception: adapters translate them into these.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from chalicelib.models.customer import StoredText
from chalicelib.models.decision import IntentResult
from chalicelib.models.events import DomainEvent
from chalicelib.models.interaction import Author, Interaction
from chalicelib.models.reply import ReplyStatus
from chalicelib.nlp.analysis import Analysis, AnalysisFailed, Document

if TYPE_CHECKING:
    from chalicelib.models.case import Case, CaseStatus
    from chalicelib.models.churn import ChurnState
    from chalicelib.models.snapshot import CustomerSnapshot, Decision


class SecretUnavailable(RuntimeError):
    """A secret cannot be read or is not set: a deployment problem, never a bad request."""


class SecretNotSet(SecretUnavailable):
    """The secrets document was read and has no such key: for optional keys, "not configured"."""


class QueueUnavailable(RuntimeError):
    """Interactions could not all be queued; the delivery must not be acknowledged."""


class ArchiveUnavailable(RuntimeError):
    """A delivery with items we could not read could not be kept: it must not be acknowledged."""


class GraphFailed(RuntimeError):
    """Meta's Graph API refused or did not answer. `code` and `subcode` are Meta's (None when no
    Graph error came back: a network failure or a bare 5xx)."""

    def __init__(
        self,
        status: int | None,
        code: int | None,
        subcode: int | None,
        message: str,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"Graph API {status}: {code}/{subcode}: {message}")
        self.status = status
        self.code = code
        self.subcode = subcode
        self.transient = transient or status is None
        self.retry_after = retry_after


class MessageTooLarge(ValueError):
    """One interaction cannot be made to fit a queue message; nothing was sent."""


class CustomerErased(RuntimeError):
    """The customer is being erased: nothing more may be written for them. A message written
    after the erasure was requested detaches their identity and starts a new customer; one
    written before is dropped (WrittenBeforeErasure)."""


class WrittenBeforeErasure(RuntimeError):
    """The interaction was written before its author's erasure was requested (or, a brand reply,
    before its recipient's): it is dropped, and no customer is made or kept for it. Storing it
    would bring back the person the erasure removed."""


class BadCursor(ValueError):
    """A pagination cursor we did not issue (or issued for something else)."""


class SecretReader(Protocol):
    def get(self, key: str) -> str:
        """A string secret; raises SecretNotSet when the document has no such key."""

    def entry(self, key: str, name: str) -> str:
        """One secret of a map of them (`generic_secrets` by source, later tokens by account);
        raises SecretNotSet when the map or the name is missing."""


class InteractionSink(Protocol):
    def send(self, interactions: Sequence[Interaction | ReplyStatus]) -> int: ...


@dataclass(frozen=True)
class KeptDelivery:
    """A webhook delivery kept whole because items in it were not read, to be replayed once the
    parser reads them. `source`: the generic source it was posted as. `reasons`: why, with counts."""

    key: str
    channel: str
    source: str | None
    received_at: datetime
    reasons: dict[str, int]
    size: int


class DeliveryArchive(Protocol):
    def keep(
        self, channel: str, body: bytes, source: str | None, received_at: datetime, reasons: dict[str, int]
    ) -> str:
        """Store the body; returns its key. Raises ArchiveUnavailable."""

    def listing(self, channel: str | None, limit: int, cursor: str | None) -> tuple[list[KeptDelivery], str | None]: ...

    def body(self, key: str) -> tuple[KeptDelivery, bytes] | None: ...

    def discard(self, key: str) -> None: ...


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
    def resolve(self, platform: str, author: Author, seen_at: datetime) -> str:
        """The author's customer; raises WrittenBeforeErasure for a message of an erased person
        written before their erasure."""

    def identify(self, platform: str, user_id: str, seen_at: datetime) -> str:
        """The recipient's customer, made without names if new; raises WrittenBeforeErasure as
        `resolve` does."""

    def detach(self, platform: str, user_id: str, customer_id: str, written_at: datetime) -> None:
        """Let go of an identity whose customer is being erased, for a message written at
        `written_at`; raises WrittenBeforeErasure if that was before the erasure was requested."""

    def customer_for(self, platform: str, user_id: str) -> str | None: ...

    def customer_of(self, platform: str, external_id: str) -> str | None: ...

    def add(
        self,
        customer_id: str,
        interaction: Interaction,
        analysis: Analysis | None,
        stored: StoredText,
        decide: Callable[[CustomerSnapshot], Decision],
    ) -> Decision | None: ...

    def await_parent(self, reply: Interaction, stored: StoredText) -> bool: ...

    def stored_events(self, interactions: Sequence[Interaction]) -> dict[str, tuple[DomainEvent, ...]]: ...

    def revise(
        self, interaction: Interaction, analysis: Analysis | None, stored: StoredText, intent: IntentResult | None
    ) -> bool: ...

    def delete(self, interaction: Interaction) -> None: ...

    def deleted(self, interaction: Interaction) -> bool: ...


class GraphReader(Protocol):
    def get(self, path: str, fields: str, token: str) -> dict[str, Any]:
        """The object's fields; raises GraphFailed."""


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> list[bool]: ...


# change(case, churn state, sentiment trend, sentiment samples) -> (case, churn state), or None
CaseChange = Callable[["Case", "ChurnState", float | None, int], "tuple[Case, ChurnState] | None"]


class CaseRepository(Protocol):
    def worklist(
        self,
        status: CaseStatus,
        team: str | None,
        limit: int,
        cursor: str | None = None,
        due_before: datetime | None = None,
    ) -> tuple[list[Case], str | None]: ...

    def with_customer(self, case_id: str) -> tuple[Case, ChurnState, float | None, int] | None: ...

    def change(self, case_id: str, change: CaseChange) -> Case | None: ...


class LakeKeys(Protocol):
    """Customers' lake salts (chalicelib/lake): created on first use, deleted by erasure."""

    def salts(self, customer_ids: set[str]) -> dict[str, str | None]:
        """Each customer's salt; None for one with no profile (never existed, or erased)."""
        ...


class LakeSink(Protocol):
    """Where lake records go (Kinesis Data Firehose): one flag per record, True once accepted."""

    def put(self, records: Sequence[dict[str, Any]]) -> list[bool]: ...
