"""The platforms' send APIs over HTTPS, with the standard library: the one place a reply leaves
socialcrm. The senders (channels/) say what to ask; this asks it and hands back the answer, and
caches Trustpilot's OAuth access token (refreshed before it expires, and once after a 401).

What matters for "at most once" is telling apart a request that never left (connection refused,
name not resolved: safe to try again) from one that may have reached the platform (a timeout or a
dropped connection after the body was sent: its outcome is unknown, and it is never repeated).
"""

from __future__ import annotations

import http.client
import time
import urllib.parse
from collections.abc import Callable
from typing import Protocol

from chalicelib.channels.outbound import Answer, Credentials, OutboundRequest

DEFAULT_TIMEOUT = 10.0
# Refresh a cached token this long before the platform says it expires.
TOKEN_MARGIN_SECONDS = 300


class NoAnswer(ConnectionError):
    """The platform did not answer. `reached`: the request may have reached it (a timeout after
    it was sent), so its outcome is unknown; otherwise it surely did not (safe to retry)."""

    def __init__(self, reached: bool, reason: str) -> None:
        super().__init__(reason)
        self.reached = reached


class TokenIssuer(Protocol):
    def token_request(self, credentials: Credentials, base_url: str, account_id: str) -> OutboundRequest: ...

    def token_from(self, answer: Answer) -> tuple[str, float]: ...


class PlatformHttp:
    def __init__(self, timeout: float = DEFAULT_TIMEOUT, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout
        self._clock = clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self.calls = 0  # requests made (benchmarks count platform calls per reply)

    def call(self, request: OutboundRequest) -> Answer:
        """The platform's answer, whatever its status; raises NoAnswer. The connection is opened
        first, on its own: a failure there (refused, unresolvable, a handshake that timed out)
        means no byte of the request left; only a failure after it may have reached the platform."""
        self.calls += 1
        parts = urllib.parse.urlsplit(request.url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=self._timeout)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self._timeout)
        try:
            try:
                connection.connect()
            except (OSError, http.client.HTTPException) as exc:
                raise NoAnswer(False, f"no connection: {type(exc).__name__}") from None
            try:
                connection.request(
                    request.method, path or "/", body=request.body or None, headers=dict(request.headers)
                )
                response = connection.getresponse()
                return Answer(response.status, _lower(response.getheaders()), response.read(), request=request)
            except (OSError, http.client.HTTPException) as exc:
                reason = "timed out" if isinstance(exc, TimeoutError) else f"no answer: {type(exc).__name__}"
                raise NoAnswer(True, reason) from None
        finally:
            connection.close()

    def token(self, issuer: TokenIssuer, credentials: Credentials, base_url: str, account_id: str) -> str | None:
        """A cached access token for the account, fetched when missing or about to expire; None
        when the token endpoint refused (the send then fails as the platform's 401 says)."""
        key = (base_url, account_id)
        cached = self._tokens.get(key)
        if cached is not None and cached[1] > self._clock():
            return cached[0]
        answer = self.call(issuer.token_request(credentials, base_url, account_id))
        if answer.status == 429 or answer.status >= 500:
            # The token endpoint is busy or down (Trustpilot answers refreshing too often with
            # 429): nothing was sent to anyone, and the credentials may well be fine.
            raise NoAnswer(False, f"token endpoint answered {answer.status}")
        if answer.status >= 300:
            return None
        token, lifetime = issuer.token_from(answer)
        self._tokens[key] = (token, self._clock() + max(0.0, lifetime - TOKEN_MARGIN_SECONDS))
        return token

    def forget_token(self, base_url: str, account_id: str) -> None:
        """After a 401 with a cached token: the next send fetches a new one."""
        self._tokens.pop((base_url, account_id), None)


def _lower(items: object) -> dict[str, str]:
    return {str(name).lower(): str(value) for name, value in items}  # type: ignore[attr-defined]
