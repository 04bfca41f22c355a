"""Insight's schedule: the rollup of the written counters into the rows the reports read, and
the count of the last hours' topics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from chalicelib.dependencies import figure_store, insights, notification_channels, segments, topics
from chalicelib.insight.service import rollup
from chalicelib.models.interaction import parse_iso
from chalicelib.observability import count, logger


def roll_up(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The schedule's time, not the clock's: Lambda's retry of a failed run gets the same event,
    # and counts the same hours again (what it wrote half-way included).
    now = scheduled_at(event)
    rolled = rollup(figure_store(), now)
    logger.info("figures rolled up", extra={"days": len(rolled), "rows": sum(rolled.values())})
    counted = topics().count(now)
    logger.info("topics counted", extra={"hours": len(counted), "topics": sum(counted.values())})
    return {"rows": rolled, "topics": counted}


def scheduled_at(event: dict[str, Any]) -> datetime:
    """When EventBridge scheduled this run (its `time`); now, for an event without one."""
    try:
        return parse_iso(str(event["time"]))
    except (KeyError, ValueError, OverflowError):
        return datetime.now(UTC)


def assign_segments(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.insight.segments import SegmentError

    try:
        job = segments()
    except SegmentError as exc:
        # An override that is not valid changes nothing: the run fails, customers keep theirs.
        logger.error("segments override invalid: nothing assigned", extra={"reason": str(exc)[:500]})
        count("SegmentsInvalid")
        raise
    done = job.run(datetime.now(UTC))
    logger.info("segments assigned", extra={"customers": done["customers"], "changed": done["changed"]})
    return done


def send_weekly_summary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    from chalicelib.insight.summary import weekly
    from chalicelib.rules.hygiene import Channel

    subject, body = weekly(insights(), topics(), datetime.now(UTC).date())
    delivered = notification_channels().send(Channel.SUMMARY, subject, body, None)
    logger.info("weekly summary sent", extra={"to": list(delivered)})
    return {"delivered": list(delivered)}
