"""Console sessions and managed-login attempts in the single table, keyed by hashes of the values
the browser holds (store/keys.session, keys.signin), with a TTL; reads also check the time, since
DynamoDB deletes expired items only eventually."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from pynamodb.exceptions import DeleteError, DoesNotExist

from chalicelib.models.access import Role
from chalicelib.models.session import ConsoleSession, PendingSignin
from chalicelib.store import keys
from chalicelib.store.models import SessionItem, SigninItem

SESSION_SK = "SESSION"
SIGNIN_SK = "SIGNIN"


class SessionStore:
    def create(self, cookie_value: str, session: ConsoleSession) -> None:
        SessionItem(
            keys.session(cookie_value),
            SESSION_SK,
            username=session.username,
            email=session.email,
            role=session.role.label,
            csrf=session.csrf,
            created_at=session.created_at,
            checked_at=session.checked_at,
            expires_at=session.expires_at,
        ).save(condition=SessionItem.pk.does_not_exist())

    def get(self, cookie_value: str, now: datetime) -> ConsoleSession | None:
        try:
            item = SessionItem.get(keys.session(cookie_value), SESSION_SK)
        except DoesNotExist:
            return None
        role = Role.named(item.role)
        if role is None or item.expires_at is None or item.expires_at <= now:
            return None
        return ConsoleSession(
            username=item.username,
            email=item.email,
            role=role,
            csrf=item.csrf,
            created_at=item.created_at,
            checked_at=item.checked_at,
            expires_at=item.expires_at,
        )

    def confirmed(self, cookie_value: str, session: ConsoleSession, role: Role, at: datetime) -> ConsoleSession:
        """The role as Cognito holds it now, and when that was asked."""
        SessionItem(keys.session(cookie_value), SESSION_SK).update(
            actions=[SessionItem.role.set(role.label), SessionItem.checked_at.set(at)],
            condition=SessionItem.pk.exists(),
        )
        return replace(session, role=role, checked_at=at)

    def end(self, cookie_value: str) -> None:
        SessionItem(keys.session(cookie_value), SESSION_SK).delete()

    def begin_signin(self, state: str, pending: PendingSignin, expires_at: datetime) -> None:
        SigninItem(
            keys.signin(state), SIGNIN_SK, verifier=pending.verifier, next_path=pending.next_path, expires_at=expires_at
        ).save()

    def take_signin(self, state: str, now: datetime) -> PendingSignin | None:
        """The attempt, at most once: deleted as it is read, so a replayed callback finds nothing."""
        key = keys.signin(state)
        try:
            item = SigninItem.get(key, SIGNIN_SK, consistent_read=True)
            SigninItem(key, SIGNIN_SK).delete(condition=SigninItem.pk.exists())
        except (DoesNotExist, DeleteError):
            return None
        if item.expires_at is None or item.expires_at <= now:
            return None
        return PendingSignin(item.verifier, item.next_path)
