"""Starting the local stack (`python -m tools.local`, what `make run` runs) from another process,
on free ports: the end-to-end tests and the benchmarks drive it this way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from tools.local.__main__ import aws_environment
from tools.template import ROOT

READY_LINE = "socialcrm is running at"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalStack:
    process: subprocess.Popen[str]
    aws_port: int
    api_port: int
    sandbox_port: int = 0
    log: list[str] = field(default_factory=list)  # every line it printed so far

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sandbox(self) -> str:
        """The platform sandbox: what the stack sent to the platforms (GET /messages), faults."""
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    def session(self) -> Any:
        """A boto3 session for the stack's moto server."""
        import boto3

        local = aws_environment(self.aws_port)
        return boto3.Session(
            region_name=local["AWS_DEFAULT_REGION"],
            aws_access_key_id=local["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=local["AWS_SECRET_ACCESS_KEY"],
        )

    def stop(self, timeout: float = 60) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=timeout)


def start(demo: bool, env: dict[str, str] | None = None, timeout: float = 120) -> LocalStack:
    """The stack once it says it is running; RuntimeError with its output if it does not."""
    aws_port, api_port, sandbox_port = free_port(), free_port(), free_port()
    variables = {
        **os.environ,
        "SOCIALCRM_AWS_PORT": str(aws_port),
        "SOCIALCRM_API_PORT": str(api_port),
        "SOCIALCRM_SANDBOX_PORT": str(sandbox_port),
        "SOCIALCRM_DEMO": "1" if demo else "0",
        **(env or {}),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "tools.local"],
        cwd=ROOT,
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = LocalStack(process, aws_port, api_port, sandbox_port)
    running = threading.Event()

    def read_output() -> None:  # keeps the pipe drained for as long as the stack lives
        assert process.stdout is not None
        for line in process.stdout:
            stack.log.append(line)
            if READY_LINE in line:
                running.set()

    threading.Thread(target=read_output, daemon=True).start()
    if not running.wait(timeout=timeout):
        process.kill()
        raise RuntimeError("the local stack did not start:\n" + "".join(stack.log))
    return stack
