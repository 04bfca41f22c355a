"""Who is calling the ops API: a Cognito user with a role from their groups, or, where a stage
enables it, the holder of the shared `ops_api_token` (for the local stack and automation), with the
role the stage gives it, never `admin`: exports and erasures always need a person."""

from __future__ import annotations

from typing import Protocol

from chalicelib.channels.signing import matches
from chalicelib.models.access import Principal, Role
from chalicelib.ports import SecretReader

STATIC_PRINCIPAL = "ops-token"


class TokenVerifier(Protocol):
    def user(self, token: str) -> tuple[str, Role] | None:
        """(username, role) for a valid token of ours, or None."""


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


class OpsAccess:
    def __init__(self, secrets: SecretReader, static_role: Role | None, cognito: TokenVerifier | None = None) -> None:
        if static_role is Role.ADMIN:
            raise ValueError("the shared ops token is never an admin")
        self._secrets = secrets
        self._static_role = static_role
        self._cognito = cognito

    def principal(self, authorization: str | None) -> Principal | None:
        token = bearer(authorization)
        if token is None:
            return None
        if self._static_role is not None and matches(self._secrets.get("ops_api_token"), token):
            return Principal(STATIC_PRINCIPAL, self._static_role)
        if self._cognito is not None and token.count(".") == 2:
            user = self._cognito.user(token)
            return Principal(f"cognito:{user[0]}", user[1]) if user else None
        return None
