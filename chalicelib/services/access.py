"""Who may use the ops API: the holder of `ops_api_token`, or, where a Cognito user pool is
configured, a user of that pool presenting one of its access tokens."""

from __future__ import annotations

from typing import Protocol

from chalicelib.channels.signing import matches
from chalicelib.ports import SecretReader

STATIC_PRINCIPAL = "ops-token"


class TokenVerifier(Protocol):
    def username(self, token: str) -> str | None:
        """The user the token belongs to, or None when it is not a valid token of ours."""


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class OpsAccess:
    def __init__(self, secrets: SecretReader, cognito: TokenVerifier | None = None) -> None:
        self._secrets = secrets
        self._cognito = cognito

    def principal(self, authorization: str | None) -> str | None:
        token = bearer(authorization)
        if token is None:
            return None
        if matches(self._secrets.get("ops_api_token"), token):
            return STATIC_PRINCIPAL
        if self._cognito is not None and token.count(".") == 2:
            username = self._cognito.username(token)
            return f"cognito:{username}" if username else None
        return None
