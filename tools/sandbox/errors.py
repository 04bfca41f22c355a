"""The error answers of each platform, as its documentation shows them, for the sandbox to give.

A sender classifies a failure from these bodies and headers (Meta's `code` / `error_subcode`,
Telegram's `parameters.retry_after`, X's `x-rate-limit-reset`), so the sandbox must answer with the
platform's own shape, not a generic one: a sender that passes against the sandbox then reads the
real platform's answers too. `for_fault` picks the documented error for an HTTP status, which is how
`POST /faults` asks for one (400 is the window error where the platform has one, 401 the token
error, 403 the recipient refusing, 429 the rate limit with the platform's retry hint, 5xx an outage).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

# Platform families: each answers errors in its own shape.
META = "meta"  # Messenger, Instagram, Facebook comments (the Graph API)
WHATSAPP = "whatsapp"
TELEGRAM = "telegram"
X = "x"
TRUSTPILOT = "trustpilot"
GENERIC = "generic"

DEFAULT_RETRY_AFTER = 1  # seconds, when a 429 fault names none


@dataclass(frozen=True)
class Answer:
    """One HTTP answer of the sandbox: status, body and the headers beyond Content-Type."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def json_answer(status: int, document: Any, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(document, ensure_ascii=False).encode("utf-8"), dict(headers or {}))


def fbtrace_id() -> str:
    """Meta puts a trace id on every error; 11 characters of base64url, as in captured answers."""
    return secrets.token_urlsafe(8)[:11]


# --- Meta (Graph API: Messenger, Instagram, comments) -------------------------------------------


def graph_error(
    status: int,
    code: int,
    message: str,
    subcode: int | None = None,
    kind: str = "OAuthException",
    transient: bool | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code}
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    error["fbtrace_id"] = fbtrace_id()
    return json_answer(status, {"error": error}, headers)


def meta_token_error() -> Answer:
    """Error 190: the token is not the one the Page (or Instagram account) was given. Meta answers
    it with HTTP 400 or 401 depending on the edge; the sandbox uses 401, as socialcrm's issue 9
    specifies, and senders classify it by the code, never the status."""
    return graph_error(401, 190, "Invalid OAuth access token - Cannot parse access token")


def meta_no_object(object_id: str, method: str = "post") -> Answer:
    """Error 100 / 33: the id is not one the token may use (or does not exist)."""
    return graph_error(
        400,
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded due "
        "to missing permissions, or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        subcode=33,
        kind="GraphMethodException",
    )


def meta_invalid(message: str, subcode: int | None = None) -> Answer:
    """Error 100: an invalid or missing parameter (a text too long, no recipient)."""
    return graph_error(400, 100, f"(#100) {message}", subcode=subcode)


def meta_for_status(status: int, retry_after: int) -> Answer:
    if status == 400:  # outside the 24-hour window (permanent unless a tag applies)
        return graph_error(
            400,
            10,
            "(#10) This message is sent outside of allowed window. Learn more about the new policy here: "
            "https://developers.facebook.com/docs/messenger-platform/policy-overview",
            subcode=2018278,
        )
    if status == 401:
        return meta_token_error()
    if status == 403:  # the person blocked the Page or cannot be reached
        return graph_error(403, 551, "(#551) This person isn't available right now.", subcode=1545041)
    if status == 429:
        return graph_error(
            429,
            4,
            "(#4) Application request limit reached",
            transient=True,
            headers={"Retry-After": str(retry_after)},
        )
    if status >= 500:
        return graph_error(status, 2, "(#2) Service temporarily unavailable", transient=True)
    return graph_error(status, 100, "(#100) Invalid parameter")


# --- WhatsApp Cloud API --------------------------------------------------------------------------


def whatsapp_error(status: int, code: int, title: str, details: str, headers: dict[str, str] | None = None) -> Answer:
    error = {
        "message": f"(#{code}) {title}",
        "type": "OAuthException",
        "code": code,
        "error_data": {"messaging_product": "whatsapp", "details": details},
        "fbtrace_id": fbtrace_id(),
    }
    return json_answer(status, {"error": error}, headers)


def whatsapp_invalid(details: str) -> Answer:
    return whatsapp_error(400, 100, "Invalid parameter", details)


