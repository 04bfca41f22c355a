"""`make run`: the whole of socialcrm on one machine, against an embedded AWS.

1. moto server on 127.0.0.1:$SOCIALCRM_AWS_PORT (default 5000), its log in build/local/moto.log
   (tools/local/fast_moto.py: a query costs what its partition holds, not the whole table);
2. the dev stack created in it from infra/template.json, secrets read from $SOCIALCRM_LOCAL_SECRETS
   and stored in its Secrets Manager, its Cognito pool with the document's console users;
3. the platform sandbox on 127.0.0.1:$SOCIALCRM_SANDBOX_PORT (default 8025, tools/sandbox/): the
   platforms' send APIs, which the functions' SOCIALCRM_GRAPH_URL, _TELEGRAM_URL, _X_URL and
   _TRUSTPILOT_URL (and the document's generic_outbound URLs) point at, so no reply leaves the
   machine; its echoes and statuses go to the API, signed with the document's secrets;
4. a worker that runs the app's queue consumers and schedules as Lambda would;
5. the API on 127.0.0.1:$SOCIALCRM_API_PORT (default 8000): Chalice's local server (tools/local/api.py);
6. once GET /health answers 200, the sample webhooks in events/ replayed over HTTP, signed as
   the platforms sign them (SOCIALCRM_DEMO=0 skips this).

The emulated AWS lives in moto's memory: stopping the stack loses it, unless
SOCIALCRM_LOCAL_STATE_DIR names a folder to keep the tables and kept deliveries in (tools/local/
state.py). A child that dies is started again (moto with the stack provisioned anew and the saved
state loaded, then the worker and the API, whose settings name its resources; the sandbox on its
own, without what it had received); one that keeps dying stops the stack. Ctrl-C or SIGTERM stops
every child, once: a second signal while stopping is ignored.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import Any

from tools import sandbox
from tools.local import LOCAL_SETTINGS, demo, logs, worker
from tools.local import state as saved
from tools.local.processes import ChildDied, Children, wait_for, wait_http
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, Secrets, load_file
from tools.template import ROOT

log = logging.getLogger("local")

STAGE = "dev"
REGION = "us-east-1"
SAVE_EVERY = 300.0  # seconds, with SOCIALCRM_LOCAL_STATE_DIR
# The children, in the order they start (and stop in reverse): the sandbox before the functions that
# call it, the API last so that its /health answering means everything is up.
PROCESSES = ("moto", "sandbox", "worker", "api")


class Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    # The first signal stops the stack; any later one (a second Ctrl-C, SIGTERM sent twice) must not
    # interrupt the stopping with a second traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise Stop(signal.Signals(signum).name)


def aws_environment(aws_port: int) -> dict[str, str]:
    """What every process needs to talk to moto instead of AWS."""
    return {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws_port}",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    }


def sandbox_environment(sandbox_port: int) -> dict[str, str]:
    """What the functions need to send replies to the platform sandbox instead of the platforms."""
    return sandbox.environment(sandbox_port)


def to_sandbox(secrets: Secrets, sandbox_port: int) -> Secrets:
    """The document with its generic outbound URLs that name the default sandbox address pointed at
    this stack's sandbox (a stack on other ports, as the end-to-end tests start, has its own)."""
    default = f"http://127.0.0.1:{sandbox.DEFAULT_PORT}/"
    outbound = secrets.get("generic_outbound")
    if sandbox_port == sandbox.DEFAULT_PORT or not isinstance(outbound, dict):
        return secrets
    moved = {
        source: {**entry, "url": f"http://127.0.0.1:{sandbox_port}/" + entry["url"][len(default) :]}
        if entry.get("url", "").startswith(default)
        else entry
        for source, entry in outbound.items()
    }
    return {**secrets, "generic_outbound": moved}


