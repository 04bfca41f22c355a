"""Webhook routes: translate HTTP to `ingest.receive` and its errors back to status codes."""

from __future__ import annotations

from chalice.app import BadRequestError, Blueprint, ForbiddenError, Response, UnauthorizedError

from chalicelib.api.errors import RequestTooLargeError, ServiceUnavailableError
from chalicelib.channels import meta, x
from chalicelib.channels.base import Channel, HandshakeRejected, InvalidSignature, MalformedPayload, WebhookRequest
from chalicelib.channels.registry import GENERIC, META, TELEGRAM, TRUSTPILOT, X
from chalicelib.config import settings
from chalicelib.dependencies import delivery_archive, interaction_queue, webhook_secrets
from chalicelib.observability import count, count_by, logger
from chalicelib.ports import ArchiveUnavailable, QueueUnavailable, SecretUnavailable
from chalicelib.services.ingest import BodyTooLarge, receive


def webhook_routes() -> Blueprint:
    """The webhook routes, as a blueprint of their own for each app that serves them (app.py, every
    route; chalicelib/ingress.py, the webhook function): a Chalice blueprint belongs to one app."""
    routes = Blueprint(__name__)

    @routes.route("/webhooks/meta", methods=["GET"])
    def meta_handshake() -> Response:
        try:
            challenge = meta.handshake(_request(routes).query, _secret("meta_verify_token"))
        except HandshakeRejected as exc:
            logger.warning("handshake refused", extra={"channel": "meta"})
            count("HandshakesRefused")
            raise ForbiddenError(str(exc)) from None
        return Response(body=challenge, status_code=200, headers={"Content-Type": "text/plain"})

    @routes.route("/webhooks/meta", methods=["POST"])
    def meta_delivery() -> Response:
        return _deliver(META, _request(routes))

    @routes.route("/webhooks/x", methods=["GET"])
    def x_crc() -> dict[str, str]:
        try:
            return x.crc_response(_request(routes).query.get("crc_token"), _secret("x_consumer_secret"))
        except MalformedPayload as exc:
            # Never the token itself in the log: a forged delivery passed as one carries message text.
            logger.warning("handshake refused", extra={"channel": "x"})
            count("HandshakesRefused")  # a refused CRC token is someone probing for a signature
            raise BadRequestError(str(exc)) from None

    @routes.route("/webhooks/x", methods=["POST"])
    def x_delivery() -> Response:
        return _deliver(X, _request(routes))

    @routes.route("/webhooks/telegram", methods=["POST"])
    def telegram_delivery() -> Response:
        return _deliver(TELEGRAM, _request(routes))

    @routes.route("/webhooks/trustpilot", methods=["POST"])
    def trustpilot_delivery() -> Response:
        return _deliver(TRUSTPILOT, _request(routes))

    @routes.route("/webhooks/generic/{source}", methods=["POST"])
    def generic_delivery(source: str) -> Response:
        return _deliver(GENERIC, _request(routes))

    return routes


def _request(routes: Blueprint) -> WebhookRequest:
    current = routes.current_request
    raw = current.raw_body
    return WebhookRequest(
        body=raw if isinstance(raw, bytes) else raw.encode("utf-8"),
        headers={name.lower(): value for name, value in current.headers.items()},
        query=dict(current.query_params or {}),
        path=dict(current.uri_params or {}),
    )


def _secret(name: str) -> str:
    try:
        return webhook_secrets().get(name)
    except SecretUnavailable as exc:
        logger.error("secret unavailable", extra={"reason": str(exc)})
        raise ServiceUnavailableError("webhook verification is unavailable; retry later") from None


def _deliver(channel: Channel, request: WebhookRequest) -> Response:
    try:
        ack = receive(
            channel, request, webhook_secrets(), interaction_queue(), settings().max_body_bytes, delivery_archive()
        )
    except BodyTooLarge as exc:
        logger.warning("webhook too large", extra={"channel": channel.name, "reason": str(exc)})
        count("WebhooksTooLarge")
        raise RequestTooLargeError(str(exc)) from None
    except InvalidSignature as exc:
        logger.warning("webhook rejected", extra={"channel": channel.name, "reason": str(exc)})
        count("WebhooksRejected")  # alarmed: a rotated platform secret not updated here looks like this
        raise UnauthorizedError(str(exc)) from None
    except MalformedPayload as exc:
        logger.warning("webhook malformed", extra={"channel": channel.name, "reason": str(exc)})
        count("WebhooksMalformed")
        raise BadRequestError(str(exc)) from None
    except SecretUnavailable as exc:
        logger.error("secret unavailable", extra={"channel": channel.name, "reason": str(exc)})
        count("WebhooksUnavailable")
        raise ServiceUnavailableError("webhook verification is unavailable; retry later") from None
    except (QueueUnavailable, ArchiveUnavailable) as exc:
        logger.error("webhook not queued", extra={"channel": channel.name, "reason": str(exc)})
        count("WebhooksUnavailable")
        raise ServiceUnavailableError("the delivery could not be queued; retry later") from None
    count("WebhooksAccepted")
    count("InteractionsQueued", ack.queued)
    if ack.unread:
        count("WebhookItemsUnread", sum(ack.unread.values()))  # alarmed: the platform sent what we cannot read
        for reason, unread in ack.unread.items():
            count_by("WebhookItemsUnread", {"channel": channel.name, "reason": reason}, unread)
    return Response(body=ack.to_dict(), status_code=200)
