"""Reading PynamoDB's transaction and condition failures."""

from __future__ import annotations

import random
import time

from pynamodb.exceptions import TransactWriteError

CONFLICT_BACKOFF_SECONDS = 0.05


def cancellation_codes(exc: TransactWriteError) -> list[str]:
    """One code per item of the transaction, in the order PynamoDB sent them: its condition checks
    first, then deletes, puts and updates, each in the order they were added (not the order of the
    calls across kinds)."""
    return [str(reason.code) if reason else "None" for reason in (exc.cancellation_reasons or [])]


def condition_failed_at(exc: TransactWriteError, position: int) -> bool:
    codes = cancellation_codes(exc)
    return position < len(codes) and codes[position] == "ConditionalCheckFailed"


def is_condition_failure(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def retry_on_conflict(exc: TransactWriteError, attempt: int) -> None:
    """After a transaction no condition of which failed: another transaction held one of its items
    (TransactionConflict), so wait a jittered, growing while before it is sent again as it is; any
    other cancellation is raised."""
    if "TransactionConflict" not in cancellation_codes(exc):
        raise exc
    time.sleep(random.uniform(0, CONFLICT_BACKOFF_SECONDS * 2**attempt))  # noqa: S311 - jitter
