"""`make run`: the whole of socialcrm on one machine, against an embedded AWS.

1. moto server on 127.0.0.1:$SOCIALCRM_AWS_PORT (default 5000), its log in build/local/moto.log;
2. the dev stack created in it from infra/template.json, secrets from $SOCIALCRM_LOCAL_SECRETS;
3. a worker that runs the app's queue consumers and schedules as Lambda would;
4. the API on 127.0.0.1:$SOCIALCRM_API_PORT (default 8000): Chalice's local server (tools/local/api.py);
5. once GET /health answers 200, the sample webhooks in events/ replayed over HTTP, signed as
   the platforms sign them (SOCIALCRM_DEMO=0 skips this).
Ctrl-C or SIGTERM stops every child process; so does any child dying on its own.
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

from tools.local import demo
from tools.local.processes import Children, wait_for, wait_http
from tools.provision import provision
from tools.secrets import DEV_SECRETS_PATH, load_file
from tools.template import ROOT

log = logging.getLogger("local")

STAGE = "dev"
REGION = "us-east-1"


class Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
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


def _in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s [%(name)s] %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    aws_port = int(os.environ.get("SOCIALCRM_AWS_PORT", "5000"))
    api_port = int(os.environ.get("SOCIALCRM_API_PORT", "8000"))
    secrets_path = Path(os.environ.get("SOCIALCRM_LOCAL_SECRETS", str(DEV_SECRETS_PATH)))
    secrets = load_file(secrets_path)
    log_dir = ROOT / "build" / "local"
    log_dir.mkdir(parents=True, exist_ok=True)

    for port, variable in ((aws_port, "SOCIALCRM_AWS_PORT"), (api_port, "SOCIALCRM_API_PORT")):
        if _in_use(port):  # another stack's moto would answer our health checks
            log.error("port %d is in use (another `make run`?): stop it or set %s", port, variable)
            return 1
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    children = Children()
    try:
        env = {**os.environ, **aws_environment(aws_port)}
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            env.pop(name, None)
        moto_log = (log_dir / "moto.log").open("ab")
        children.start(
            "moto",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(aws_port)],
            env=env,
            stdout=moto_log,
        )
        wait_http(f"http://127.0.0.1:{aws_port}/moto-api/", children, timeout=30)
        log.info("moto server is up on 127.0.0.1:%d (log: %s)", aws_port, log_dir / "moto.log")

        os.environ.update(aws_environment(aws_port))
        import boto3

        app_env = provision(boto3.Session(region_name=REGION), STAGE, secrets)
        env.update(app_env)
        env.setdefault("SOCIALCRM_NLP", "local")  # no Comprehend in moto: the offline analyzer
        env.setdefault("SOCIALCRM_ECHO_ALERTS", "true")  # the notifier also prints alerts in this log
        env.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # no CloudWatch to read them; a readable log
        log.info("stack socialcrm-%s created from infra/template.json; secrets stored in %s", STAGE, secrets_path)

        # The worker first, the API last: once /health answers, everything behind it is running.
        ready_file = log_dir / f"worker-{os.getpid()}.ready"
        ready_file.unlink(missing_ok=True)
        env["SOCIALCRM_WORKER_READY_FILE"] = str(ready_file)
        children.start("worker", [sys.executable, "-m", "tools.local.worker"], env=env, cwd=ROOT)
        wait_for(ready_file.exists, children, timeout=60, what="the worker")
        ready_file.unlink()
        children.start(
            "api",
            [sys.executable, "-m", "tools.local.api", "--stage", STAGE, "--host", "127.0.0.1", "--port", str(api_port)],
            env=env,
            cwd=ROOT,
        )
        base_url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{base_url}/health", children, timeout=60)
        log.info("ready: %s/health answers 200", base_url)

        if os.environ.get("SOCIALCRM_DEMO", "1") != "0":
            demo.replay(base_url, secrets, boto3.Session(region_name=REGION), app_env)
        log.info("socialcrm is running at %s; Ctrl-C stops it", base_url)
        while True:
            children.check()
            time.sleep(0.5)
    except Stop as reason:
        log.info("stopping (%s)", reason)
        return 0
    except Exception as exc:  # a failed start must still take the children down
        log.error("local stack failed: %s", exc)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        children.stop_all()


if __name__ == "__main__":
    sys.exit(main())
