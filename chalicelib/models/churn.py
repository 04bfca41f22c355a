"""What a customer's profile keeps of their churn risk (the rules that move it: rules/churn.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Every signal halves in weight every so many days: a cancel threat last week weighs more than one
# last year.
HALF_LIFE_DAYS = 30.0


@dataclass(frozen=True)
class Signal:
    value: float
    at: datetime

    def decayed(self, now: datetime) -> float:
        days = max(0.0, (now - self.at).total_seconds() / 86400)
        return float(self.value * 0.5 ** (days / HALF_LIFE_DAYS))


@dataclass(frozen=True)
class ChurnState:
    """What the profile keeps: the signals, the last score and whether an alert is standing."""

    signals: dict[str, Signal] = field(default_factory=dict)
    open_complaints: int = 0
    score: float = 0.0
    reasons: tuple[str, ...] = ()
    alerting: bool = False
    alerts: int = 0  # how many Retention Alerts so far: numbers each alert episode
