"""What the store reads for a decision about one interaction (`CustomerSnapshot`) and writes back
with it (`Decision`): plain values, so the store and the deciding service share them without the
store knowing the service."""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.models.aggregates import Aggregates
from chalicelib.models.case import BrandReply, Case
from chalicelib.models.churn import ChurnState
from chalicelib.models.decision import IntentResult, Route
from chalicelib.models.events import DomainEvent


@dataclass(frozen=True)
class CustomerSnapshot:
    customer_id: str
    aggregates: Aggregates
    churn: ChurnState
    segments: frozenset[str] = frozenset()
    active_cases: tuple[Case, ...] = ()
    # The brand's replies that answered nothing yet: kept on the profile, or waiting on this very
    # interaction (a comment reply that arrived before the comment).
    waiting_replies: tuple[BrandReply, ...] = ()


@dataclass(frozen=True)
class Decision:
    """Everything written with the interaction. `case_is_new` tells an insert from an update."""

    aggregates: Aggregates
    churn: ChurnState
    intent: IntentResult | None = None
    route: Route | None = None
    case: Case | None = None
    case_is_new: bool = False
    events: tuple[DomainEvent, ...] = field(default=())
    waiting_replies: tuple[BrandReply, ...] | None = None  # None: unchanged
    # The competitors the message names (as configured, folded), each with the sentiment towards
    # it where the analysis says (else None): the figures count them.
    competitors: tuple[tuple[str, str | None], ...] = ()
