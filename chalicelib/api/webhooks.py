"""Webhook routes: size check, authentication on the raw bytes, parse, queue, acknowledge.

Nothing here calls NLP or the database: platforms want an answer within seconds (X within 3) and
redeliver whatever is not acknowledged, so the route does the least that makes a delivery safe,
which is getting it onto the queue, and answers with counts of what it queued and ignored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from chalice.app import BadRequestError, Blueprint, ForbiddenError, Response, UnauthorizedError

from chalicelib.adapters.queue import MessageTooLarge, QueueUnavailable
from chalicelib.adapters.secrets import SecretUnavailable
from chalicelib.api.errors import RequestTooLargeError, ServiceUnavailableError
from chalicelib.channels import generic, meta, telegram, trustpilot, x
from chalicelib.channels.base import HandshakeRejected, InvalidSignature, MalformedPayload, ParseResult
from chalicelib.config import settings
from chalicelib.dependencies import interaction_queue, secret_store
from chalicelib.observability import logger
from chalicelib.services.ingest import accept

webhooks = Blueprint(__name__)


@webhooks.route("/webhooks/meta", methods=["GET"])
def meta_handshake() -> Response:
    params = dict(webhooks.current_request.query_params or {})
    try:
        challenge = meta.handshake(params, _secret("meta_verify_token"))
    except HandshakeRejected as exc:
        logger.warning("meta handshake rejected")
        raise ForbiddenError(str(exc)) from None
    return Response(body=challenge, status_code=200, headers={"Content-Type": "text/plain"})


@webhooks.route("/webhooks/meta", methods=["POST"])
def meta_delivery() -> Response:
    signature = webhooks.current_request.headers.get(meta.SIGNATURE_HEADER)
    return _deliver(
        "meta",
        lambda body: meta.verify(body, signature, _secret("meta_app_secret")),
        meta.parse,
    )


@webhooks.route("/webhooks/x", methods=["GET"])
def x_crc() -> dict[str, str]:
    token = _query("crc_token")
    try:
        return x.crc_response(token, _secret("x_consumer_secret"))
    except MalformedPayload as exc:
        raise BadRequestError(str(exc)) from None


@webhooks.route("/webhooks/x", methods=["POST"])
def x_delivery() -> Response:
    signature = webhooks.current_request.headers.get(x.SIGNATURE_HEADER)
    return _deliver(
        "x",
        lambda body: x.verify(body, signature, _secret("x_consumer_secret")),
        x.parse,
    )


@webhooks.route("/webhooks/telegram", methods=["POST"])
def telegram_delivery() -> Response:
    token = webhooks.current_request.headers.get(telegram.SECRET_HEADER)
    return _deliver(
        "telegram",
        lambda body: telegram.verify(token, _secret("telegram_secret_token")),
        telegram.parse,
    )


@webhooks.route("/webhooks/trustpilot", methods=["POST"])
def trustpilot_delivery() -> Response:
    token = _query("token")
    return _deliver(
        "trustpilot",
        lambda body: trustpilot.verify(token, _secret("trustpilot_token")),
        trustpilot.parse,
    )


@webhooks.route("/webhooks/generic/{source}", methods=["POST"])
def generic_delivery(source: str) -> Response:
    headers = webhooks.current_request.headers
    timestamp, signature = headers.get(generic.TIMESTAMP_HEADER), headers.get(generic.SIGNATURE_HEADER)
    return _deliver(
        "generic",
        lambda body: generic.verify(body, timestamp, signature, _secret("generic_secret"), time.time()),
        lambda body, received_at: generic.parse(body, generic.check_source(source), received_at),
    )


def _query(name: str) -> str | None:
    params = webhooks.current_request.query_params
    return params.get(name) if params else None


def _secret(name: str) -> str:
    try:
        return secret_store().get(name)
    except SecretUnavailable as exc:
        logger.error("secret unavailable", extra={"reason": str(exc)})
        raise ServiceUnavailableError("webhook verification is unavailable; retry later") from None


def _deliver(
    channel: str,
    authenticate: Callable[[bytes], None],
    parse: Callable[[bytes, datetime], ParseResult],
) -> Response:
    started = time.perf_counter()
    raw = webhooks.current_request.raw_body
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    limit = settings().max_body_bytes
    if len(body) > limit:
        logger.warning("webhook body too large", extra={"channel": channel, "bytes": len(body)})
        raise RequestTooLargeError(f"the body is {len(body)} bytes; the limit is {limit}")
    try:
        authenticate(body)
    except InvalidSignature as exc:
        logger.warning("webhook rejected", extra={"channel": channel, "reason": str(exc)})
        raise UnauthorizedError(str(exc)) from None
    try:
        result = parse(body, datetime.now(UTC))
    except MalformedPayload as exc:
        logger.warning("webhook malformed", extra={"channel": channel, "reason": str(exc)})
        raise BadRequestError(str(exc)) from None
    try:
        ack = accept(result, interaction_queue())
    except MessageTooLarge as exc:
        raise RequestTooLargeError(str(exc)) from None
    except QueueUnavailable as exc:
        logger.error("webhook not queued", extra={"channel": channel, "reason": str(exc)})
        raise ServiceUnavailableError("the delivery could not be queued; retry later") from None
    logger.info(
        "webhook accepted",
        extra={"channel": channel, **ack.to_dict(), "ms": round((time.perf_counter() - started) * 1000, 2)},
    )
    return Response(body=ack.to_dict(), status_code=200)
