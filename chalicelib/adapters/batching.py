"""Packing into AWS batch calls (SQS SendMessageBatch, EventBridge PutEvents): both take at most
ten entries and a byte budget per call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def pack(items: Sequence[T], size: Callable[[T], int], max_entries: int, max_bytes: int) -> list[list[T]]:
    """Greedy, in order: a new batch at `max_entries` or when the next item would pass `max_bytes`.
    An item bigger than the budget alone still gets a batch of its own (the caller refuses it)."""
    packed: list[list[T]] = []
    current: list[T] = []
    total = 0
    for item in items:
        length = size(item)
        if current and (len(current) == max_entries or total + length > max_bytes):
            packed.append(current)
            current, total = [], 0
        current.append(item)
        total += length
    if current:
        packed.append(current)
    return packed