def whatsapp_for_status(status: int, retry_after: int) -> Answer:
    if status == 400:  # re-engagement: the 24-hour window is closed, only a template may go
        return whatsapp_error(
            400,
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last "
            "replied to this number.",
        )
    if status == 401:
        return meta_token_error()
    if status == 403:
        return whatsapp_error(403, 131026, "Message undeliverable", "Unable to deliver message.")
    if status == 429:
        return whatsapp_error(
            429,
            130429,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
            headers={"Retry-After": str(retry_after)},
        )
    if status >= 500:
        return whatsapp_error(
            status, 131016, "Service unavailable", "A service is temporarily unavailable. Please retry later."
        )
    return whatsapp_invalid("Invalid parameter")


# --- Telegram Bot API ----------------------------------------------------------------------------


def telegram_error(status: int, description: str, parameters: dict[str, Any] | None = None) -> Answer:
    document: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        document["parameters"] = parameters
    return json_answer(status, document)


def telegram_for_status(status: int, retry_after: int) -> Answer:
    if status == 400:
        return telegram_error(400, "Bad Request: chat not found")
    if status == 401:
        return telegram_error(401, "Unauthorized")
    if status == 403:
        return telegram_error(403, "Forbidden: bot was blocked by the user")
    if status == 429:
        return telegram_error(
            429, f"Too Many Requests: retry after {retry_after}", parameters={"retry_after": retry_after}
        )
    if status >= 500:
        return telegram_error(status, "Internal Server Error")
    return telegram_error(status, _reason(status))


# --- X API v2 ------------------------------------------------------------------------------------


def x_problem(status: int, detail: str, title: str | None = None, headers: dict[str, str] | None = None) -> Answer:
    """X API v2's problem document (RFC 7807 style)."""
    document = {"title": title or _reason(status), "detail": detail, "type": "about:blank", "status": status}
    return json_answer(status, document, headers)


def x_invalid(message: str) -> Answer:
    document = {
        "errors": [{"message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
    return json_answer(400, document)


def x_for_status(status: int, retry_after: int) -> Answer:
    if status == 400:
        return x_invalid("Invalid request")
    if status == 401:
        return x_problem(401, "Unauthorized")
    if status == 403:
        return x_problem(403, "You are not permitted to perform this action.", title="Forbidden")
    if status == 429:
        # X says when the window resets (epoch seconds), never Retry-After.
        reset = str(int(time.time()) + retry_after)
        headers = {"x-rate-limit-limit": "200", "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset}
        return x_problem(429, "Too Many Requests", headers=headers)
    return x_problem(status, _reason(status))


# --- Trustpilot ----------------------------------------------------------------------------------


def trustpilot_fault(status: int, text: str, code: str, headers: dict[str, str] | None = None) -> Answer:
    """Trustpilot's API gateway (Apigee) answers auth and quota errors as `fault` documents."""
    return json_answer(status, {"fault": {"faultstring": text, "detail": {"errorcode": code}}}, headers)


def trustpilot_token_error() -> Answer:
    return trustpilot_fault(401, "Invalid Access Token", "keymanagement.service.invalid_access_token")


def trustpilot_for_status(status: int, retry_after: int) -> Answer:
    if status == 401:
        return trustpilot_token_error()
    if status == 429:
        return trustpilot_fault(
            429,
            "Rate limit quota violation. Quota limit exceeded.",
            "policies.ratelimit.QuotaViolation",
            headers={"Retry-After": str(retry_after)},
        )
    return json_answer(status, {"message": _reason(status)})


# --- socialcrm's generic outbound ---------------------------------------------------------------


def generic_for_status(status: int, retry_after: int) -> Answer:
    headers = {"Retry-After": str(retry_after)} if status in (429, 503) else {}
    return json_answer(status, {"error": _reason(status)}, headers)


_BY_FAMILY = {
    META: meta_for_status,
    WHATSAPP: whatsapp_for_status,
    TELEGRAM: telegram_for_status,
    X: x_for_status,
    TRUSTPILOT: trustpilot_for_status,
    GENERIC: generic_for_status,
}


def for_fault(family: str, status: int, retry_after: int | None, body: Any = None) -> Answer:
    """The answer of a fault: the platform's documented error for that status, or the given body
    (a JSON document, or a string sent as it is). A 429 always carries the platform's retry hint."""
    wait = DEFAULT_RETRY_AFTER if retry_after is None else retry_after
    answer = _BY_FAMILY[family](status, wait)
    if body is None:
        return answer
    if isinstance(body, str):
        return Answer(status, body.encode("utf-8"), answer.headers, "text/plain; charset=utf-8")
    return json_answer(status, body, answer.headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
