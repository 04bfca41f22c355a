"""Security review of the console: each test here shows a defect (it fails until it is fixed)."""

from __future__ import annotations

import re
from typing import Any

from tests.console.test_console_pages import two_customers  # noqa: F401 - the fixture
from tests.console_client import Browser


def test_a_tampered_audit_cursor_is_said_not_a_500(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("supervisor")
    page = browser.get("/console/supervisor?cursor=zzz")
    assert page.status != 500, page.body
    assert page.status in (200, 400)


def test_a_tampered_alerts_cursor_is_said_not_a_500(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("agent")
    page = browser.get("/console/alerts?cursor=zzz")
    assert page.status != 500, page.body
    assert page.status in (200, 400)


def test_link_from_cannot_point_the_link_form_at_another_console_action(
    client: Any,
    two_customers: dict[str, str],  # noqa: F811
) -> None:
    """A link sent to an agent (`?link_from=`) decides where the "Link to …" button posts, with the
    session's CSRF token: here it unlinks two customers (or signs out, resolves a case…)."""
    ana, bruno = two_customers["ana"], two_customers["bruno"]
    browser = Browser(client)
    browser.sign_in("agent")
    steer = f"{ana}/links/{bruno}/unlink?"
    page = browser.post("/console/customers", {"q": "25000000000000701", "link_from": steer}, htmx=False)
    actions = re.findall(r'<form class="inline" method="post" action="([^"]+)"', page.body)
    assert f"/console/customers/{ana}" in page.body  # the search itself still answers
    from chalicelib.dependencies import link_store

    assert browser.post(f"/console/customers/{ana}/links", {"customer_id": bruno}, htmx=False).status == 303
    assert link_store().links(ana)
    for action in actions:  # none, since no such customer exists; never another action
        steered = action.replace("&amp;", "&")
        browser.post(steered, {"customer_id": ana}, htmx=False)  # the agent clicks "Link to …"
        assert link_store().links(ana), f"the button posted to {steered} and unlinked the two"
        assert re.fullmatch(r"/console/customers/[0-9a-f-]+/links", action), action
    honest = browser.post("/console/customers", {"q": "25000000000000702", "link_from": ana}, htmx=False)
    assert f'action="/console/customers/{ana}/links"' in honest.body  # a real customer still can


def test_the_sign_in_token_cookie_is_cleared_once_signed_in(client: Any, aws: dict[str, str]) -> None:
    browser = Browser(client)
    browser.sign_in("agent")
    assert "scrm_session" in browser.cookies
    assert "scrm_signin" not in browser.cookies  # the double-submit token outlives its use for 10 min
