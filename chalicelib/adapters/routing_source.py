"""Where the routing document comes from: the stage's SSM parameter if there is one, else the
default shipped in the repository. Read through Powertools Parameters, which keeps the value for
`max_age` seconds (SOCIALCRM_ROUTING_MAX_AGE, 300 by default): a published change reaches warm
functions within that time, without a deploy or a cold start."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.errors import aws_error_code
from chalicelib.observability import logger
from chalicelib.rules.routing import RoutingDocument, load_default, parse


class RoutingSource:
    """The current document. An override that exists but is invalid raises RoutingError on every
    read until it is fixed: better no routing at all (records are retried, and an alarm says why)
    than half a rulebook."""

    def __init__(self, parameter_name: str, max_age: int, ssm_client: Any = None) -> None:
        self._name = parameter_name
        self._max_age = max_age
        self._client = ssm_client
        self._provider: Any = None
        self._parsed: tuple[str | None, RoutingDocument] | None = None  # (raw value, its document)
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
            if not _not_found(exc):
                raise
            self._absent_until = time.monotonic() + self._max_age
            return self._remember(None)
        return self._remember(raw)

    def _remember(self, raw: str | None) -> RoutingDocument:
        """Parse a value once: the same value gives the same document object, so what is built
        from a document (the decider's patterns) is rebuilt only when it changes."""
        if self._parsed is not None and self._parsed[0] == raw:
            return self._parsed[1]
        document = load_default() if raw is None else parse(raw, source=f"ssm:{self._name}")
        if raw is None:
            logger.info("no routing override; using the default", extra={"parameter": self._name})
        else:
            logger.info("routing override loaded", extra={"parameter": self._name, "version": document.version})
        self._parsed = (raw, document)
        return document


def load_routing(parameter_name: str, ssm_client: Any = None) -> RoutingDocument:
    """The document as it stands now (one read, no cache)."""
    return RoutingSource(parameter_name, 0, ssm_client).current()


def _not_found(exc: BaseException) -> bool:
    return aws_error_code(exc.__cause__ or exc.__context__) == "ParameterNotFound"
