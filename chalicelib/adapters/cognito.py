"""Cognito access tokens, checked by asking Cognito (GetUser) rather than by verifying the JWT
ourselves: no crypto library in the Lambda package, and revoked tokens are refused too (API
Gateway caches the authorizer's answer per token for its TTL, so a sign-out takes effect within
five minutes). Only tokens of the allowed app clients.

The user's role is their highest group of `agent`, `supervisor` and `admin` as Cognito holds it
now (AdminListGroupsForUser), not as the token's `cognito:groups` claim held it when the token
was issued: someone taken out of `admin` loses it within the authorizer's cache time, not at the
end of the token's hour. A user in none of the groups gets nothing. Where the stage requires it
(SOCIALCRM_ADMIN_MFA, prod), an admin who has not set up MFA acts as a supervisor: export and
erasure need a second factor."""

from __future__ import annotations

import base64
import json
from collections.abc import Collection
from typing import Any

from chalicelib.models.access import Role


class CognitoVerifier:
    def __init__(
        self,
        user_pool_id: str,
        client_ids: Collection[str] = (),
        cognito_client: Any = None,
        admin_needs_mfa: bool = False,
    ) -> None:
        region = user_pool_id.split("_", 1)[0]  # pool ids are "<region>_<id>"
        self._pool_id = user_pool_id
        self._admin_needs_mfa = admin_needs_mfa
        self._issuer_suffix = f"/{user_pool_id}"
        self._region = region
        self._client_ids = frozenset(client_ids)
        self._client = cognito_client

    @property
    def cognito(self) -> Any:
        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("cognito-idp")
        return self._client

    def user(self, token: str) -> tuple[str, Role] | None:
        """(username, role) for a valid access token of ours, else None."""
        claims = _claims(token)
        issuer = str(claims.get("iss", ""))
        # Cognito's issuer is https://cognito-idp.<region>.amazonaws.com/<pool>; the local stack's
        # (moto) has its own host, so only the pool is compared.
        if not issuer.endswith(self._issuer_suffix) or claims.get("token_use") != "access":
            return None  # another pool's token, an ID token, or not a Cognito token at all
        if self._client_ids and claims.get("client_id") not in self._client_ids:
            return None
        from botocore.exceptions import ClientError

        try:
            response = self.cognito.get_user(AccessToken=token)
        except ClientError as exc:
            if _refused(exc):
                return None
            raise
        username = str(response["Username"])
        role = self._role(username, response)
        return (username, role) if role else None

    def email(self, token: str) -> str | None:
        """The e-mail address of a valid access token's user (what the console shows as who)."""
        response = self.cognito.get_user(AccessToken=token)
        return next((str(a["Value"]) for a in response.get("UserAttributes", []) if a.get("Name") == "email"), None)

    def role_of(self, username: str) -> Role | None:
        """The user's role as Cognito holds it now, by username: the console asks again every few
        minutes without keeping any token. None for a user disabled, deleted or in no group."""
        from botocore.exceptions import ClientError

        try:
            response = self.cognito.admin_get_user(UserPoolId=self._pool_id, Username=username)
        except ClientError as exc:
            if _refused(exc):
                return None
            raise
        if response.get("Enabled") is False:
            return None
        return self._role(username, response)

    def _role(self, username: str, user: dict[str, Any]) -> Role | None:
        from botocore.exceptions import ClientError

        try:
            groups = self.cognito.admin_list_groups_for_user(UserPoolId=self._pool_id, Username=username, Limit=60)
        except ClientError as exc:
            if _refused(exc):
                return None
            raise
        roles = [role for group in groups.get("Groups", []) if (role := Role.named(str(group.get("GroupName"))))]
        if not roles:
            return None
        role = max(roles)
        if role is Role.ADMIN and self._admin_needs_mfa and not user.get("UserMFASettingList"):
            role = Role.SUPERVISOR
        return role


class PasswordSignin:
    """E-mail and password against the pool (USER_PASSWORD_AUTH): the local stack's console
    sign-in, where there is no managed login. Returns the access token, or None when refused."""

    def __init__(self, client_id: str, cognito_client: Any = None) -> None:
        self._client_id = client_id
        self._client = cognito_client

    def access_token(self, email: str, password: str) -> str | None:
        from botocore.exceptions import ClientError

        if self._client is None:
            from chalicelib.adapters.aws import client

            self._client = client("cognito-idp")
        try:
            result = self._client.initiate_auth(
                ClientId=self._client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        except ClientError as exc:
            if _refused(exc) or exc.response.get("Error", {}).get("Code") == "InvalidParameterException":
                return None
            raise
        token = result.get("AuthenticationResult", {}).get("AccessToken")
        return str(token) if token else None  # a challenge (new password, MFA) is not offered here


def _refused(exc: Any) -> bool:
    return exc.response.get("Error", {}).get("Code") in ("NotAuthorizedException", "UserNotFoundException")


def _claims(token: str) -> dict[str, Any]:
    """The JWT's payload, unverified: only to route and pre-check the token; GetUser verifies it."""
    try:
        payload = token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return {}
    return claims if isinstance(claims, dict) else {}
