"""Replies through the X API v2, as the brand's own account (user context, OAuth 1.0a).

- a DM (`message`): `POST /2/dm_conversations/with/{participant_id}/messages` with `{"text"}`,
  answered `{"data": {"dm_conversation_id", "dm_event_id"}}`: the event id names the message (and
  is the id of its echo in the account's activity, which then updates this reply);
- a reply tweet (`mention`, `reply`, `comment`): `POST /2/tweets` with `{"text", "reply":
  {"in_reply_to_tweet_id"}}`, answered `{"data": {"id", "text"}}`.

Signing (RFC 5849, HMAC-SHA1, as X's "Creating a signature" describes): the base string is the
method, the URL without its query, and every oauth_* and query parameter, sorted and percent-encoded.
A JSON body is not part of it (only form-encoded bodies are), which is why these requests sign no
body. The nonce and the clock are the constructor's, so a test can reproduce a signature exactly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from chalicelib.channels.outbound import (
    Answer,
    Credentials,
    OutboundRequest,
    SendOutcome,
    Unsendable,
    credential_text,
    failed,
    json_body,
    json_object,
    retry_after,
    text_id,
    words,
)
from chalicelib.models.reply import ErrorClass, Reply

USER_CREDENTIALS = "x_user_credentials"
TWEET_KINDS = frozenset({"mention", "reply", "comment"})

# Why a 403 can still be the credentials' fault rather than the request's: X's v2 problem types for
# a token that cannot act for the user, and the v1.1-style codes for an invalid or expired token
# (32 could not authenticate, 89 invalid or expired token, 215 bad authentication data).
_AUTH_PROBLEMS = ("unsupported-authentication", "oauth1-permissions")
_AUTH_CODES = frozenset({32, 89, 215})


class XSender:
    platform = "x"

    def __init__(
        self, clock: Callable[[], float] = time.time, nonce: Callable[[], str] = lambda: uuid.uuid4().hex
    ) -> None:
        self._clock = clock
        self._nonce = nonce

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        target = reply.target
        keys = credentials.by_account(USER_CREDENTIALS, target.account_id)
        what = f"{USER_CREDENTIALS}[{target.account_id}]"
        consumer_key, consumer_secret, access_token, access_token_secret = (
            credential_text(keys, what, name)
            for name in ("consumer_key", "consumer_secret", "access_token", "access_token_secret")
        )
        base = base_url.rstrip("/")
        body: dict[str, Any]
        if target.kind in TWEET_KINDS:
            if not target.in_reply_to:
                raise Unsendable(f"a reply tweet needs the id of the post it answers (in_reply_to of a {target.kind})")
            url, endpoint = f"{base}/2/tweets", "/2/tweets"
            body = {"text": reply.text, "reply": {"in_reply_to_tweet_id": target.in_reply_to}}
        else:
            participant = quote(target.recipient_id, safe="")
            url = f"{base}/2/dm_conversations/with/{participant}/messages"
            endpoint = "/2/dm_conversations/with/{participant_id}/messages"
            body = {"text": reply.text}
        authorization = oauth1_header(
            "POST",
            url,
            consumer_key=consumer_key,
            consumer_secret=consumer_secret,
            token=access_token,
            token_secret=access_token_secret,
            timestamp=str(int(self._clock())),
            nonce=self._nonce(),
        )
        headers = {"Authorization": authorization, "Content-Type": "application/json"}
        return OutboundRequest("POST", url, headers, json_body(body), endpoint)

    def outcome(self, answer: Answer) -> SendOutcome:
        """`data.dm_event_id` (a DM) or `data.id` (a post) on success; errors are `{"title",
        "detail", "type", "status"}` (v2 problems) or `{"errors": [{"message", "code"}]}`."""
        document = json_object(answer.body) or {}
        if 200 <= answer.status < 300:
            data = document.get("data")
            data = data if isinstance(data, dict) else {}
            return SendOutcome(platform_message_id=text_id(data.get("dm_event_id")) or text_id(data.get("id")))
        status = answer.status
        errors = document.get("errors")
        first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
        code = first.get("code")
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        problem = document.get("type")
        problem = problem if isinstance(problem, str) else ""
        spoken = (document.get("detail"), document.get("title"), first.get("message"))
        message = words(
            next((text for text in spoken if isinstance(text, str) and text.strip()), None), f"HTTP {status}"
        )
        if status == 429 or status >= 500:
            wait = self._reset_wait(answer) if status == 429 else retry_after(answer.headers)
            return failed(str(status), ErrorClass.RETRY, message, wait)
        if status == 401 or (status == 403 and (code in _AUTH_CODES or problem.endswith(_AUTH_PROBLEMS))):
            return failed(_code(status, code), ErrorClass.REAUTH, message)
        # 403: not allowed (the person does not accept DMs from the account, a duplicate post, a
        # protected or deleted post); 400: the request itself; neither changes by retrying.
        return failed(_code(status, code), ErrorClass.PERMANENT, message)

    def _reset_wait(self, answer: Answer) -> float | None:
        """X sends no Retry-After: `x-rate-limit-reset` is when the window resets, in epoch seconds."""
        reset = (answer.headers.get("x-rate-limit-reset") or "").strip()
        if reset.isdigit():
            return max(0.0, int(reset) - self._clock())
        return retry_after(answer.headers)


def oauth1_header(
    method: str,
    url: str,
    *,
    consumer_key: str,
    consumer_secret: str,
    token: str,
    token_secret: str,
    timestamp: str,
    nonce: str,
    form: Iterable[tuple[str, str]] = (),
) -> str:
    """`Authorization: OAuth ...` for a user-context request. `form`: the parameters of a
    form-encoded body, the only body that is signed (a JSON body is not)."""
    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": nonce,
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": timestamp,
        "oauth_token": token,
        "oauth_version": "1.0",
    }
    signed = [*oauth.items(), *form]
    oauth["oauth_signature"] = oauth1_signature(method, url, signed, consumer_secret, token_secret)
    return "OAuth " + ", ".join(f'{percent(name)}="{percent(value)}"' for name, value in sorted(oauth.items()))


def oauth1_signature(
    method: str, url: str, parameters: Iterable[tuple[str, str]], consumer_secret: str, token_secret: str
) -> str:
    """RFC 5849 section 3.4: HMAC-SHA1 over `METHOD&base-url&parameters`, keyed by both secrets.
    The URL's own query parameters are signed too; its fragment never is."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    pairs = sorted((percent(name), percent(value)) for name, value in [*parameters, *query])
    normalized = "&".join(f"{name}={value}" for name, value in pairs)
    base_string = "&".join(
        (method.upper(), percent(_base_url(parts.scheme, parts.netloc, parts.path)), percent(normalized))
    )
    key = f"{percent(consumer_secret)}&{percent(token_secret)}"
    digest = hmac.new(key.encode("utf-8"), base_string.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def percent(value: str) -> str:
    """RFC 3986 percent-encoding: everything but unreserved characters (A-Z a-z 0-9 - . _ ~)."""
    return quote(value, safe="~")


def _base_url(scheme: str, netloc: str, path: str) -> str:
    """Scheme and host in lower case, the default port dropped (RFC 5849 section 3.4.1.2)."""
    scheme, netloc = scheme.lower(), netloc.lower()
    if (scheme, netloc.rpartition(":")[2]) in {("http", "80"), ("https", "443")}:
        netloc = netloc.rpartition(":")[0]
    return urlunsplit((scheme, netloc, path or "/", "", ""))


def _code(status: int, code: int | None) -> str:
    return f"{status}/{code}" if code is not None else str(status)
