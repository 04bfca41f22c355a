"""Replies to Trustpilot service reviews, as a business user of the business unit.

`POST {base}/v1/private/reviews/{reviewId}/reply` with `{"message", "authorBusinessUserId"}` and
`Authorization: Bearer <access token>`, answered `201` with an empty body. A review has one reply: a
new one replaces it. What was created has no id of its own, so it is named `review-reply:<review
id>` (read back from the request the answer is for: `Answer.request`).

The access token comes from Trustpilot's business-user OAuth (client credentials): `token_request`
is the call and `token_from` reads its answer. The adapter (adapters/platforms.py) makes that call,
caches the token until shortly before it expires (asking too often is answered 429), and injects the
current one into the credentials as `_trustpilot_access_token` before calling `request`; so this
module stays pure, and the token never sits in the secrets document itself.

Credentials by business unit: `trustpilot_clients: {unit: {"client_id", "client_secret",
"business_user_id"}}`.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, unquote, urlencode, urlsplit

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
    words,
)
from chalicelib.models.reply import ErrorClass, Reply

CLIENTS = "trustpilot_clients"
ACCESS_TOKEN = "_trustpilot_access_token"  # noqa: S105 - where the adapter injects the token, not one
TOKEN_PATH = "/v1/oauth/oauth-business-users-for-applications/accesstoken"  # noqa: S105 - a path
REPLY_ID_PREFIX = "review-reply:"

_REPLY_PATH = re.compile(r"/v1/private/reviews/([^/]+)/reply")


class TrustpilotSender:
    platform = "trustpilot"

    def request(self, reply: Reply, credentials: Credentials, base_url: str) -> OutboundRequest:
        target = reply.target
        client = credentials.by_account(CLIENTS, target.account_id)
        author = credential_text(client, f"{CLIENTS}[{target.account_id}]", "business_user_id")
        token = credential_text(credentials.document.get(ACCESS_TOKEN), ACCESS_TOKEN)
        review = target.in_reply_to
        if not review:
            raise Unsendable("a review reply needs the review's id (in_reply_to)")
        url = f"{base_url.rstrip('/')}/v1/private/reviews/{quote(review, safe='')}/reply"
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        body = json_body({"message": reply.text, "authorBusinessUserId": author})
        return OutboundRequest("POST", url, headers, body, "/v1/private/reviews/{reviewId}/reply")

    def outcome(self, answer: Answer) -> SendOutcome:
        """201 (any 2xx): the reply is up, named by its review. 401: the token or the client was
        refused (the adapter fetches a new token once before this counts). 429 and 5xx: wait.
        400 / 403 / 404 and the rest: the review cannot be answered so (gone, not the unit's)."""
        if 200 <= answer.status < 300:
            return SendOutcome(platform_message_id=_reply_id(answer))
        document = json_object(answer.body) or {}
        keys = ("message", "error_description", "error", "details")
        said = next((value for key in keys if isinstance(value := document.get(key), str) and value.strip()), None)
        message = words(said, f"HTTP {answer.status}")
        if answer.status == 429 or answer.status >= 500:
            return failed(str(answer.status), ErrorClass.RETRY, message, retry_after(answer.headers))
        if answer.status == 401:
            return failed("401", ErrorClass.REAUTH, message)
        return failed(str(answer.status), ErrorClass.PERMANENT, message)

    def token_request(self, credentials: Credentials, base_url: str, account_id: str) -> OutboundRequest:
        """Client credentials, sent as HTTP Basic (`client_id:client_secret`), form-encoded."""
        client = credentials.by_account(CLIENTS, account_id)
        what = f"{CLIENTS}[{account_id}]"
        client_id = credential_text(client, what, "client_id")
        client_secret = credential_text(client, what, "client_secret")
        basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        headers = {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"}
        body = urlencode({"grant_type": "client_credentials"}).encode("ascii")
        return OutboundRequest("POST", f"{base_url.rstrip('/')}{TOKEN_PATH}", headers, body, TOKEN_PATH)

    def token_from(self, answer: Answer) -> tuple[str, float]:
        """`(access_token, expires_in seconds)` from a successful token answer (Trustpilot gives
        `expires_in` as a string of digits). Raises ValueError for anything else: the adapter only
        reads 2xx answers, and a 2xx without a token is as good as none."""
        document = json_object(answer.body) or {}
        token = document.get("access_token")
        lifetime = document.get("expires_in")
        if not isinstance(token, str) or not token:
            raise ValueError("Trustpilot's token answer has no access_token")
        try:
            seconds = (
                float(lifetime) if isinstance(lifetime, int | float | str) and not isinstance(lifetime, bool) else 0.0
            )
        except ValueError:
            seconds = 0.0
        return token, max(0.0, seconds)


def _reply_id(answer: Answer) -> str | None:
    """`review-reply:<review id>`, from the request this answers; None when it is not known."""
    if answer.request is None:
        return None
    found = _REPLY_PATH.search(urlsplit(answer.request.url).path)
    return REPLY_ID_PREFIX + unquote(found.group(1)) if found else None
