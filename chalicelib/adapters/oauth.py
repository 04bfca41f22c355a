"""Cognito managed login's OAuth endpoints (authorization code + PKCE, a public client): the one
place the console talks to the hosted sign-in over HTTP. The authorize and logout URLs are where
the browser is sent; the token exchange is a server-to-server POST."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

TIMEOUT_SECONDS = 5


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) as RFC 7636 defines them."""
    verifier = secrets.token_urlsafe(48)
    return verifier, challenge(verifier)


def challenge(verifier: str) -> str:
    """BASE64URL(SHA256(verifier)) without padding (RFC 7636, section 4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


class ManagedLogin:
    def __init__(self, domain: str, client_id: str) -> None:
        scheme = urllib.parse.urlsplit(domain)
        if scheme.scheme != "https" and scheme.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError("the managed login domain must be an https URL")
        self.domain = domain.rstrip("/")
        self._client_id = client_id

    def authorize_url(self, redirect_uri: str, state: str, challenge: str) -> str:
        query = urllib.parse.urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid email aws.cognito.signin.user.admin",  # GetUser needs the last one
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        return f"{self.domain}/oauth2/authorize?{query}"

    def logout_url(self, signed_out_uri: str) -> str:
        """Ends the managed login's own session too, so the next sign-in asks for the password."""
        query = urllib.parse.urlencode({"client_id": self._client_id, "logout_uri": signed_out_uri})
        return f"{self.domain}/logout?{query}"

    def exchange(self, code: str, verifier: str, redirect_uri: str) -> str | None:
        """The access token for an authorization code, or None when Cognito refuses it (used,
        expired, or a verifier that does not match its challenge)."""
        body = urllib.parse.urlencode(
            {
                "grant_type": "authorization_code",
                "client_id": self._client_id,
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the domain's scheme is checked in __init__
            f"{self.domain}/oauth2/token",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 - see above
                document: Any = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500:
                return None
            raise
        token = document.get("access_token") if isinstance(document, dict) else None
        return str(token) if token else None
