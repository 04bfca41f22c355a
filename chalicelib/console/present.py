"""How the console writes times, durations and scores: small pure functions, used as Jinja
filters, so every page says "waiting 2 h 5 min" the same way."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from chalicelib.models.interaction import parse_iso


def moment(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return parse_iso(str(value))


def duration(seconds: float) -> str:
    """2 d 3 h, 2 h 5 min, 7 min, 40 s: the two largest units, enough to compare at a glance."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def since(value: Any, now: datetime | None = None) -> str:
    then = moment(value)
    if then is None:
        return ""
    return duration(((now or datetime.now(UTC)) - then).total_seconds())


def until(value: Any, now: datetime | None = None) -> str:
    """ "in 25 min", or "5 min ago" once it has passed."""
    then = moment(value)
    if then is None:
        return ""
    delta = (then - (now or datetime.now(UTC))).total_seconds()
    return f"in {duration(delta)}" if delta >= 0 else f"{duration(-delta)} ago"


def clock(value: Any) -> str:
    """UTC time as people read it: 2026-12-06 14:05 UTC."""
    then = moment(value)
    return then.strftime("%Y-%m-%d %H:%M UTC") if then else ""


def iso(value: Any) -> str:
    then = moment(value)
    return then.strftime("%Y-%m-%dT%H:%M:%SZ") if then else ""


def percent(value: Any) -> str:
    return f"{round(float(value or 0) * 100)}%"


def first_words(text: Any, limit: int = 120) -> str:
    words = " ".join(str(text or "").split())
    return words if len(words) <= limit else words[: limit - 1].rstrip() + "…"


def who(customer: Mapping[str, Any] | str | None, customer_id: str = "") -> str:
    """How every page names a customer: their name on the platform, else their handle, else
    "Customer" and the first eight characters of their id (enough to tell two apart on a page;
    their own page shows the whole id). `customer` is a customer's view (a dict) or a name
    already chosen; `customer_id` is used where the view has none."""
    if isinstance(customer, Mapping):
        name = customer.get("display_name") or customer.get("handle")
        customer_id = str(customer.get("customer_id") or customer_id)
    else:
        name = customer
    shown = " ".join(str(name or "").split())
    return shown or (f"Customer {customer_id[:8]}" if customer_id else "Customer")


# Why a customer's message shows no sentiment: most often the engine reads none of its language
# (the offline analyzer reads eight), else the analysis refused it.
NOT_ANALYSED = "No sentiment: the analysis could not read this message (most often, its language)"

FILTERS = {
    "since": since,
    "until": until,
    "clock": clock,
    "iso": iso,
    "percent": percent,
    "first_words": first_words,
    "duration": duration,
    "who": who,
}
