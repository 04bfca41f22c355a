"""Who may call the ops API, and which role each route needs.

The authorizer runs as its own Lambda in front of API Gateway: it raises `Unauthorized` for a
missing or wrong token, which API Gateway answers with 401, and otherwise lets the request through
with the principal and its role in the request context (API Gateway caches that answer per token
for `ttl_seconds`). Each route then declares the least role it needs with `requires`, checked on
the server for every request (403 below it); a test enumerates every route and its role.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from chalice.app import AuthRequest, AuthResponse, Blueprint, ForbiddenError, UnauthorizedError

from chalicelib.dependencies import ops_access
from chalicelib.models.access import Principal, Role
from chalicelib.observability import logger

access = Blueprint(__name__)
View = TypeVar("View", bound=Callable[..., Any])


@access.authorizer(ttl_seconds=300, header="Authorization")
def ops_authorizer(auth_request: AuthRequest) -> AuthResponse:
    principal = ops_access().principal(auth_request.token)
    if principal is None:
        logger.warning("ops request refused")
        raise UnauthorizedError("Unauthorized")  # the exact message API Gateway turns into 401
    return AuthResponse(routes=["*"], principal_id=principal.id, context={"role": principal.role.label})


def current_principal() -> Principal | None:
    """Who the authorizer let in, from the request context (None outside an authorised request)."""
    context = getattr(access.current_request, "context", None) or {}
    authorizer = context.get("authorizer") or {}
    role = Role.named(str(authorizer.get("role") or ""))
    principal = authorizer.get("principalId")
    return Principal(str(principal), role) if principal and role else None


def requires(role: Role) -> Callable[[View], View]:
    """The least role a route needs. The authorizer has let the caller in; this decides what they
    may do, on every request, whatever API Gateway cached."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            principal = current_principal()
            if principal is None or principal.role < role:
                raise ForbiddenError(f"this needs the {role.label} role")
            return view(*args, **kwargs)

        guarded.required_role = role  # type: ignore[attr-defined]  # read by the route test
        return guarded  # type: ignore[return-value]

    return decorate


def caller() -> Principal:
    """The principal of a route behind `requires` (always set there)."""
    principal = current_principal()
    if principal is None:  # pragma: no cover - `requires` refused the request already
        raise ForbiddenError("no principal")
    return principal
