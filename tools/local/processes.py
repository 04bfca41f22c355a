"""Child processes of the local stack: started in their own process groups, stopped together."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("local")


class ChildDied(RuntimeError):
    pass


class Children:
    def __init__(self) -> None:
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
        stdout: IO[bytes] | None = None,
    ) -> None:
        # A session of its own, so stopping a child also stops whatever it spawned.
        self._processes[name] = subprocess.Popen(
            command,
            env=env,
            cwd=cwd,
            stdout=stdout,
            stderr=subprocess.STDOUT if stdout else None,
            start_new_session=True,
        )

    def check(self) -> None:
        for name, process in self._processes.items():
            code = process.poll()
            if code is not None:
                raise ChildDied(f"{name} exited with status {code}")

    def stop_all(self, grace: float = 5.0) -> None:
        """Last started, first stopped: the API and the worker go before the AWS they use."""
        for name, process in reversed(list(self._processes.items())):
            _signal_group(process, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop in %.0f s; killing it", name, grace)
                _signal_group(process, signal.SIGKILL)
                process.wait()
        self._processes.clear()


def _signal_group(process: subprocess.Popen[Any], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def wait_for(condition: Callable[[], bool], children: Children, timeout: float, what: str) -> None:
    """Poll until `condition()` holds, failing fast if a child has already died."""
    deadline = time.monotonic() + timeout
    while not condition():
        children.check()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready within {timeout:.0f} s")
        time.sleep(0.2)


def wait_http(url: str, children: Children, timeout: float) -> None:
    """Poll until `url` answers 200."""

    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - local URL we built
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_for(answers, children, timeout, url)
