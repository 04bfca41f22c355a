"""The sandbox over HTTP: a standard-library threaded server in front of `Sandbox.handle`.

The request line is never logged: Telegram's bot token travels in the path. The sandbox logs one
line per call itself, naming the endpoint as the platform documents it (`/bot{token}/sendMessage`).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tools.sandbox.app import Request, Sandbox
from tools.sandbox.callbacks import Dispatcher
from tools.sandbox.errors import Answer, json_answer

log = logging.getLogger("local.sandbox")

MAX_BODY = 10 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        split = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._answer(json_answer(413, {"error": "body too large"}))
            self.close_connection = True
            return
        body = self.rfile.read(length) if length > 0 else b""
        request = Request(
            method=self.command,
            path=split.path,
            query=dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True)),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
            host=self.headers.get("Host") or self.server.url.removeprefix("http://"),
        )
        try:
            answer = self.server.sandbox.handle(request)
        except Exception as exc:  # a bug of the sandbox must not look like the platform's answer
            log.error("sandbox failed on %s: %s", self.command, type(exc).__name__)
            answer = json_answer(500, {"error": f"the sandbox failed: {type(exc).__name__}"})
        self._answer(answer)

    def _answer(self, answer: Answer) -> None:
        self.send_response(answer.status)
        if answer.body or answer.status not in (204, 304):
            self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if answer.body and self.command != "HEAD":
            self.wfile.write(answer.body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Not the request line (it may hold a bot token): the sandbox logs each call itself."""

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("http: %s", format % args)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, dispatcher: Dispatcher | None) -> None:
        super().__init__(address, _Handler)
        self.sandbox = sandbox
        self.dispatcher = dispatcher

    @property
    def url(self) -> str:
        host, port = self.server_address[0], self.server_address[1]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        if self.dispatcher is not None:
            self.dispatcher.close()


def create(
    secrets_document: Mapping[str, Any],
    host: str = "127.0.0.1",
    port: int = 0,
    callback_url: str | None = None,
    callback_delay: float = 0.5,
) -> SandboxServer:
    """A sandbox server bound to (host, port) (port 0: a free one), not yet serving. With a
    callback URL, it posts the platforms' echoes and statuses there."""
    dispatcher = Dispatcher(callback_url, secrets_document, callback_delay) if callback_url else None
    return SandboxServer((host, port), Sandbox(secrets_document, dispatcher), dispatcher)


def start(
    secrets_document: Mapping[str, Any],
    host: str = "127.0.0.1",
    port: int = 0,
    callback_url: str | None = None,
    callback_delay: float = 0.5,
) -> SandboxServer:
    """A sandbox serving from a daemon thread of this process (for tests); `close()` stops it."""
    server = create(secrets_document, host, port, callback_url, callback_delay)
    threading.Thread(target=server.serve_forever, name="sandbox", daemon=True).start()
    return server
