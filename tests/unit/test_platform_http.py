"""The platforms' HTTP adapter (chalicelib/adapters/platforms.py) against a tiny local server: a
request that may have reached the platform (a timeout, a dropped connection) is told apart from one
that never left (a closed port); error statuses come back as answers; a Trustpilot-like OAuth token is
cached until shortly before it expires."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chalicelib.adapters.platforms import TOKEN_MARGIN_SECONDS, NoAnswer, PlatformHttp
from chalicelib.channels.outbound import Credentials, OutboundRequest
from chalicelib.channels.trustpilot.send import TOKEN_PATH, TrustpilotSender

TIMEOUT = 0.2
LIFETIME = 1000  # seconds the token server says its tokens last
CREDENTIALS = Credentials(
    {
        "trustpilot_clients": {
            "UNIT": {"client_id": "cid", "client_secret": "csecret", "business_user_id": "BUSER"},
            "UNIT2": {"client_id": "cid2", "client_secret": "csecret2", "business_user_id": "BUSER2"},
            "REFUSED": {"client_id": "bad", "client_secret": "bad", "business_user_id": "B"},
        }
    }
)


@dataclass
class Seen:
    """What the server received, and a way to let a slow answer finish."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    tokens_issued: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    seen: Seen  # set on the server's handler class

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with self.seen.lock:
            self.seen.requests.append(
                {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body}
            )
        if self.path == "/slow":
            # Longer than the client's timeout; released at teardown, so no test waits for it.
            self.seen.release.wait(5)
            self._answer(200, b'{"ok": true}')
        elif self.path == "/hang-up":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif self.path == "/ok":
            self._answer(200, b'{"recipient_id": "PSID", "message_id": "m_1"}', {"X-Custom": "One"})
        elif self.path == "/not-found":
            self._answer(
                404,
                b'{"error": {"message": "Unsupported post request", "code": 100, "error_subcode": 33}}',
                {"X-Fb-Trace-Id": "Abc"},
            )
        elif self.path == "/limited":
            self._answer(
                429,
                b'{"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7"}',
                {"Retry-After": "7"},
            )
        elif self.path == "/down":
            self._answer(503, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"})
        elif self.path == TOKEN_PATH:
            if "Basic " + _basic("bad", "bad") == self.headers.get("Authorization"):
                self._answer(401, b'{"error": "invalid_client"}')
                return
            with self.seen.lock:
                self.seen.tokens_issued += 1
                issued = self.seen.tokens_issued
            document = {"access_token": f"token-{issued}", "expires_in": str(LIFETIME), "token_type": "Bearer"}
            self._answer(200, json.dumps(document).encode())
        else:
            self._answer(404, b"")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        for name, value in all_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (the timeout test)
            self.wfile.write(body)


def _basic(client_id: str, secret: str) -> str:
    return base64.b64encode(f"{client_id}:{secret}".encode()).decode("ascii")


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that timed out leaves a broken pipe behind: expected here


@dataclass
class Platform:
    base: str
    seen: Seen


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    seen = Seen()
    handler = type("BoundHandler", (Handler,), {"seen": seen})
    server = QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Platform(f"http://127.0.0.1:{server.server_address[1]}", seen)
    finally:
        seen.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=2)


def post(url: str, body: bytes = b'{"text": "hi"}', headers: dict[str, str] | None = None) -> OutboundRequest:
    return OutboundRequest(
        "POST", url, headers or {"Content-Type": "application/json", "Authorization": "Bearer page-token"}, body, "/x"
    )


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the probe is closed


# --- what the platform answered -------------------------------------------------------------------


def test_a_2xx_is_returned_with_lower_case_headers_and_the_request_it_answers(platform: Platform) -> None:
    http = PlatformHttp(timeout=2)
    request = post(f"{platform.base}/ok", b'{"text": "caf\xc3\xa9"}')
    answer = http.call(request)
    assert answer.status == 200
    assert json.loads(answer.body) == {"recipient_id": "PSID", "message_id": "m_1"}
    assert answer.headers["x-custom"] == "One"
    assert "X-Custom" not in answer.headers
    assert answer.request == request
    assert http.calls == 1
    received = platform.seen.requests[-1]
    assert (received["method"], received["path"], received["body"]) == ("POST", "/ok", b'{"text": "caf\xc3\xa9"}')
    assert received["headers"]["Authorization"] == "Bearer page-token"
    assert received["headers"]["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("path", "status", "words", "header", "value"),
    [
        ("/not-found", 404, b"Unsupported post request", "x-fb-trace-id", "Abc"),
        ("/limited", 429, b"retry after 7", "retry-after", "7"),
        ("/down", 503, b"Service Unavailable", "content-type", "text/html"),
    ],
)
def test_4xx_and_5xx_come_back_as_answers_with_their_bodies(
    platform: Platform, path: str, status: int, words: bytes, header: str, value: str
) -> None:
    http = PlatformHttp(timeout=2)
    request = post(platform.base + path)
    answer = http.call(request)
    assert answer.status == status
    assert words in answer.body
    assert answer.headers[header] == value
    assert answer.request == request


