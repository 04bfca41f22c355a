"""Whether the app can do its job: read its secrets and reach its queue.

A success is remembered briefly so that health probes cannot turn into a stream of AWS calls;
failures are never remembered, so recovery shows at the next probe.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from chalicelib.observability import logger

HEALTHY_FOR_SECONDS = 30.0


class Readiness:
    def __init__(self, checks: dict[str, Callable[[], object]], clock: Callable[[], float] = time.monotonic) -> None:
        self._checks = checks
        self._clock = clock
        self._healthy_until = float("-inf")

    def check(self) -> dict[str, str]:
        """Name -> "ok" or "failed" for each dependency; all "ok" means ready."""
        if self._clock() < self._healthy_until:
            return dict.fromkeys(self._checks, "ok")
        results = {name: self._run(probe) for name, probe in self._checks.items()}
        if all(state == "ok" for state in results.values()):
            self._healthy_until = self._clock() + HEALTHY_FOR_SECONDS
        return results

    @staticmethod
    def _run(probe: Callable[[], object]) -> str:
        try:
            probe()
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log only
            logger.warning("health check failed", extra={"error": type(exc).__name__})
            return "failed"
        return "ok"
