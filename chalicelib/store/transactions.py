"""Reading PynamoDB's transaction and condition failures."""

from __future__ import annotations

from pynamodb.exceptions import TransactWriteError


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
