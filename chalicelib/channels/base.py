"""What every channel shares: the request it reads, the result it returns, the errors it raises.

A channel is pure: it gets the raw request and the secrets port, and never talks to AWS itself.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from chalicelib.models.interaction import Interaction
from chalicelib.ports import SecretReader

MAX_PROBLEMS_KEPT = 20


class ChannelError(Exception):
    """Base for the errors a channel raises on bad input; the message is safe to return."""


class InvalidSignature(ChannelError):
    """Missing or wrong signature, token or timestamp: the delivery is not from the platform."""


class HandshakeRejected(ChannelError):
    """A verification handshake with the wrong token."""


class MalformedPayload(ChannelError):
    """The body is authentic but not something we can read; the message names what is wrong."""


@dataclass(frozen=True)
class WebhookRequest:
    """The parts of an HTTP request a channel may look at. Header names are lower case."""

    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    path: Mapping[str, str] = field(default_factory=dict)


class Channel(Protocol):
    name: str

    def authenticate(self, request: WebhookRequest, secrets: SecretReader, now: float) -> None:
        """Raise InvalidSignature unless the request provably comes from the platform."""

    def parse(self, request: WebhookRequest, received_at: datetime) -> ParseResult:
        """Raise MalformedPayload for an unreadable envelope; skip unreadable items."""


@dataclass
class ParseResult:
    """Interactions found in one delivery, and a count of what was acknowledged but not queued.

    `ignored` is keyed by reason (`echo`, `own`, `status`, `malformed`, ...) so a delivery that
    queues nothing still explains itself. `problems` keeps what was wrong with skipped items
    (paths and reasons, never content) for the log.
    """

    interactions: list[Interaction] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def add(self, interaction: Interaction) -> None:
        self.interactions.append(interaction)

    def skip(self, reason: str, count: int = 1, detail: str | None = None) -> None:
        if count:
            self.ignored[reason] += count
        if detail and len(self.problems) < MAX_PROBLEMS_KEPT:
            self.problems.append(detail)

    def guard(self, path: str, handler: Callable[..., None], item: Any, *args: Any) -> None:
        """Read one item on its own, so one odd item cannot sink the rest of the delivery.

        An item we cannot read is counted as `malformed`. An exception we did not foresee is a
        bug of ours: it is counted as `unreadable` (the tests insist there are none) rather than
        failing the whole delivery, which the platform would redeliver for hours and then drop.
        """
        try:
            if not isinstance(item, dict):
                raise MalformedPayload(f"{path}: expected an object")
            handler(item, path, *args)
        except MalformedPayload as exc:
            self.skip("malformed", detail=str(exc))
        except Exception as exc:
            self.skip("unreadable", detail=f"{path}: {type(exc).__name__}: {exc}"[:300])

    @property
    def received(self) -> int:
        return len(self.interactions) + sum(self.ignored.values())
