"""Cognito access tokens, checked by asking Cognito (GetUser) rather than by verifying the JWT
ourselves: no crypto library in the Lambda package, and revoked tokens are refused too (API
Gateway caches the authorizer's answer per token for its TTL, so a sign-out takes effect within
five minutes). Only members of the ops group, and only tokens of the allowed app clients."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from typing import Any


class CognitoVerifier:
    def __init__(
        self,
        user_pool_id: str,
        group: str,
        client_ids: Collection[str] = (),
        cognito_client: Any = None,
    ) -> None:
        region = user_pool_id.split("_", 1)[0]  # pool ids are "<region>_<id>"
        self._issuer = f"https://cognito-idp.{region}.amazonaws.com/{user_pool_id}"
        self._region = region
        self._group = group
        self._client_ids = frozenset(client_ids)
        self._client = cognito_client

    @property
    def cognito(self) -> Any:
        if self._client is None:
            import boto3
            from botocore.config import Config

            self._client = boto3.client(
                "cognito-idp", region_name=self._region, config=Config(retries={"mode": "standard"})
            )
        return self._client

    def username(self, token: str) -> str | None:
        claims = _claims(token)
        if claims.get("iss") != self._issuer or claims.get("token_use") != "access":
            return None  # another pool's token, an ID token, or not a Cognito token at all
        if self._client_ids and claims.get("client_id") not in self._client_ids:
            return None
        groups = claims.get("cognito:groups") or []
        if self._group not in groups:
            return None
        from botocore.exceptions import ClientError

        try:
            response = self.cognito.get_user(AccessToken=token)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NotAuthorizedException", "UserNotFoundException"):
                return None
            raise
        return str(response["Username"])


def _claims(token: str) -> dict[str, Any]:
    """The JWT's payload, unverified: only to route and pre-check the token; GetUser verifies it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
