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
from chalicelib.models.reply import ReplyStatus
from chalicelib.ports import SecretReader

MAX_PROBLEMS_KEPT = 20

# Why an item was not read although the platform sent it: its shape was wrong (`malformed`), our
# parser failed on it (`unreadable`, a bug of ours), it is of a kind we have never seen (`unknown`:
# a new event name or field, a changed payload), or it repeats another item's id with other content
# (`conflict`). A delivery with any of these is kept whole, for a replay once the parser is fixed,
# and counted per channel and reason (an alarm watches them): nothing a platform sends disappears
# silently. The other reasons are things we read and deliberately do not queue (read receipts, the
# brand's own posts, reactions removed...): counted in the acknowledgement, nothing more.
UNREAD = frozenset({"malformed", "unreadable", "unknown", "conflict"})


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
    # What the platform says of messages the brand sent (receipts, statuses): queued for the
    # processor, which moves the replies socialcrm sent forward (models/reply.py).
    statuses: list[ReplyStatus] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    _by_key: dict[str, Interaction] = field(default_factory=dict, repr=False)

    def add(self, interaction: Interaction) -> None:
        """Queue it, unless the delivery already holds an item with its idempotency key: the same
        item twice is a `duplicate`; another item under the same key is a `conflict`, kept and
        counted (the queue would keep only one of them, so it must not pass unseen)."""
        key = interaction.idempotency_key
        earlier = self._by_key.get(key)
        if earlier is None:
            self._by_key[key] = interaction
            self.interactions.append(interaction)
        elif _same(earlier, interaction):
            self.skip("duplicate")
        else:
            self.skip("conflict", detail=f"{key}: a second item with this id and other content")

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
        except Exception as exc:  # its message may quote the item: only its type is kept
            self.skip("unreadable", detail=f"{path}: {type(exc).__name__}")

    @property
    def received(self) -> int:
        return len(self.interactions) + len(self.statuses) + sum(self.ignored.values())

    @property
    def unread(self) -> dict[str, int]:
        """The reasons, with counts, for which items the platform sent were not read."""
        return {reason: count for reason, count in sorted(self.ignored.items()) if reason in UNREAD}


def _same(first: Interaction, second: Interaction) -> bool:
    """Equal but for when they arrived (one delivery, one arrival time anyway)."""
    return first.to_dict() == second.to_dict()
