"""Child processes of the local stack: started in their own process groups, restarted when one
dies (a few times, then the stack gives up), stopped together."""

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

log = logging.getLogger("local")

RESTARTS_ALLOWED = 5  # within RESTART_WINDOW seconds; more means something is broken for good
RESTART_WINDOW = 300.0


class ChildDied(RuntimeError):
    pass


@dataclass
class _Child:
    process: subprocess.Popen[bytes]
    command: list[str]
    env: dict[str, str]
    cwd: Path | None
    stdout: IO[bytes] | None
    restarts: list[float] = field(default_factory=list)


class Children:
    def __init__(self) -> None:
        self._children: dict[str, _Child] = {}

    def start(
        self,
        name: str,
        command: list[str],
        env: dict[str, str],
        cwd: Path | None = None,
        stdout: IO[bytes] | None = None,
    ) -> None:
        earlier = self._children.get(name)
        self._children[name] = _Child(
            _spawn(command, env, cwd, stdout), command, env, cwd, stdout, earlier.restarts if earlier else []
        )

    def has(self, name: str) -> bool:
        return name in self._children

    def check(self) -> None:
        """Raise ChildDied if any child has exited (while the stack is starting)."""
        for name in self.dead():
            raise ChildDied(f"{name} exited with status {self._children[name].process.returncode}")

    def dead(self) -> list[str]:
        return [name for name, child in self._children.items() if child.process.poll() is not None]

    def restart(self, name: str, env: dict[str, str] | None = None) -> None:
        """Start a child again (with a new environment, if given). Raises ChildDied when it has
        died too often lately to be worth another try."""
        child = self._children[name]
        now = time.monotonic()
        child.restarts = [at for at in child.restarts if now - at < RESTART_WINDOW]
        if len(child.restarts) >= RESTARTS_ALLOWED:
            raise ChildDied(f"{name} died {len(child.restarts) + 1} times in {RESTART_WINDOW:.0f} s")
        child.restarts.append(now)
        if child.process.poll() is None:
            _stop(name, child.process, grace=5.0)
        if env is not None:
            child.env = env
        child.process = _spawn(child.command, child.env, child.cwd, child.stdout)

    def stop_all(self, grace: float = 5.0) -> None:
        """Last started, first stopped: the API and the worker go before the AWS they use."""
        for name, child in reversed(list(self._children.items())):
            _stop(name, child.process, grace)
        self._children.clear()


def _spawn(command: list[str], env: dict[str, str], cwd: Path | None, stdout: IO[bytes] | None) -> Any:
    # A session of its own, so stopping a child also stops whatever it spawned.
    return subprocess.Popen(
        command,
        env=env,
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.STDOUT if stdout else None,
        start_new_session=True,
    )


def _stop(name: str, process: subprocess.Popen[bytes], grace: float) -> None:
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop in %.0f s; killing it", name, grace)
        _signal_group(process, signal.SIGKILL)
        process.wait()


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
