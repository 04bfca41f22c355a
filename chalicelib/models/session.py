"""A person signed in to the console: who, with which role, and the token their POSTs must carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chalicelib.models.access import Principal, Role


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    email: str | None
    role: Role
    csrf: str
    created_at: datetime
    checked_at: datetime
    expires_at: datetime

    @property
    def principal(self) -> Principal:
        """The same principal the JSON API knows for this person, so the audit trail is one."""
        return Principal(f"cognito:{self.username}", self.role)

    @property
    def name(self) -> str:
        return self.email or self.username


@dataclass(frozen=True)
class PendingSignin:
    """A managed-login attempt: the PKCE verifier and the console path to return to."""

    verifier: str
    next_path: str
