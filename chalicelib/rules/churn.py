"""Churn risk: how likely a customer is to leave, in [0, 1], with the reasons a person can check.

Each signal is a count that halves every `HALF_LIFE_DAYS` (a cancel threat last week weighs more
than one last year). Each factor turns its signal into a probability-like contribution, and the
contributions combine as independent causes would: risk = 1 - product(1 - contribution). So one
strong factor is enough to be high, several weak ones add up, and the sum never passes 1.

The alert has hysteresis: `Retention Alert` fires when the risk reaches `alert_at` and not again
until it has fallen below `rearm_below`, so a customer hovering at the threshold is one alert,
not one per message.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from chalicelib.models.churn import HALF_LIFE_DAYS, ChurnState, Signal
from chalicelib.rules.routing import ChurnSettings

CANCEL_INTENT = "cancel_intent"
COMPETITOR = "competitor_mention"
COMPLAINT = "complaint"
SLA_BREACH = "sla_breach"
SIGNALS = (CANCEL_INTENT, COMPETITOR, COMPLAINT, SLA_BREACH)
# How a reason names each signal for the person reading an alert or the customer panel.
_NAMES = {CANCEL_INTENT: "cancel threats", COMPETITOR: "competitor mentions", COMPLAINT: "complaints",
          SLA_BREACH: "SLA breaches"}  # fmt: skip

# What a fresh signal of each kind contributes, and the most it can contribute however often.
_PER_SIGNAL = {CANCEL_INTENT: 0.55, COMPETITOR: 0.3, COMPLAINT: 0.12, SLA_BREACH: 0.2}
_CAP = {CANCEL_INTENT: 0.8, COMPETITOR: 0.5, COMPLAINT: 0.35, SLA_BREACH: 0.45}
_OPEN_COMPLAINT = 0.15  # each unresolved complaint case
_OPEN_COMPLAINT_CAP = 0.45
_TREND_WEIGHT = 0.6  # times how negative the sentiment trend is (-1 .. 0)
TREND_SAMPLES = 4


@dataclass(frozen=True)
class Assessment:
    score: float
    reasons: tuple[str, ...]


def record(state: ChurnState, signal: str, now: datetime, amount: float = 1.0) -> ChurnState:
    """One more occurrence of a signal, on top of what is left of the earlier ones."""
    previous = state.signals.get(signal)
    value = (previous.decayed(now) if previous else 0.0) + amount
    return replace(state, signals={**state.signals, signal: Signal(round(value, 4), now)})


def assess(state: ChurnState, sentiment_trend: float | None, samples: int, now: datetime) -> Assessment:
    contributions: list[tuple[float, str]] = []
    if sentiment_trend is not None and sentiment_trend < 0:
        # A trend of one message is a mood, not a trend: it counts fully from TREND_SAMPLES on.
        weight = _TREND_WEIGHT * min(1.0, -sentiment_trend) * min(1.0, samples / TREND_SAMPLES)
        contributions.append((weight, f"sentiment trend {sentiment_trend:+.2f} over {samples} message(s)"))
    for name in SIGNALS:
        signal = state.signals.get(name)
        level = signal.decayed(now) if signal is not None else 0.0
        if signal is not None and level >= 0.05:
            weight = min(_CAP[name], _PER_SIGNAL[name] * level)
            # the faded count, said as such: "complaints: 1.5" of two complaints a month apart
            faded = f"{level:.1f} (each halves in {HALF_LIFE_DAYS:g} days), last {signal.at:%Y-%m-%d}"
            contributions.append((weight, f"{_NAMES[name]}: {faded}"))
    if state.open_complaints > 0:
        weight = min(_OPEN_COMPLAINT_CAP, _OPEN_COMPLAINT * state.open_complaints)
        contributions.append((weight, f"{state.open_complaints} unresolved complaint case(s)"))
    remaining = 1.0
    for weight, _ in contributions:
        remaining *= 1.0 - weight
    ranked = sorted(contributions, key=lambda item: -item[0])
    # A reason that would read "+0.00" (a sentiment trend of -0.02 over one message) explains nothing.
    shown = [(weight, reason) for weight, reason in ranked if round(weight, 2) > 0]
    return Assessment(round(1.0 - remaining, 3), tuple(f"{reason} (+{weight:.2f})" for weight, reason in shown))


def settle(
    state: ChurnState, sentiment_trend: float | None, samples: int, now: datetime, settings: ChurnSettings
) -> ChurnState:
    """Re-arm a standing alert whose risk has faded below `rearm_below` since it was last looked
    at (nobody looks between messages). Call before recording what just happened, so a new cancel
    threat months after the last alert can raise a new one."""
    if not state.alerting:
        return state
    settled, _ = update(state, sentiment_trend, samples, now, settings)  # cannot fire: it is alerting
    return settled


def update(
    state: ChurnState, sentiment_trend: float | None, samples: int, now: datetime, settings: ChurnSettings
) -> tuple[ChurnState, bool]:
    """The state with a fresh score, and whether this change starts a new alert (hysteresis)."""
    assessment = assess(state, sentiment_trend, samples, now)
    alerting, fire = state.alerting, False
    if not alerting and assessment.score >= settings.alert_at:
        alerting, fire = True, True
    elif alerting and assessment.score < settings.rearm_below:
        alerting = False
    updated = replace(
        state,
        score=assessment.score,
        reasons=assessment.reasons,
        alerting=alerting,
        alerts=state.alerts + (1 if fire else 0),
    )
    return updated, fire
