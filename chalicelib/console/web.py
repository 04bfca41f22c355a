"""The console's web plumbing: its blueprint, the session cookie, CSRF, the security headers and
rendering. Pages are Jinja2 templates with autoescaping on for everything, so customer text (which
is untrusted) is always escaped; htmx swaps server-rendered fragments, and nothing runs inline:
the Content-Security-Policy allows scripts and styles from this origin only."""

from __future__ import annotations

import contextvars
import functools
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from http.cookies import CookieError, SimpleCookie
from pathlib import Path
from typing import Any, TypeVar

from chalice.app import Blueprint, Request, Response

from chalicelib.models.access import Role
from chalicelib.models.session import ConsoleSession

console = Blueprint(__name__)

SESSION_COOKIE = "scrm_session"
SIGNIN_COOKIE = "scrm_signin"  # the managed-login state, or the sign-in form's double-submit token
FORM = ["application/x-www-form-urlencoded"]
HERE = Path(__file__).parent
View = TypeVar("View", bound=Callable[..., Any])

_session: contextvars.ContextVar[ConsoleSession | None] = contextvars.ContextVar("console_session", default=None)


def request() -> Request:
    current = console.current_request
    if current is None:  # pragma: no cover - only inside a route
        raise RuntimeError("no request")
    return current


def header(name: str) -> str | None:
    headers = request().headers
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


def query() -> dict[str, str]:
    params = request().query_params
    return {str(key): str(value) for key, value in params.items()} if params else {}


def now() -> datetime:
    return datetime.now(UTC)


def cookies() -> dict[str, str]:
    raw = header("cookie") or ""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except CookieError:
        return {}
    return {name: morsel.value for name, morsel in jar.items()}


def form() -> dict[str, str]:
    """A urlencoded body; the last value of each name."""
    raw = request().raw_body or b""
    body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    fields = urllib.parse.parse_qsl(body, keep_blank_values=True)
    return dict(fields)


def prefix() -> str:
    """The path the console sits under as the browser sees it: deployed, API Gateway's stage
    (`/api`) comes before the route; `chalice local` has none."""
    from chalicelib.config import settings

    configured = settings().console_url
    if configured:
        return urllib.parse.urlsplit(configured).path.removesuffix("/console")
    context: dict[str, Any] = request().context or {}
    full, route = str(context.get("path") or ""), path()
    return full[: -len(route)] if route and full.endswith(route) and full != route else ""


def path() -> str:
    """The path asked for, without the stage: Chalice's `request.path` is the route's template
    (`/console/cases/{case_id}`), so its parameters are put back."""
    template = request().path or ""
    for name, value in (request().uri_params or {}).items():
        template = template.replace(f"{{{name}}}", urllib.parse.quote(str(value), safe=""))
    return template


def url(path: str = "/") -> str:
    """A console URL: `url('/inbox')` -> `/api/console/inbox` deployed, `/console/inbox` locally."""
    return f"{prefix()}/console{path}"


def is_htmx() -> bool:
    return header("hx-request") == "true"


def cookie(name: str, value: str, max_age: int) -> str:
    """HttpOnly, Secure, SameSite=Lax, the whole origin (the stage prefix included)."""
    return f"{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; Secure; SameSite=Lax"


def security_headers(extra_form_action: str = "") -> dict[str, str]:
    form_action = f"'self' {extra_form_action}".strip()
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            f"connect-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'; "
            "object-src 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",  # pages hold customer data: no cache keeps them
    }


def _headers(extra: dict[str, str] | None = None) -> dict[str, str | list[str]]:
    from chalicelib.config import settings

    headers: dict[str, str | list[str]] = {
        "Content-Type": "text/html; charset=utf-8",
        **security_headers(settings().cognito_domain),
    }
    headers.update(extra or {})
    return headers


@cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HERE / "templates")),
        autoescape=True,  # every template, whatever its name: customer text is never trusted
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    from chalicelib.console import present

    env.filters.update(present.FILTERS)
    env.globals["not_analysed"] = present.NOT_ANALYSED
    return env


def render(template: str, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> Response:
    session = _session.get()
    body = (
        environment()
        .get_template(template)
        .render(
            url=url,
            static=static_url,
            session=session,
            role=session.role if session else None,
            Role=Role,
            now=now(),
            **{"active": "", **context},
        )
    )
    return Response(body=body, status_code=status, headers=_headers(headers))


def redirect(location: str, headers: dict[str, str] | None = None) -> Response:
    """A 303 (after a POST the browser GETs), or for htmx an HX-Redirect it follows itself."""
    if is_htmx():
        return Response(body="", status_code=200, headers=_headers({"HX-Redirect": location, **(headers or {})}))
    return Response(body="", status_code=303, headers=_headers({"Location": location, **(headers or {})}))


def error(status: int, message: str) -> Response:
    return render("error.html", status=status, message=message)


@cache
def static_version() -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def static_url(name: str) -> str:
    return url(f"/static/{name}") + f"?v={static_version()}"


def signed_in() -> ConsoleSession:
    session = _session.get()
    if session is None:  # pragma: no cover - only behind `page`
        raise RuntimeError("no session")
    return session


def page(role: Role = Role.AGENT) -> Callable[[View], View]:
    """A console route: the session from its cookie (else to sign-in, or for htmx an HX-Redirect),
    the least role it needs (403 below it), and on POST the session's CSRF token. Checked in the
    app for every request: an API Gateway authorizer's 401 cannot send a browser to sign in."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            from chalicelib.dependencies import console_signin
            from chalicelib.services.console_sessions import csrf_ok

            current = console_signin().current(cookies().get(SESSION_COOKIE), now())
            if current is None:
                target = url("/sign-in")
                if request().method == "GET" and not is_htmx():
                    target += "?" + urllib.parse.urlencode({"next": path()})
                if is_htmx():
                    return Response(body="", status_code=401, headers=_headers({"HX-Redirect": target}))
                return Response(body="", status_code=303, headers=_headers({"Location": target}))
            token = _session.set(current)
            try:
                if request().method != "GET":
                    supplied = header("x-csrf-token") or form().get("csrf_token")
                    if not csrf_ok(current, supplied):
                        return error(403, "This form has expired. Reload the page and try again.")
                if current.role < role:
                    return error(403, f"This page needs the {role.label} role.")
                return view(*args, **kwargs)
            finally:
                _session.reset(token)

        guarded.required_role = role  # type: ignore[attr-defined]  # read by the route test
        return guarded  # type: ignore[return-value]

    return decorate
