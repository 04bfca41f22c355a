"""A browser for HTML tests: Chalice's test client with a cookie jar, form posts and the CSRF
token read from the page, as a person's browser would carry them."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from chalicelib.adapters.oauth import challenge
from tests.helpers import role_token
from tools.secrets import DEV_SECRETS_PATH, load_file


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location") or self.headers.get("hx-redirect") or ""

    def field(self, name: str) -> str:
        match = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', self.body)
        assert match, f"no field {name} on the page"
        return match.group(1)


@dataclass
class Browser:
    client: Any
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"Host": "localhost:8000"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        headers.update(extra or {})
        return headers

    def _keep(self, response: Any) -> Page:
        headers = {key.lower(): value for key, value in response.headers.items()}
        raw = headers.get("set-cookie")
        for each in [raw] if isinstance(raw, str) else raw or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(each)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        body = response.body.decode() if isinstance(response.body, bytes) else str(response.body or "")
        page = Page(int(response.status_code), headers, body)
        token = re.search(r'name="csrf_token" value="([^"]+)"', body)
        if token:
            self.csrf = token.group(1)
        return page

    def get(self, path: str, htmx: bool = False) -> Page:
        extra = {"HX-Request": "true"} if htmx else {}
        return self._keep(self.client.http.get(path, headers=self._headers(extra)))

    def post(self, path: str, data: dict[str, str], htmx: bool = True, csrf: bool = True) -> Page:
        fields = {"csrf_token": self.csrf, **data} if csrf else data
        extra = {"Content-Type": "application/x-www-form-urlencoded"}
        if htmx:
            extra["HX-Request"] = "true"
        body = urllib.parse.urlencode(fields).encode()
        return self._keep(self.client.http.post(path, headers=self._headers(extra), body=body))

    def sign_in(self, role: str = "agent") -> Page:
        users = load_file(DEV_SECRETS_PATH)["console_users"]
        email = next(email for email, user in users.items() if user["role"] == role)
        form = self.get("/console/sign-in")
        assert form.status == 200, form.body
        page = self.post(
            "/console/sign-in",
            {
                "email": email,
                "password": users[email]["password"],
                "form_token": form.field("form_token"),
                "next": "/console/",
            },
            htmx=False,
            csrf=False,
        )
        assert page.status == 303, page.body
        assert "scrm_session" in self.cookies
        self.get("/console/")  # the CSRF token of the session
        return page

    def sign_in_managed(self, role: str = "agent") -> Page:
        """Signing in as deployed (managed_login below): the sign-in page sends the browser to
        Cognito, which sends it back to the callback with a code for `role`'s user."""
        start = self.get("/console/sign-in")
        assert start.status == 303, start.body
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.location).query))
        code = f"code-{state['state'][:8]}"
        TokenEndpoint.codes[code] = (state["code_challenge"], role_token(role))
        page = self.get(f"/console/auth/callback?code={code}&state={state['state']}")
        assert page.status == 303, page.body
        self.get("/console/")  # the CSRF token of the session
        return page


class TokenEndpoint(BaseHTTPRequestHandler):
    """Cognito's /oauth2/token as far as the code grant goes: one code, bound to the challenge
    the authorize request carried, answered once with the user's access token."""

    codes: ClassVar[dict[str, tuple[str, str]]] = {}  # code -> (challenge, access token)

    def do_POST(self) -> None:
        fields = dict(urllib.parse.parse_qsl(self.rfile.read(int(self.headers["Content-Length"])).decode()))
        issued = self.codes.pop(fields.get("code", ""), None)
        if fields.get("grant_type") != "authorization_code" or issued is None:
            return self._answer(400, {"error": "invalid_grant"})
        if challenge(fields.get("code_verifier", "")) != issued[0]:
            return self._answer(400, {"error": "invalid_grant"})
        self._answer(200, {"access_token": issued[1], "token_type": "Bearer", "expires_in": 3600})
        return None

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@contextlib.contextmanager
def managed_login(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The console signing in as deployed (Cognito managed login, code + PKCE), against a
    TokenEndpoint on a local port; yields its domain."""
    from chalicelib import dependencies

    server = HTTPServer(("127.0.0.1", 0), TokenEndpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    domain = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("SOCIALCRM_CONSOLE_SIGNIN", "managed")
    monkeypatch.setenv("SOCIALCRM_COGNITO_DOMAIN", domain)
    monkeypatch.setenv("SOCIALCRM_CONSOLE_CLIENT_ID", aws["SOCIALCRM_COGNITO_CLIENT_IDS"].split(",")[0])
    monkeypatch.setenv("SOCIALCRM_CONSOLE_URL", "https://console.example/api/console")
    dependencies.reset()
    try:
        yield domain
    finally:
        server.shutdown()
        server.server_close()
        TokenEndpoint.codes.clear()  # a code a failed test left unexchanged
        dependencies.reset()
