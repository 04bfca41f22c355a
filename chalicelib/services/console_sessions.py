"""Signing people in to the console and keeping them signed in.

A session is a random value in an HttpOnly cookie; the table keeps its hash with who it is, their
role and a CSRF token (store/sessions.py). No Cognito token outlives the sign-in: the role is asked
of Cognito again by username every RECHECK, so someone taken out of a group or disabled loses the
console within minutes, as they lose the JSON API within the authorizer's cache time."""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from typing import Protocol

from chalicelib.models.access import Role
from chalicelib.models.session import ConsoleSession, PendingSignin

RECHECK = timedelta(minutes=5)
SIGNIN_TTL = timedelta(minutes=10)


class Sessions(Protocol):
    def create(self, cookie_value: str, session: ConsoleSession) -> None: ...

    def get(self, cookie_value: str, now: datetime) -> ConsoleSession | None: ...

    def confirmed(self, cookie_value: str, session: ConsoleSession, role: Role, at: datetime) -> ConsoleSession: ...

    def end(self, cookie_value: str) -> None: ...

    def begin_signin(self, state: str, pending: PendingSignin, expires_at: datetime) -> None: ...

    def take_signin(self, state: str, now: datetime) -> PendingSignin | None: ...


class Directory(Protocol):
    """Cognito as the console needs it (adapters/cognito.CognitoVerifier)."""

    def user(self, token: str) -> tuple[str, Role] | None: ...

    def email(self, token: str) -> str | None: ...

    def role_of(self, username: str) -> Role | None: ...


class ConsoleSignin:
    def __init__(self, sessions: Sessions, directory: Directory, hours: int) -> None:
        self._sessions = sessions
        self._directory = directory
        self._lifetime = timedelta(hours=hours)

    def start(self, access_token: str, now: datetime) -> tuple[str, ConsoleSession] | None:
        """A new session for the holder of a fresh access token (from the password form or the
        managed login's code exchange); None for someone with no role here. The token is dropped."""
        user = self._directory.user(access_token)
        if user is None:
            return None
        username, role = user
        session = ConsoleSession(
            username=username,
            email=self._directory.email(access_token),
            role=role,
            csrf=secrets.token_urlsafe(32),
            created_at=now,
            checked_at=now,
            expires_at=now + self._lifetime,
        )
        cookie_value = secrets.token_urlsafe(32)
        self._sessions.create(cookie_value, session)
        return cookie_value, session

    def current(self, cookie_value: str | None, now: datetime) -> ConsoleSession | None:
        """The session the cookie names, its role confirmed within RECHECK; None if there is none,
        it expired, or Cognito no longer gives its user a role (then it is ended)."""
        if not cookie_value:
            return None
        session = self._sessions.get(cookie_value, now)
        if session is None:
            return None
        if now - session.checked_at < RECHECK:
            return session
        role = self._directory.role_of(session.username)
        if role is None:
            self._sessions.end(cookie_value)
            return None
        return self._sessions.confirmed(cookie_value, session, role, now)

    def end(self, cookie_value: str | None) -> None:
        if cookie_value:
            self._sessions.end(cookie_value)

    def begin_managed(self, next_path: str, verifier: str, now: datetime) -> str:
        """A managed-login attempt: its state (for the authorize URL and the browser's cookie)."""
        state = secrets.token_urlsafe(24)
        self._sessions.begin_signin(state, PendingSignin(verifier, safe_next(next_path)), now + SIGNIN_TTL)
        return state

    def finish_managed(self, state: str | None, browser_state: str | None, now: datetime) -> PendingSignin | None:
        """The attempt the callback's state names, once, and only in the browser that began it (its
        cookie holds the same state): a code pushed into someone else's browser signs nobody in."""
        if not state or not browser_state or not hmac.compare_digest(state, browser_state):
            return None
        return self._sessions.take_signin(state, now)


def csrf_ok(session: ConsoleSession, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(session.csrf.encode(), (supplied or "").encode())


def safe_next(path: str | None) -> str:
    """Only a path of the console itself: never another site (an open redirect) nor a scheme."""
    if not path or not path.startswith("/console/") or path.startswith("//") or "\\" in path or "://" in path:
        return "/console/"
    return path