def _in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    """The children and what they are started with, so that any of them can be started again."""

    def __init__(
        self, aws_port: int, api_port: int, secrets_path: Path, log_dir: Path, sandbox_port: int = sandbox.DEFAULT_PORT
    ) -> None:
        self.aws_port, self.api_port, self.sandbox_port = aws_port, api_port, sandbox_port
        self.secrets_path, self.secrets = secrets_path, to_sandbox(load_file(secrets_path), sandbox_port)
        self.log_dir = log_dir
        self.children = Children()
        self.env: dict[str, str] = {}
        self.app_env: dict[str, str] = {}
        state = os.environ.get("SOCIALCRM_LOCAL_STATE_DIR", "").strip()
        self.state_dir = Path(state) if state else None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    def session(self) -> Any:
        import boto3

        return boto3.Session(region_name=REGION)

    def start_aws(self) -> None:
        """moto server, then the stack created in it (and the saved state loaded into it)."""
        env = {**os.environ, **aws_environment(self.aws_port)}
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
        if self.children.has("moto"):
            self.children.restart("moto")
        else:
            moto_log = (self.log_dir / "moto.log").open("ab")
            # moto server, with DynamoDB queries that read their partition rather than the table
            command = [sys.executable, "-m", "tools.local.fast_moto", "-H", "127.0.0.1", "-p", str(self.aws_port)]
            self.children.start("moto", command, env=env, stdout=moto_log)
        wait_http(f"http://127.0.0.1:{self.aws_port}/moto-api/", self.children, timeout=30)
        log.info("moto server is up on 127.0.0.1:%d (log: %s)", self.aws_port, self.log_dir / "moto.log")
        os.environ.update(aws_environment(self.aws_port))
        self.app_env = provision(self.session(), STAGE, self.secrets)
        log.info(
            "stack socialcrm-%s created from infra/template.json; secrets read from %s and stored in its "
            "Secrets Manager as %s",
            STAGE,
            self.secrets_path,
            self.app_env["SOCIALCRM_SECRETS_ID"],
        )
        if self.state_dir is not None and self.state_dir.exists():
            counts = saved.restore(self.session(), self.app_env, self.state_dir)
            log.info("state loaded from %s: %s", self.state_dir, counts)
        self.env = {**env, **self.app_env}
        self.env.setdefault("SOCIALCRM_NLP", "local")  # no Comprehend in moto: the offline analyzer
        self.env.setdefault("SOCIALCRM_ECHO_ALERTS", "true")  # the notifier also prints alerts in this log
        self.env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch to read them
        # The offline analyzer's OpenMP threads wait passively: spinning, they would take the cores
        # moto, the API and the other pollers need (set before any library reads it).
        self.env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        for key, value in LOCAL_SETTINGS.items():
            self.env.setdefault(key, value)
        # Set, not defaulted: a platform URL left in the developer's shell must not make the local
        # stack answer real customers.
        self.env.update(sandbox_environment(self.sandbox_port))

    def sandbox_command(self) -> list[str]:
        """The sandbox with the stack's secrets document (the tokens it accepts, the secrets its
        callbacks are signed with), calling the API back."""
        return [
            sys.executable,
            "-m",
            "tools.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.sandbox_port),
            "--secrets",
            str(self.secrets_path),
            "--callback-url",
            self.base_url,
            "--callback-delay",
            os.environ.get("SOCIALCRM_SANDBOX_CALLBACK_DELAY", "0.5"),
        ]

    def start_sandbox(self) -> None:
        if self.children.has("sandbox"):
            self.children.restart("sandbox")
        else:
            self.children.start("sandbox", self.sandbox_command(), env=dict(os.environ), cwd=ROOT)
        wait_http(f"{self.sandbox_url}/messages", self.children, timeout=30)
        log.info("platform sandbox is up on %s (what the stack sends to the platforms: GET /)", self.sandbox_url)

    def start(self, name: str) -> None:
        {"moto": self.start_aws, "sandbox": self.start_sandbox, "worker": self.start_worker, "api": self.start_api}[
            name
        ]()

    def start_worker(self) -> None:
        # The worker first, the API last: once /health answers, everything behind it is running.
        ready_file = self.log_dir / f"worker-{os.getpid()}.ready"
        ready_file.unlink(missing_ok=True)
        env = {**self.env, "SOCIALCRM_WORKER_READY_FILE": str(ready_file)}
        if self.children.has("worker"):
            # The dead worker's last receive may still be open in moto, and would take a message
            # just sent to nobody for the queue's visibility timeout (30 min on ingest).
            time.sleep(worker.LONG_POLL_SECONDS + 0.5)
            self.children.restart("worker", env)
        else:
            self.children.start("worker", [sys.executable, "-m", "tools.local.worker"], env=env, cwd=ROOT)
        wait_for(ready_file.exists, self.children, timeout=60, what="the worker")
        ready_file.unlink()

    def start_api(self) -> None:
        where = ["--stage", STAGE, "--host", "127.0.0.1", "--port", str(self.api_port)]
        command = [sys.executable, "-m", "tools.local.api", *where]
        if self.children.has("api"):
            self.children.restart("api", dict(self.env))
        else:
            self.children.start("api", command, env=dict(self.env), cwd=ROOT)
        wait_http(f"{self.base_url}/health", self.children, timeout=60)

    def mend(self) -> None:
        """Start again whatever died. moto takes the stack with it: provisioned anew, the saved
        state loaded, and the worker and the API restarted with the new stack's settings."""
        dead = self.children.dead()
        if not dead:
            return
        if "moto" in dead:
            log.warning("moto server died: the emulated AWS lives in memory, so the stack starts again%s",
                        " from the saved state" if self.state_dir else " empty")  # fmt: skip
            self.start_aws()
            self.start_worker()
            self.start_api()
            dead = [name for name in dead if name not in ("moto", "worker", "api")]
        for name in dead:
            log.warning("%s died; starting it again", name)
            self.start(name)

    def save(self) -> None:
        if self.state_dir is not None and self.app_env:
            counts = saved.save(self.session(), self.app_env, self.state_dir)
            log.info("state saved in %s: %s", self.state_dir, counts)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format=logs.FORMAT, datefmt=logs.DATE_FORMAT)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    aws_port = int(os.environ.get("SOCIALCRM_AWS_PORT", "5000"))
    api_port = int(os.environ.get("SOCIALCRM_API_PORT", "8000"))
    sandbox_port = int(os.environ.get("SOCIALCRM_SANDBOX_PORT", str(sandbox.DEFAULT_PORT)))
    secrets_path = Path(os.environ.get("SOCIALCRM_LOCAL_SECRETS", str(DEV_SECRETS_PATH)))
    log_dir = ROOT / "build" / "local"
    log_dir.mkdir(parents=True, exist_ok=True)

    ports = (aws_port, "SOCIALCRM_AWS_PORT"), (api_port, "SOCIALCRM_API_PORT"), (sandbox_port, "SOCIALCRM_SANDBOX_PORT")
    for port, variable in ports:
        if _in_use(port):  # another stack's moto would answer our health checks
            log.error("port %d is in use (another `make run`?): stop it or set %s", port, variable)
            return 1
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    stack = Stack(aws_port, api_port, secrets_path, log_dir, sandbox_port)
    code = 0
    try:
        for name in PROCESSES:
            stack.start(name)
        log.info("ready: %s/health answers 200", stack.base_url)
        if os.environ.get("SOCIALCRM_DEMO", "1") != "0":
            demo.replay(stack.base_url, stack.secrets, stack.session(), stack.app_env)
        demo.show_sign_ins(stack.base_url, stack.secrets)
        log.info("socialcrm is running at %s; Ctrl-C stops it", stack.base_url)
        saved_at = time.monotonic()
        while True:
            stack.mend()
            if stack.state_dir is not None and time.monotonic() - saved_at > SAVE_EVERY:
                stack.save()
                saved_at = time.monotonic()
            time.sleep(0.5)
    except Stop as reason:
        log.info("stopping (%s)", reason)
    except ChildDied as exc:
        log.error("local stack stopped: %s", exc)
        code = 1
    except Exception as exc:  # a failed start must still take the children down
        log.error("local stack failed: %s", exc)
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            if "moto" not in stack.children.dead():
                stack.save()
        except Exception as exc:  # saving must not keep the stack from stopping
            log.error("state not saved: %s", type(exc).__name__)
        stack.children.stop_all()
    return code


if __name__ == "__main__":
    sys.exit(main())
