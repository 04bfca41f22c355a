"""Where the routing document comes from: the stage's SSM parameter if there is one, else the
default shipped in the repository. Read through Powertools Parameters, which keeps the value for
`max_age` seconds (SOCIALCRM_ROUTING_MAX_AGE, 300 by default): a published change reaches warm
functions within that time, without a deploy or a cold start."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.errors import aws_error_code
from chalicelib.observability import count, logger
from chalicelib.rules.routing import RoutingDocument, RoutingError, load_default, parse


class RoutingUnavailable(Exception):
    """The override could not be read (SSM throttled or refused us) and no document was read before."""


class RoutingSource:
    """The current document.

    An override that exists but is invalid (edited by hand in the console, or published by a newer
    `tools.routing` than the deployed parser) never replaces a valid one: the container keeps
    deciding with the last valid document it read and says so loudly (an error log line and the
    `RoutingInvalid` metric, whose alarm fires, again every `max_age` while it stays invalid).
    Only a container that has never read a valid document raises RoutingError: better no routing
    at all (records are retried, and the alarm says why) than half a rulebook. Likewise an SSM
    error is answered with the last document, and raised as RoutingUnavailable without one.
    """

    def __init__(self, parameter_name: str, max_age: int, ssm_client: Any = None) -> None:
        self._name = parameter_name
        self._max_age = max_age
        self._client = ssm_client
        self._provider: Any = None
        self._parsed: tuple[str | None, RoutingDocument] | None = None  # (raw value, its document)
        self._refused: tuple[str, RoutingError] | None = None  # the invalid value, and why
        self._refusal_reported = float("-inf")
        self._absent_until = 0.0  # Powertools caches values, not their absence: we do, as long

    def current(self) -> RoutingDocument:
        if not self._name or time.monotonic() < self._absent_until:
            return self._remember(None)
        from aws_lambda_powertools.utilities.parameters import SSMProvider
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        if self._provider is None:
            self._provider = SSMProvider(boto3_client=self._client or client("ssm", WORKER_PROFILE))
        try:
            raw = str(self._provider.get(self._name, max_age=self._max_age))
        except GetParameterError as exc:
            if _not_found(exc):
                self._absent_until = time.monotonic() + self._max_age
                return self._remember(None)
            code = aws_error_code(exc.__cause__ or exc.__context__) or type(exc).__name__
            if self._parsed is None:
                raise RoutingUnavailable(f"ssm:{self._name}: cannot be read ({code})") from None
            logger.warning("routing override unreadable; keeping the last document", extra={"error": code})
            return self._parsed[1]
        return self._remember(raw)

    def _remember(self, raw: str | None) -> RoutingDocument:
        """Parse a value once: the same value gives the same document object, so what is built
        from a document (the decider's patterns) is rebuilt only when it changes."""
        if self._parsed is not None and self._parsed[0] == raw:
            return self._parsed[1]
        if raw is not None and self._refused is not None and self._refused[0] == raw:
            return self._keep_last(self._refused[1])
        try:
            document = load_default() if raw is None else parse(raw, source=f"ssm:{self._name}")
        except RoutingError as exc:
            self._refused = (str(raw), exc)
            self._refusal_reported = float("-inf")
            return self._keep_last(exc)
        if raw is None:
            logger.info("no routing override; using the default", extra={"parameter": self._name})
        else:
            logger.info("routing override loaded", extra={"parameter": self._name, "version": document.version})
        self._parsed, self._refused = (raw, document), None
        return document

    def _keep_last(self, error: RoutingError) -> RoutingDocument:
        """The last valid document, reporting the invalid one (once per max age: the alarm's
        period is longer, so it stays raised while the override stays invalid); or raise."""
        if time.monotonic() - self._refusal_reported >= max(self._max_age, 1):
            self._refusal_reported = time.monotonic()
            count("RoutingInvalid")
            logger.error(
                "routing override invalid",
                extra={
                    "reason": str(error)[:500],
                    "keeping": self._parsed[1].version if self._parsed is not None else None,
                },
            )
        if self._parsed is None:
            raise error
        return self._parsed[1]


def load_routing(parameter_name: str, ssm_client: Any = None) -> RoutingDocument:
    """The document as it stands now (one read, no cache)."""
    return RoutingSource(parameter_name, 0, ssm_client).current()


def _not_found(exc: BaseException) -> bool:
    return aws_error_code(exc.__cause__ or exc.__context__) == "ParameterNotFound"
