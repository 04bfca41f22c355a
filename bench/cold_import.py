"""Cold start, two ways, each in fresh interpreters beside a bare Chalice + boto3 app, for both
deployed functions: the webhook function (`chalicelib.ingress`, what platforms wait on) and the ops
function (`app`, every route; what `chalice local` serves):

1. the import alone (target <= 1.3x the bare app's import);
2. import plus the first webhook acknowledged, against a moto server in another process, which
   also counts what the app defers to its first request (boto3, clients, the secret fetch).
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench.table import render

ROOT = Path(__file__).resolve().parent.parent
TARGET = 1.3
IMPORT_ONLY = "import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
BARE_APP = """\
import os

import boto3
from chalice import Chalice

app = Chalice(app_name="bare")
sqs = boto3.client("sqs")


@app.route("/webhooks/telegram", methods=["POST"])
def send_only():
    body = app.current_request.raw_body.decode()
    sqs.send_message(QueueUrl=os.environ["SOCIALCRM_INGEST_QUEUE_URL"], MessageBody=body)
    return {}
"""
FIRST_ACK = """\
import json, sys, time
event = json.loads(sys.argv[1])
started = time.perf_counter()
import {module}
response = {module}.app(event, None)
elapsed = time.perf_counter() - started
assert response["statusCode"] == 200, response
print(elapsed)
"""


def _median(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        output = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout
        timings.append(float(output.strip().splitlines()[-1]) * 1000)  # the last line: after any metrics
    return statistics.median(timings)


def _telegram_event(secrets: dict[str, Any]) -> dict[str, object]:
    body = json.dumps(
        {
            "update_id": 1,
            "message": {
                "message_id": 1,
                "date": 1763812800,
                "text": "Olá",
                "from": {"id": 7, "is_bot": False, "first_name": "Ana"},
                "chat": {"id": 7, "type": "private"},
            },
        }
    )
    return {
        "resource": "/webhooks/telegram",
        "path": "/webhooks/telegram",
        "httpMethod": "POST",
        "headers": {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secrets["telegram_secret_token"],
        },
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/webhooks/telegram", "httpMethod": "POST", "stage": "api"},
        "body": body,
        "isBase64Encoded": False,
    }


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run(runs: int = 15) -> str:
    import boto3

    from tools.local.__main__ import aws_environment
    from tools.local.launch import free_port
    from tools.provision import provision
    from tools.secrets import DEV_SECRETS_PATH, load_file

    port = free_port()
    aws_env = aws_environment(port)
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        secrets = load_file(DEV_SECRETS_PATH)
        session = boto3.Session(
            region_name=aws_env["AWS_DEFAULT_REGION"],
            aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
        )
        with _environment(aws_env):  # the benchmarks after this one must not reach this moto
            app_env = provision(session, "dev", secrets)
        env = {**os.environ, **aws_env, **app_env, "POWERTOOLS_LOG_LEVEL": "ERROR", "SOCIALCRM_STAGE": "dev"}
        event = json.dumps(_telegram_event(secrets))
        with tempfile.TemporaryDirectory() as folder:
            Path(folder, "bare_app.py").write_text(BARE_APP)
            python = [sys.executable, "-c"]
            bare_import = _median([*python, IMPORT_ONLY.format(module="bare_app")], Path(folder), env, runs)
            bare_first = _median([*python, FIRST_ACK.format(module="bare_app"), event], Path(folder), env, runs)
            rows = []
            for label, module in (("webhook function", "chalicelib.ingress"), ("ops function", "app")):
                ours_import = _median([*python, IMPORT_ONLY.format(module=module)], ROOT, env, runs)
                first = FIRST_ACK.format(module=module).replace(
                    f"{module}.app(", "sys.modules[" + repr(module) + "].app("
                )
                ours_first = _median([*python, first, event], ROOT, env, runs)
                ratio = ours_import / bare_import
                verdict = "ok" if ratio <= TARGET else "MISSED"
                rows.append([f"{label}: import", bare_import, ours_import, ratio, verdict])
                rows.append(
                    [f"{label}: import + first webhook ack", bare_first, ours_first, ours_first / bare_first, ""]
                )
    finally:
        server.terminate()
        server.wait()
    return render(
        f"Cold start, ms (median of {runs} fresh interpreters; target: import <= {TARGET}x bare Chalice + boto3)",
        ["", "bare chalice + boto3", "socialcrm", "ratio", "target"],
        rows,
    )


if __name__ == "__main__":
    print(run())
