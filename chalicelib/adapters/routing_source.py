"""Where the routing document comes from: the stage's SSM parameter if there is one, else the
default shipped in the repository. Read through Powertools Parameters, once per container."""

from __future__ import annotations

from typing import Any

from chalicelib.adapters.aws import WORKER_PROFILE, client
from chalicelib.errors import aws_error_code
from chalicelib.observability import logger
from chalicelib.rules.routing import RoutingDocument, load_default, parse


def load_routing(parameter_name: str, ssm_client: Any = None) -> RoutingDocument:
    """The stage's override, validated; the repository's default when the parameter is unset or
    does not exist. An override that exists but is invalid raises RoutingError: better no routing
    at all (records wait in the queue) than half a rulebook."""
    if not parameter_name:
        return load_default()
    from aws_lambda_powertools.utilities.parameters import SSMProvider
    from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

    provider = SSMProvider(boto3_client=ssm_client or client("ssm", WORKER_PROFILE))
    try:
        raw = provider.get(parameter_name)
    except GetParameterError as exc:
        if _not_found(exc):
            logger.info("no routing override; using the default", extra={"parameter": parameter_name})
            return load_default()
        raise
    document = parse(str(raw), source=f"ssm:{parameter_name}")
    logger.info("routing override loaded", extra={"parameter": parameter_name, "version": document.version})
    return document


def _not_found(exc: BaseException) -> bool:
    return aws_error_code(exc.__cause__ or exc.__context__) == "ParameterNotFound"
