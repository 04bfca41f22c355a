"""Run the platform sandbox on its own (`make run` starts it as one of the local stack's processes):

    python -m tools.sandbox --port 8025 --callback-url http://127.0.0.1:8000

The secrets document is the local stack's ($SOCIALCRM_LOCAL_SECRETS, default events/dev-secrets.json):
the tokens it accepts and the secrets its callbacks are signed with.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

from tools.local import logs
from tools.sandbox import DEFAULT_PORT, server
from tools.secrets import DEV_SECRETS_PATH, SecretsFileError, load_file

log = logging.getLogger("local.sandbox")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("SOCIALCRM_SANDBOX_PORT", DEFAULT_PORT)))
    parser.add_argument(
        "--secrets", type=Path, default=Path(os.environ.get("SOCIALCRM_LOCAL_SECRETS", str(DEV_SECRETS_PATH)))
    )
    parser.add_argument(
        "--callback-url",
        default=os.environ.get("SOCIALCRM_SANDBOX_CALLBACK_URL", ""),
        help="where echoes and statuses go (the stack's API); none: no callbacks",
    )
    parser.add_argument(
        "--callback-delay",
        type=float,
        default=float(os.environ.get("SOCIALCRM_SANDBOX_CALLBACK_DELAY", "0.5")),
        help="seconds between a send and each of its callbacks",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=logs.FORMAT, datefmt=logs.DATE_FORMAT)
    try:
        document = load_file(args.secrets)
    except SecretsFileError as exc:
        log.error("%s", exc)
        return 1
    sandbox = server.create(document, args.host, args.port, args.callback_url or None, args.callback_delay)
    signal.signal(signal.SIGTERM, _stop)
    log.info(
        "platform sandbox on %s (GET / shows what it received); callbacks to %s",
        sandbox.url,
        args.callback_url or "nowhere",
    )
    try:
        sandbox.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        sandbox.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
