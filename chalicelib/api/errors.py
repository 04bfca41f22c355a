"""HTTP errors Chalice lacks, in Chalice's own error body (`{"Code": ..., "Message": ...}`)."""

from __future__ import annotations

from chalice.app import ChaliceViewError


class RequestTooLargeError(ChaliceViewError):
    STATUS_CODE = 413


class ServiceUnavailableError(ChaliceViewError):
    """A dependency of ours failed: the sender should retry, and will."""

    STATUS_CODE = 503
