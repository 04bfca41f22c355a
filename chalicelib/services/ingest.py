"""Accepting a verified delivery: queue what it holds and say what happened to the rest."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from chalicelib.channels.base import ParseResult
from chalicelib.models.interaction import Interaction


class Queue(Protocol):
    def send(self, interactions: list[Interaction]) -> int: ...


@dataclass(frozen=True)
class Ack:
    """The response body of a webhook: counts only, so it is safe to log and to return."""

    received: int
    queued: int
    ignored: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {"received": self.received, "queued": self.queued, "ignored": self.ignored}


def accept(result: ParseResult, queue: Queue) -> Ack:
    queued = queue.send(result.interactions) if result.interactions else 0
    return Ack(received=result.received, queued=queued, ignored=dict(sorted(result.ignored.items())))