def test_a_request_without_a_body_is_sent_as_is(platform: Platform) -> None:
    answer = PlatformHttp(timeout=2).call(OutboundRequest("GET", f"{platform.base}/ok", {}, b"", "/ok"))
    assert answer.status == 200
    assert platform.seen.requests[-1]["method"] == "GET"


# --- no answer: reached or not --------------------------------------------------------------------


def test_an_answer_slower_than_the_timeout_may_have_reached_the_platform(platform: Platform) -> None:
    http = PlatformHttp(timeout=TIMEOUT)
    before = len(platform.seen.requests)
    with pytest.raises(NoAnswer) as raised:
        http.call(post(f"{platform.base}/slow"))
    assert raised.value.reached is True
    assert isinstance(raised.value, ConnectionError)
    # It did reach the server: exactly why it must never be sent again.
    assert [r["path"] for r in platform.seen.requests[before:]] == ["/slow"]


def test_a_timeout_while_the_request_is_being_sent_may_have_reached_the_platform() -> None:
    # A platform that took the connection but reads nothing: the body fills the socket buffers and
    # the send times out part way; some of the request already left.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/messages"
        with pytest.raises(NoAnswer) as raised:
            PlatformHttp(timeout=TIMEOUT).call(post(url, b"x" * 64_000_000))
    assert raised.value.reached is True


def test_a_connection_dropped_after_the_request_may_have_reached_the_platform(platform: Platform) -> None:
    with pytest.raises(NoAnswer) as raised:
        PlatformHttp(timeout=2).call(post(f"{platform.base}/hang-up"))
    assert raised.value.reached is True


def test_a_closed_port_never_reached_the_platform() -> None:
    http = PlatformHttp(timeout=2)
    with pytest.raises(NoAnswer) as raised:
        http.call(post(f"http://127.0.0.1:{closed_port()}/messages"))
    assert raised.value.reached is False
    assert "page-token" not in str(raised.value)
    assert http.calls == 1


# --- Trustpilot-like OAuth tokens -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_is_cached_until_shortly_before_it_expires_then_refreshed(platform: Platform) -> None:
    clock = Clock()
    http = PlatformHttp(timeout=2, clock=clock)
    sender = TrustpilotSender()
    issued = platform.seen.tokens_issued

    first = http.token(sender, CREDENTIALS, platform.base, "UNIT")
    assert first == f"token-{issued + 1}"
    token_request = platform.seen.requests[-1]
    assert (token_request["method"], token_request["path"]) == ("POST", TOKEN_PATH)
    assert token_request["headers"]["Authorization"] == "Basic " + _basic("cid", "csecret")
    assert token_request["body"] == b"grant_type=client_credentials"

    fresh_for = LIFETIME - TOKEN_MARGIN_SECONDS
    clock.now += fresh_for - 1
    assert http.token(sender, CREDENTIALS, platform.base, "UNIT") == first
    assert platform.seen.tokens_issued == issued + 1
    assert http.calls == 1

    clock.now += 1  # now within the margin before expiry
    second = http.token(sender, CREDENTIALS, platform.base, "UNIT")
    assert second == f"token-{issued + 2}"
    assert http.calls == 2
    assert http.token(sender, CREDENTIALS, platform.base, "UNIT") == second
    assert http.calls == 2


def test_tokens_are_cached_per_account_and_base_url(platform: Platform) -> None:
    http = PlatformHttp(timeout=2, clock=Clock())
    sender = TrustpilotSender()
    one = http.token(sender, CREDENTIALS, platform.base, "UNIT")
    two = http.token(sender, CREDENTIALS, platform.base, "UNIT2")
    assert one != two
    assert platform.seen.requests[-1]["headers"]["Authorization"] == "Basic " + _basic("cid2", "csecret2")
    assert http.token(sender, CREDENTIALS, platform.base, "UNIT") == one
    assert http.token(sender, CREDENTIALS, platform.base + "/", "UNIT") != one  # another base URL
    assert http.calls == 3


def test_a_forgotten_token_is_fetched_again(platform: Platform) -> None:
    http = PlatformHttp(timeout=2, clock=Clock())
    sender = TrustpilotSender()
    first = http.token(sender, CREDENTIALS, platform.base, "UNIT")
    http.forget_token(platform.base, "UNIT")
    http.forget_token(platform.base, "NEVER-CACHED")  # harmless
    second = http.token(sender, CREDENTIALS, platform.base, "UNIT")
    assert second is not None
    assert second != first
    assert http.calls == 2


def test_a_refused_token_request_is_none_and_not_cached(platform: Platform) -> None:
    http = PlatformHttp(timeout=2, clock=Clock())
    sender = TrustpilotSender()
    assert http.token(sender, CREDENTIALS, platform.base, "REFUSED") is None
    assert http.token(sender, CREDENTIALS, platform.base, "REFUSED") is None
    assert http.calls == 2


def test_a_token_endpoint_that_does_not_answer_raises_no_answer() -> None:
    http = PlatformHttp(timeout=2, clock=Clock())
    with pytest.raises(NoAnswer) as raised:
        http.token(TrustpilotSender(), CREDENTIALS, f"http://127.0.0.1:{closed_port()}", "UNIT")
    assert raised.value.reached is False
