"""A browser for HTML tests: Chalice's test client with a cookie jar, form posts and the CSRF
token read from the page, as a person's browser would carry them."""

from __future__ import annotations

import re
import urllib.parse
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

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
