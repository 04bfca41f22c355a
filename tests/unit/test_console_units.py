"""The console's pure parts: PKCE as RFC 7636 computes it, where a sign-in may send the browser
back to, how times read, the session's role being asked again, and the CSRF comparison."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.adapters.oauth import ManagedLogin, challenge, pkce_pair
from chalicelib.console import present
from chalicelib.models.access import Role
from chalicelib.models.session import ConsoleSession, PendingSignin
from chalicelib.services.console_sessions import RECHECK, ConsoleSignin, csrf_ok, safe_next

NOW = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)


def test_the_challenge_is_rfc_7636s_own_example() -> None:
    assert challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verifier, derived = pkce_pair()
    assert 43 <= len(verifier) <= 128
    assert derived == challenge(verifier)
    assert pkce_pair()[0] != verifier


def test_the_authorize_url_asks_for_a_code_with_s256_and_the_scope_getuser_needs() -> None:
    url = ManagedLogin("https://example.auth.eu-west-1.amazoncognito.com", "client1").authorize_url(
        "https://api.example/api/console/auth/callback", "state1", "challenge1"
    )
    assert url.startswith("https://example.auth.eu-west-1.amazoncognito.com/oauth2/authorize?")
    for part in ("response_type=code", "code_challenge_method=S256", "code_challenge=challenge1", "state=state1"):
        assert part in url
    assert "aws.cognito.signin.user.admin" in url
    with pytest.raises(ValueError, match="https"):
        ManagedLogin("http://example.com", "client1")


@pytest.mark.parametrize(
    ("wanted", "kept"),
    [
        ("/console/cases/c1", "/console/cases/c1"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/console/\\evil", "/console/"),
        ("/other", "/console/"),
        (None, "/console/"),
    ],
)
def test_a_sign_in_only_returns_to_the_console(wanted: str | None, kept: str) -> None:
    assert safe_next(wanted) == kept


def test_times_read_as_people_say_them() -> None:
    assert present.duration(40) == "40 s"
    assert present.duration(7 * 60 + 5) == "7 min"
    assert present.duration(2 * 3600 + 5 * 60) == "2 h 5 min"
    assert present.duration(2 * 86400 + 3 * 3600) == "2 d 3 h"
    assert present.since("2026-12-06T14:00:00Z", NOW) == "1 h"
    assert present.until("2026-12-06T15:30:00Z", NOW) == "in 30 min"
    assert present.until("2026-12-06T14:30:00Z", NOW) == "30 min ago"
    assert present.first_words("a  b\n c") == "a b c"
    assert present.first_words("x" * 200, 10) == "x" * 9 + "…"


def test_a_customer_is_named_the_same_on_every_page() -> None:
    customer_id = "005df7ed-1111-2222-3333-444455556666"
    assert present.who({"customer_id": customer_id, "display_name": "Ana  Silva", "handle": "ana"}) == "Ana Silva"
    assert present.who({"customer_id": customer_id, "display_name": None, "handle": "ana"}) == "ana"
    assert present.who({"customer_id": customer_id, "display_name": " ", "handle": None}) == "Customer 005df7ed"
    assert present.who(None, customer_id) == "Customer 005df7ed"  # a view not found: its id
    assert present.who("Kasia", customer_id) == "Kasia"  # a name the inbox already chose
    assert present.who(None) == "Customer"


class FakeSessions:
    def __init__(self) -> None:
        self.items: dict[str, ConsoleSession] = {}
        self.signins: dict[str, PendingSignin] = {}

    def create(self, cookie_value: str, session: ConsoleSession) -> None:
        self.items[cookie_value] = session

    def get(self, cookie_value: str, now: datetime) -> ConsoleSession | None:
        session = self.items.get(cookie_value)
        return session if session and session.expires_at > now else None

    def confirmed(self, cookie_value: str, session: ConsoleSession, role: Role, at: datetime) -> ConsoleSession:
        from dataclasses import replace

        self.items[cookie_value] = replace(session, role=role, checked_at=at)
        return self.items[cookie_value]

    def end(self, cookie_value: str) -> None:
        self.items.pop(cookie_value, None)

    def begin_signin(self, state: str, pending: PendingSignin, expires_at: datetime) -> None:
        self.signins[state] = pending

    def take_signin(self, state: str, now: datetime) -> PendingSignin | None:
        return self.signins.pop(state, None)


class FakeDirectory:
    def __init__(self) -> None:
        self.roles: dict[str, Role | None] = {"ana": Role.SUPERVISOR}
        self.asked = 0

    def user(self, token: str) -> tuple[str, Role] | None:
        role = self.roles.get(token)
        return (token, role) if role else None

    def email(self, token: str) -> str | None:
        return f"{token}@example.com"

    def role_of(self, username: str) -> Role | None:
        self.asked += 1
        return self.roles.get(username)


def test_the_role_is_asked_again_after_a_while_and_a_lost_role_ends_the_session() -> None:
    sessions, directory = FakeSessions(), FakeDirectory()
    signin = ConsoleSignin(sessions, directory, hours=12)
    started = signin.start("ana", NOW)
    assert started is not None
    cookie, session = started
    assert session.role is Role.SUPERVISOR
    assert session.principal.id == "cognito:ana"
    assert len(session.csrf) >= 32
    assert signin.current(cookie, NOW + RECHECK / 2) == session
    assert directory.asked == 0
    directory.roles["ana"] = Role.AGENT  # demoted in Cognito
    later = signin.current(cookie, NOW + RECHECK + timedelta(seconds=1))
    assert later is not None
    assert later.role is Role.AGENT
    assert directory.asked == 1
    directory.roles["ana"] = None  # taken out of every group, or disabled
    assert signin.current(cookie, NOW + 3 * RECHECK) is None
    assert cookie not in sessions.items  # ended, not merely refused
    assert signin.current(cookie, NOW + 3 * RECHECK) is None
    assert signin.start("nobody", NOW) is None  # no role here: no session
    assert signin.current(None, NOW) is None


def test_a_session_expires_after_its_working_day() -> None:
    signin = ConsoleSignin(FakeSessions(), FakeDirectory(), hours=12)
    started = signin.start("ana", NOW)
    assert started is not None
    assert signin.current(started[0], NOW + timedelta(hours=12, seconds=1)) is None


def test_a_managed_sign_in_finishes_once_and_only_in_the_browser_that_began_it() -> None:
    sessions = FakeSessions()
    signin = ConsoleSignin(sessions, FakeDirectory(), hours=12)
    state = signin.begin_managed("/console/cases/c1", "verifier1", NOW)
    assert signin.finish_managed(state, "another-browsers-state", NOW) is None
    assert signin.finish_managed(state, None, NOW) is None
    assert signin.finish_managed(state, state, NOW) == PendingSignin("verifier1", "/console/cases/c1")
    assert signin.finish_managed(state, state, NOW) is None  # used
    other = signin.begin_managed("https://evil.example/", "v", NOW)
    assert sessions.signins[other].next_path == "/console/"


def test_csrf_tokens_compare_exactly() -> None:
    session = ConsoleSession("ana", None, Role.AGENT, "token-1", NOW, NOW, NOW + timedelta(hours=1))
    assert csrf_ok(session, "token-1")
    assert not csrf_ok(session, "token-2")
    assert not csrf_ok(session, "")
    assert not csrf_ok(session, None)


def test_the_sentiment_chart_puts_positive_up_and_oldest_left() -> None:
    from chalicelib.console.queries import sentiment_points

    def said(at: str, positive: float, negative: float, direction: str = "inbound") -> dict[str, object]:
        scores = {"POSITIVE": positive, "NEGATIVE": negative, "NEUTRAL": 0.0, "MIXED": 0.0}
        return {"occurred_at": at, "direction": direction, "sentiment": {"label": "X", "scores": scores}}

    newest_first = [
        said("2026-12-06T12:00:00Z", 0.0, 1.0),
        said("2026-12-06T11:30:00Z", 0.9, 0.0, direction="outbound"),  # the brand's: not the customer's mood
        said("2026-12-06T11:00:00Z", 1.0, 0.0),
    ]
    chart = sentiment_points(newest_first, width=300, height=60)
    assert chart["count"] == 2
    assert chart["dots"] == [
        (0.0, 0.0),
        (300.0, 60.0),
    ]  # the older, positive, top left; the newer, negative, bottom right
    assert chart["points"] == "0.0,0.0 300.0,60.0"
    alone = sentiment_points([said("2026-12-06T12:00:00Z", 0.5, 0.5)], width=300, height=60)
    assert alone["dots"] == [(150.0, 30.0)]  # one sample sits in the middle
    assert sentiment_points([], width=300, height=60)["count"] == 0
