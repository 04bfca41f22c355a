"""Signing in to the console and what a session may do: on moto's Cognito, through the app.

The local stack's password form; managed login's code + PKCE round trip against a stand-in for
Cognito's token endpoint that checks the verifier as Cognito does; cookies, CSRF, sign-out, and
every console page's least role."""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.console_client import Browser, TokenEndpoint, managed_login
from tests.helpers import role_token


def test_without_a_session_a_page_leads_to_sign_in_and_htmx_is_told_where(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    page = browser.get("/console/cases/c1")
    assert page.status == 303
    assert page.location == "/console/sign-in?next=%2Fconsole%2Fcases%2Fc1"
    fragment = browser.get("/console/cases/c1", htmx=True)
    assert fragment.status == 401
    assert fragment.headers["hx-redirect"] == "/console/sign-in"


def test_the_session_cookie_is_httponly_secure_and_lax_and_pages_carry_the_csp(
    client: Any, aws: dict[str, str]
) -> None:
    browser = Browser(client)
    form = browser.get("/console/sign-in")
    assert "default-src 'self'" in form.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    signed = browser.sign_in("agent")
    cookies = signed.headers["set-cookie"]
    cookie = next(each for each in cookies if each.startswith("scrm_session="))
    assert any(each.startswith("scrm_signin=;") and "Max-Age=0" in each for each in cookies)
    for attribute in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert attribute in cookie
    inbox = browser.get("/console/")
    assert inbox.status == 200
    assert inbox.headers["cache-control"] == "no-store"
    assert inbox.headers["x-frame-options"] == "DENY"
    assert 'hx-headers=\'{"X-CSRF-Token": "' in inbox.body
    assert "agent@example.com" in inbox.body


def test_a_wrong_password_or_a_forged_form_signs_nobody_in(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    form = browser.get("/console/sign-in")
    token = form.field("form_token")
    wrong = browser.post(
        "/console/sign-in",
        {"email": "agent@example.com", "password": "not-it", "form_token": token},
        htmx=False,
        csrf=False,
    )
    assert wrong.status == 401
    assert "Wrong e-mail or password" in wrong.body
    assert "scrm_session" not in browser.cookies
    other = Browser(client)  # another site's form: no token cookie of this browser's
    forged = other.post(
        "/console/sign-in",
        {"email": "agent@example.com", "password": "Dev-only-agent-1!", "form_token": "guess"},
        htmx=False,
        csrf=False,
    )
    assert forged.status == 403
    assert "scrm_session" not in other.cookies


def test_a_post_without_the_sessions_csrf_token_changes_nothing(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("agent")
    refused = browser.post("/console/alerts/a1/ack", {"csrf_token": "not-the-token"})
    assert refused.status == 403
    assert "expired" in refused.body
    missing = browser.post("/console/alerts/a1/ack", {}, csrf=False)
    assert missing.status == 403
    allowed = browser.post("/console/alerts/a1/ack", {})
    assert allowed.status == 404  # past the CSRF check: there is no such alert


def test_signing_out_ends_the_session_on_the_server(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("supervisor")
    kept = dict(browser.cookies)
    out = browser.post("/console/sign-out", {}, htmx=False)
    assert out.status == 303
    assert out.location == "/console/signed-out"
    assert "scrm_session" not in browser.cookies
    replayed = Browser(client, cookies=kept)  # the old cookie, kept by someone
    assert replayed.get("/console/").status == 303


# Every console page and the least role it needs; the sign-in pages are tests/integration/test_ops_auth.
PAGES = {
    "GET /console": "agent",
    "GET /console/cases/{case_id}": "agent",
    "POST /console/cases/{case_id}/reply": "agent",
    "POST /console/cases/{case_id}/status": "agent",
    "POST /console/cases/{case_id}/assign": "agent",
    "POST /console/cases/{case_id}/notes": "agent",
    "POST /console/cases/{case_id}/viewing": "agent",
    "GET /console/alerts": "agent",
    "POST /console/alerts/{alert_id}/ack": "agent",
    "GET /console/customers": "agent",
    "POST /console/customers": "agent",
    "GET /console/customers/{customer_id}": "agent",
    "POST /console/customers/{customer_id}/links": "agent",
    "POST /console/customers/{customer_id}/links/{other_id}/unlink": "agent",
    "POST /console/customers/{customer_id}/suggestions/{other_id}/dismiss": "agent",
    "GET /console/supervisor": "supervisor",
    "GET /console/insight": "supervisor",
    "GET /console/customers/{customer_id}/privacy": "admin",
    "POST /console/customers/{customer_id}/export": "admin",
    "POST /console/customers/{customer_id}/erase": "admin",
}
ORDER = ["agent", "supervisor", "admin"]


def console_pages() -> dict[str, Any]:
    from app import app
    from tests.integration.test_ops_auth import CONSOLE_PUBLIC

    return {
        f"{method} {path}": route
        for path, methods in app.routes.items()
        for method, route in methods.items()
        if path.startswith("/console") and f"{method} {path}" not in CONSOLE_PUBLIC
    }


def test_every_console_page_declares_its_role() -> None:
    declared = {name: route.view_function.required_role.label for name, route in console_pages().items()}
    assert declared == PAGES


@pytest.fixture
def browsers(client: Any, aws: dict[str, str]) -> dict[str, Browser]:
    signed = {}
    for role in ORDER:
        browser = Browser(client)
        browser.sign_in(role)
        signed[role] = browser
    return signed


def test_a_role_below_a_pages_own_is_refused(browsers: dict[str, Browser]) -> None:
    for route, least in PAGES.items():
        method, path = route.split(" ", 1)
        concrete = path.replace("{", "x").replace("}", "")
        for role in ORDER:
            browser = browsers[role]
            page = browser.get(concrete) if method == "GET" else browser.post(concrete, {"status": "resolved"})
            if ORDER.index(role) < ORDER.index(least):
                assert page.status == 403, (route, role, page.status)
                assert f"needs the {least} role" in page.body
            else:
                assert page.status not in (401, 403), (route, role, page.status)


@pytest.fixture
def managed(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with managed_login(aws, monkeypatch) as domain:
        yield domain


def test_managed_login_with_pkce_signs_in_once_and_returns_to_the_page_asked_for(client: Any, managed: str) -> None:
    browser = Browser(client)
    start = browser.get("/console/sign-in?next=%2Fconsole%2Falerts")
    assert start.status == 303
    authorize = urllib.parse.urlsplit(start.location)
    query = dict(urllib.parse.parse_qsl(authorize.query))
    assert f"{authorize.scheme}://{authorize.netloc}" == managed
    assert authorize.path == "/oauth2/authorize"
    assert query["redirect_uri"] == "https://console.example/api/console/auth/callback"
    assert query["code_challenge_method"] == "S256"
    assert query["response_type"] == "code"
    assert browser.cookies["scrm_signin"] == query["state"]
    TokenEndpoint.codes["code-1"] = (query["code_challenge"], role_token("agent"))

    elsewhere = Browser(client)  # the same code and state pushed into another browser
    assert elsewhere.get(f"/console/auth/callback?code=code-1&state={query['state']}").status == 400
    assert "scrm_session" not in elsewhere.cookies

    back = browser.get(f"/console/auth/callback?code=code-1&state={query['state']}")
    assert back.status == 303, back.body
    assert back.location == "/api/console/alerts"  # the stage's prefix, from SOCIALCRM_CONSOLE_URL
    assert "scrm_session" in browser.cookies
    assert browser.get("/console/alerts").status == 200
    again = Browser(client, cookies={"scrm_signin": query["state"]})
    TokenEndpoint.codes["code-1"] = (query["code_challenge"], role_token("agent"))
    assert again.get(f"/console/auth/callback?code=code-1&state={query['state']}").status == 400  # state used

    out = browser.post("/console/sign-out", {}, htmx=False)
    assert out.location.startswith(f"{managed}/logout?")
    assert "logout_uri=https%3A%2F%2Fconsole.example%2Fapi%2Fconsole%2Fsigned-out" in out.location


def test_managed_login_refuses_a_code_cognito_refuses(client: Any, managed: str) -> None:
    browser = Browser(client)
    start = browser.get("/console/sign-in")
    state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start.location).query))["state"]
    TokenEndpoint.codes["code-2"] = ("a-challenge-of-another-verifier", role_token("agent"))
    page = browser.get(f"/console/auth/callback?code=code-2&state={state}")
    assert page.status == 400
    assert "Cognito refused" in page.body
    assert "scrm_session" not in browser.cookies


def test_static_files_are_served_with_their_type_and_nothing_else_is(client: Any, aws: dict[str, str]) -> None:
    script = client.http.get("/console/static/htmx.min.js")
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert client.http.get("/console/static/console.css").headers["Content-Type"].startswith("text/css")
    # the tab's icon: without one the browser asks /favicon.ico, which API Gateway refuses (403)
    assert client.http.get("/console/static/icon.svg").headers["Content-Type"] == "image/svg+xml"
    for name in ("..%2Ftemplates%2Fbase.html", "canned.json", ".hidden.js", "missing.js"):
        assert client.http.get(f"/console/static/{name}").status_code == 404
