"""The local API server: `chalice local`, with one thing of API Gateway's it lacks.

When a Lambda authorizer fails with the message "Unauthorized", API Gateway answers 401; Chalice's
local server instead drops the connection. The ops API relies on that 401, so this runs Chalice's
own local server with an authorizer shim that answers as API Gateway does. Everything else is
Chalice's: the same config, stage environment variables, routing and authorizer calls.

    python -m tools.local.api --stage dev --host 127.0.0.1 --port 8000
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any
from urllib.parse import urlsplit

from chalice import local
from chalice.cli import create_local_server
from chalice.cli.factory import CLIFactory

from tools.local import logs
from tools.template import ROOT

requests_log = logging.getLogger("local.api")


class ApiGatewayAuthorizer(local.LocalGatewayAuthorizer):
    def authorize(self, raw_path: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return super().authorize(raw_path, lambda_event, lambda_context)
        except local.LocalGatewayException:
            raise
        except Exception as exc:
            if str(exc) != "Unauthorized":
                raise
            raise local.NotAuthorizedError(
                {"x-amzn-RequestId": lambda_context.aws_request_id, "x-amzn-ErrorType": "UnauthorizedException"},
                b'{"message":"Unauthorized"}',
            ) from None


def install() -> None:
    """Make Chalice's local gateway (the local server's, and chalice.test's) answer as API Gateway."""
    local.LocalGatewayAuthorizer = ApiGatewayAuthorizer  # type: ignore[misc]


def _log_request(handler: Any, code: Any = "-", size: Any = "-") -> None:
    """One line per request, as the stack logs everything, with the path but never the query
    string: Trustpilot's token travels there, and an X CRC token could hold a forged delivery."""
    requests_log.info("%s %s -> %s", handler.command, urlsplit(handler.path).path, code)


def _log_message(handler: Any, format: str, *args: Any) -> None:
    """The server's own messages (errors): never the request line, which holds the query string."""
    requests_log.warning("%s %s: %s", handler.command, urlsplit(handler.path or "").path, format % args)


def quiet_access_log() -> None:
    local.ChaliceRequestHandler.log_request = _log_request
    local.ChaliceRequestHandler.log_message = _log_message


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    logs.configure()
    install()
    quiet_access_log()
    os.environ["AWS_CHALICE_CLI_MODE"] = "true"
    server = create_local_server(
        CLIFactory(project_dir=str(ROOT), environ=os.environ), args.host, args.port, args.stage
    )
    server.serve_forever()


if __name__ == "__main__":
    main()
