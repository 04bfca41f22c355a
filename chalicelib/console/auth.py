"""Signing in and out of the console. Deployed, Cognito managed login (authorization code with
PKCE); on the local stack, e-mail and password against the local pool. Either way the result is a
session cookie (console/web.py) and no token kept anywhere."""

from __future__ import annotations

import secrets

from chalice.app import Response

from chalicelib.console.web import (
    FORM,
    SESSION_COOKIE,
    SIGNIN_COOKIE,
    console,
    cookie,
    cookies,
    form,
    header,
    now,
    query,
    redirect,
    render,
    url,
)
from chalicelib.observability import logger
from chalicelib.services.console_sessions import safe_next

SIGNIN_COOKIE_SECONDS = 600


def _managed() -> bool:
    from chalicelib.config import settings

    return settings().console_signin == "managed"


def _base_url() -> str:
    """The console's absolute URL, for the managed login's redirect_uri and logout_uri."""
    from chalicelib.config import settings

    configured = settings().console_url
    if configured:
        return configured
    host = header("host") or "localhost"
    scheme = header("x-forwarded-proto") or "https"
    return f"{scheme}://{host}{url('')}"


def _login() -> object:
    from chalicelib.adapters.oauth import ManagedLogin
    from chalicelib.config import settings

    config = settings()
    return ManagedLogin(config.require("cognito_domain"), config.require("console_client_id"))


def _start_session(access_token: str, next_path: str) -> Response:
    from chalicelib.config import settings
    from chalicelib.dependencies import console_signin

    started = console_signin().start(access_token, now())
    if started is None:
        logger.warning("console sign-in refused: no role")
        return render(
            "signin.html",
            status=403,
            managed=_managed(),
            error="Your account has no role in socialcrm.",
            next=next_path,
            form_token="",
        )
    cookie_value, session = started
    logger.info("console sign-in", extra={"principal": session.principal.id, "role": session.role.label})
    max_age = settings().console_session_hours * 3600
    response = redirect(f"{url('')}{safe_next(next_path).removeprefix('/console')}")
    # The session's cookie, and the sign-in's own (its token or state) used up.
    response.headers["Set-Cookie"] = [cookie(SESSION_COOKIE, cookie_value, max_age), cookie(SIGNIN_COOKIE, "", 0)]
    return response


@console.route("/console/sign-in", methods=["GET"])
def sign_in_page() -> Response:
    params = query()
    next_path = safe_next(params.get("next"))
    if _managed():
        from chalicelib.adapters.oauth import ManagedLogin, pkce_pair
        from chalicelib.dependencies import console_signin

        login = _login()
        assert isinstance(login, ManagedLogin)
        verifier, challenge = pkce_pair()
        state = console_signin().begin_managed(next_path, verifier, now())
        target = login.authorize_url(f"{_base_url()}/auth/callback", state, challenge)
        response = Response(body="", status_code=303, headers={"Location": target, "Cache-Control": "no-store"})
        response.headers["Set-Cookie"] = cookie(SIGNIN_COOKIE, state, SIGNIN_COOKIE_SECONDS)
        return response
    token = secrets.token_urlsafe(24)
    response = render("signin.html", managed=False, error=None, next=next_path, form_token=token)
    response.headers["Set-Cookie"] = cookie(SIGNIN_COOKIE, token, SIGNIN_COOKIE_SECONDS)
    return response


