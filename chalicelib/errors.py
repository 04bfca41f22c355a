"""Naming a failure without quoting it: logs and stored reasons carry the AWS error code or the
exception's type, never an exception's message, which can repeat a customer's text."""

from __future__ import annotations


def aws_error_code(exc: BaseException | None) -> str | None:
    """The `Error.Code` of a botocore ClientError (also for codes its model does not name), or of
    the ClientError a PynamoDB exception wraps."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    if not code:
        code = getattr(exc, "cause_response_code", None)
    return str(code) if code else None


def describe(exc: BaseException) -> str:
    """The AWS error code where there is one, else the exception's type."""
    return aws_error_code(exc) or type(exc).__name__
