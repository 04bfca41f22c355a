"""Insight's schedule: the rollup of the written counters into the rows the reports read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.dependencies import figure_store
from chalicelib.insight.service import rollup
from chalicelib.observability import logger


def roll_up(event: dict[str, Any], context: Any) -> dict[str, Any]:
    rolled = rollup(figure_store(), datetime.now(UTC))
    logger.info("figures rolled up", extra={"days": len(rolled), "rows": sum(rolled.values())})
    return {"rows": rolled}