@console.route("/console/sign-in", methods=["POST"], content_types=FORM)
def sign_in() -> Response:
    """The local stack's e-mail and password form. Its token is also in a cookie (double submit):
    another site cannot sign a browser in as someone else (login CSRF)."""
    if _managed():
        return render("error.html", status=404, message="Sign in through the sign-in page.")
    import hmac

    fields = form()
    next_path = safe_next(fields.get("next"))
    expected = cookies().get(SIGNIN_COOKIE, "")
    supplied = fields.get("form_token", "")
    if not expected or not hmac.compare_digest(expected.encode(), supplied.encode()):
        return render(
            "signin.html",
            status=403,
            managed=False,
            error="The form expired; try again.",
            next=next_path,
            form_token="",
        )
    from chalicelib.adapters.cognito import PasswordSignin
    from chalicelib.config import settings

    config = settings()
    client_id = config.console_client_id or (config.cognito_client_ids[0] if config.cognito_client_ids else "")
    token = PasswordSignin(client_id).access_token(fields.get("email", "").strip(), fields.get("password", ""))
    if token is None:
        logger.warning("console sign-in refused")
        retry = secrets.token_urlsafe(24)
        response = render(
            "signin.html",
            status=401,
            managed=False,
            error="Wrong e-mail or password.",
            next=next_path,
            form_token=retry,
        )
        response.headers["Set-Cookie"] = cookie(SIGNIN_COOKIE, retry, SIGNIN_COOKIE_SECONDS)
        return response
    return _start_session(token, next_path)


@console.route("/console/auth/callback", methods=["GET"])
def auth_callback() -> Response:
    """Managed login sends the browser back here with a code and the state it was given."""
    from chalicelib.adapters.oauth import ManagedLogin
    from chalicelib.dependencies import console_signin

    params = query()
    pending = console_signin().finish_managed(params.get("state"), cookies().get(SIGNIN_COOKIE), now())
    code = params.get("code")
    if pending is None or not code:
        return render("error.html", status=400, message="That sign-in link is used or expired. Sign in again.")
    login = _login()
    assert isinstance(login, ManagedLogin)
    token = login.exchange(code, pending.verifier, f"{_base_url()}/auth/callback")
    if token is None:
        return render("error.html", status=400, message="Cognito refused the sign-in. Sign in again.")
    return _start_session(token, pending.next_path)


@console.route("/console/sign-out", methods=["POST"], content_types=FORM)
def sign_out() -> Response:
    """Ends the session (the item is deleted: the cookie is worth nothing from now on) and, deployed,
    the managed login's own session."""
    from chalicelib.console.web import is_htmx
    from chalicelib.dependencies import console_signin
    from chalicelib.services.console_sessions import csrf_ok

    signin = console_signin()
    value = cookies().get(SESSION_COOKIE)
    session = signin.current(value, now())
    if session is not None:
        if not csrf_ok(session, form().get("csrf_token") or header("x-csrf-token")):
            return render("error.html", status=403, message="This form has expired. Reload the page and try again.")
        signin.end(value)
        logger.info("console sign-out", extra={"principal": session.principal.id})
    target = url("/signed-out")
    if _managed():
        from chalicelib.adapters.oauth import ManagedLogin

        login = _login()
        assert isinstance(login, ManagedLogin)
        target = login.logout_url(f"{_base_url()}/signed-out")
    headers = {"Set-Cookie": cookie(SESSION_COOKIE, "", 0)}
    if is_htmx():
        return Response(body="", status_code=200, headers={"HX-Redirect": target, **headers})
    return Response(body="", status_code=303, headers={"Location": target, "Cache-Control": "no-store", **headers})


@console.route("/console/signed-out", methods=["GET"])
def signed_out() -> Response:
    return render("signed_out.html")


@console.route("/console/static/{name}", methods=["GET"])
def static_file(name: str) -> Response:
    """The console's own scripts and styles (htmx pinned and vendored): no CDN, no build step."""
    from chalicelib.console.web import HERE

    types = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
    path = HERE / "static" / name
    suffix = path.suffix
    if "/" in name or name.startswith(".") or suffix not in types or not path.is_file():
        return Response(body="not found", status_code=404, headers={"Content-Type": "text/plain"})
    return Response(
        body=path.read_text(encoding="utf-8"),
        status_code=200,
        headers={
            "Content-Type": types[suffix],
            "Cache-Control": "public, max-age=31536000, immutable",  # the URL carries the content's hash
            "X-Content-Type-Options": "nosniff",
        },
    )
