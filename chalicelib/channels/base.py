"""What every channel module returns or raises, so the webhook routes treat all platforms alike."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from chalicelib.models.interaction import Interaction


class ChannelError(Exception):
    """Base for the errors a channel raises on bad input; the message is safe to return."""


class InvalidSignature(ChannelError):
    """Missing or wrong signature, token or timestamp: the delivery is not from the platform."""


class HandshakeRejected(ChannelError):
    """A verification handshake with the wrong token."""


class MalformedPayload(ChannelError):
    """The body is authentic but not something we can read; the message names what is wrong."""


@dataclass
class ParseResult:
    """Interactions found in one delivery, and a count of what was acknowledged but not queued.

    `ignored` is keyed by reason (`echo`, `own`, `status`, `unsupported`, ...) so a delivery
    that queues nothing still explains itself in the response and the logs.
    """

    interactions: list[Interaction] = field(default_factory=list)
    ignored: Counter[str] = field(default_factory=Counter)

    def add(self, interaction: Interaction | None, reason: str = "unsupported") -> None:
        if interaction is None:
            self.ignored[reason] += 1
        else:
            self.interactions.append(interaction)

    def skip(self, reason: str, count: int = 1) -> None:
        if count:
            self.ignored[reason] += count

    @property
    def received(self) -> int:
        return len(self.interactions) + sum(self.ignored.values())
