"""Cognito access tokens, checked by asking Cognito (GetUser) rather than by verifying the JWT
ourselves: no crypto library in the Lambda package, and revoked tokens are refused too. API
Gateway caches the authorizer's answer per token, so Cognito is asked once per token and TTL."""

from __future__ import annotations

import base64
import json
from typing import Any


class CognitoVerifier:
    def __init__(self, user_pool_id: str, region: str, cognito_client: Any = None) -> None:
        self._issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self._client = cognito_client

    @property
    def cognito(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("cognito-idp")
        return self._client

    def username(self, token: str) -> str | None:
        if _claims(token).get("iss") != self._issuer:
            return None  # another pool's token, or not a Cognito token at all
        from botocore.exceptions import ClientError

        try:
            response = self.cognito.get_user(AccessToken=token)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NotAuthorizedException", "UserNotFoundException"):
                return None
            raise
        return str(response["Username"])


def _claims(token: str) -> dict[str, Any]:
    """The JWT's payload, unverified: only to route the token; GetUser does the verifying."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
