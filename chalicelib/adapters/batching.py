"""Packing into AWS batch calls (SQS SendMessageBatch, EventBridge PutEvents): both take at most
ten entries and a byte budget per call."""

from __future__ import annotations

import time
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


def put_with_retries(
    pending: list[int],
    size: Callable[[int], int],
    max_entries: int,
    max_bytes: int,
    put: Callable[[list[int]], list[int]],
    attempts: int,
    backoff_seconds: float,
) -> list[int]:
    """Send entries (by index) in packed calls, `put` answering the indexes worth another try
    (entries an AWS batch API refused while answering 200), which are sent again after a growing
    wait. Returns what was still not taken after `attempts` rounds."""
    for attempt in range(attempts):
        if not pending:
            break
        if attempt:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
        retry: list[int] = []
        for group in pack(pending, size, max_entries, max_bytes):
            retry += put(group)
        pending = retry
    return pending
