"""Reading PynamoDB's transaction and condition failures."""

from __future__ import annotations

import random
import time

from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib.store import keys
from chalicelib.store.models import CustomerItem

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


def customer_writable(transaction: TransactWrite, customer_id: str) -> None:
    """Make the transaction conditional on the customer existing and not being erased: what it
    writes for them lands only while they may be written for (an erasure marks the profile first,
    so nothing started after the mark lands in what it deletes)."""
    transaction.condition_check(
        CustomerItem,
        keys.customer(customer_id),
        keys.PROFILE,
        condition=CustomerItem.pk.exists() & CustomerItem.erasing_at.does_not_exist(),
    )
