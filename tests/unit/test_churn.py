"""Churn risk: signals that fade with a 30-day half-life, explainable reasons, and an alert with
hysteresis (one Retention Alert per crossing, however long the customer hovers at the threshold)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.models.churn import ChurnState, Signal
from chalicelib.rules import churn
from chalicelib.rules.routing import ChurnSettings

T0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
DEFAULT = ChurnSettings()  # alert at 0.7, re-armed below 0.5
_WEIGHT = re.compile(r"\(\+(\d+\.\d+)\)$")


def weights(reasons: tuple[str, ...]) -> list[float]:
    """The contribution each reason states at its end, as `(+0.55)`."""
    found = [_WEIGHT.search(reason) for reason in reasons]
    assert all(found), reasons
    return [float(match.group(1)) for match in found if match]


def signals(*names: str, at: datetime = T0) -> ChurnState:
    state = ChurnState()
    for name in names:
        state = churn.record(state, name, at)
    return state


def risk(state: ChurnState, trend: float | None = None, samples: int = 0, now: datetime = T0) -> float:
    return churn.assess(state, trend, samples, now).score


# Decay ---------------------------------------------------------------------------------------------


def test_a_signal_halves_every_thirty_days() -> None:
    signal = Signal(1.0, T0)
    assert signal.decayed(T0) == 1.0
    assert signal.decayed(T0 + timedelta(days=30)) == pytest.approx(0.5)
    assert signal.decayed(T0 + timedelta(days=60)) == pytest.approx(0.25)
    assert signal.decayed(T0 + timedelta(days=15)) == pytest.approx(2**-0.5)


def test_a_signal_does_not_grow_when_read_before_it_happened() -> None:
    assert Signal(1.0, T0).decayed(T0 - timedelta(days=10)) == 1.0


def test_a_new_occurrence_adds_to_what_is_left_of_the_earlier_ones() -> None:
    state = churn.record(ChurnState(), churn.COMPLAINT, T0)
    state = churn.record(state, churn.COMPLAINT, T0 + timedelta(days=30))
    kept = state.signals[churn.COMPLAINT]
    assert kept.value == pytest.approx(1.5)
    assert kept.at == T0 + timedelta(days=30)
    assert churn.record(ChurnState(), churn.SLA_BREACH, T0, amount=2.5).signals[churn.SLA_BREACH].value == 2.5


def test_a_month_old_cancel_threat_weighs_half_as_much_as_a_fresh_one() -> None:
    state = signals(churn.CANCEL_INTENT)
    fresh = churn.assess(state, None, 0, T0)
    month_old = churn.assess(state, None, 0, T0 + timedelta(days=30))
    assert fresh.score > 0
    assert month_old.score == pytest.approx(fresh.score / 2, abs=0.002)
    assert fresh.reasons[0].startswith("cancel threats: 1.0 (each halves in 30 days), last 2026-11-22")
    assert month_old.reasons[0].startswith("cancel threats: 0.5 ")


def test_a_long_forgotten_signal_no_longer_counts_or_shows() -> None:
    state = signals(churn.CANCEL_INTENT, churn.COMPETITOR)
    years_later = churn.assess(state, None, 0, T0 + timedelta(days=365))
    assert years_later.score == 0.0
    assert years_later.reasons == ()


def test_recording_state_is_not_changed_in_place() -> None:
    before = ChurnState()
    after = churn.record(before, churn.CANCEL_INTENT, T0)
    assert before.signals == {}
    assert set(after.signals) == {churn.CANCEL_INTENT}


# Score and reasons ---------------------------------------------------------------------------------


def test_no_signals_no_risk() -> None:
    assessment = churn.assess(ChurnState(), None, 0, T0)
    assert (assessment.score, assessment.reasons) == (0.0, ())


def test_a_positive_or_neutral_trend_adds_no_risk() -> None:
    assert risk(ChurnState(), 0.8, 10) == 0.0
    assert risk(ChurnState(), 0.0, 10) == 0.0


def test_reasons_name_every_contributing_factor_strongest_first() -> None:
    state = signals(churn.CANCEL_INTENT, churn.COMPETITOR, churn.COMPLAINT, churn.SLA_BREACH)
    state = ChurnState(signals=state.signals, open_complaints=2)
    assessment = churn.assess(state, -0.4, 6, T0)
    text = " | ".join(assessment.reasons)
    for factor in (
        "cancel threats: 1.0",
        "competitor mentions: 1.0",
        "complaints: 1.0",
        "SLA breaches: 1.0",
        "2 unresolved complaint case(s)",
        "sentiment trend -0.40 over 6 message(s)",
    ):
        assert factor in text
    assert len(assessment.reasons) == 6
    stated = weights(assessment.reasons)
    assert stated == sorted(stated, reverse=True)
    assert assessment.reasons[0].startswith("cancel threats")  # leaving is the strongest sign
    assert "2026-11-22" in assessment.reasons[0]  # when it last happened, for a person to check


def test_the_stated_contributions_combine_as_independent_causes() -> None:
    """risk = 1 - product(1 - contribution): several weak reasons add up but never pass 1."""
    state = ChurnState(signals=signals(churn.COMPETITOR, churn.SLA_BREACH).signals, open_complaints=1)
    assessment = churn.assess(state, -0.5, 4, T0)
    remaining = 1.0
    for weight in weights(assessment.reasons):
        remaining *= 1.0 - weight
    assert assessment.score == pytest.approx(1.0 - remaining, abs=0.01)
    assert assessment.score > max(weights(assessment.reasons))


def test_one_cancel_threat_alone_is_high_risk_but_one_complaint_is_not() -> None:
    assert risk(signals(churn.CANCEL_INTENT)) > risk(signals(churn.COMPLAINT)) * 3
    assert risk(signals(churn.COMPLAINT)) < DEFAULT.rearm_below


def test_a_single_negative_message_is_a_mood_not_a_trend() -> None:
    one = risk(ChurnState(), -1.0, 1)
    settled = risk(ChurnState(), -1.0, churn.TREND_SAMPLES)
    assert 0 < one < settled / 2
    assert one < DEFAULT.rearm_below
    assert risk(ChurnState(), -1.0, 2) < settled
    assert risk(ChurnState(), -1.0, churn.TREND_SAMPLES * 5) == settled  # full weight from TREND_SAMPLES on
    reason = churn.assess(ChurnState(), -1.0, 1, T0).reasons[0]
    assert "over 1 message(s)" in reason


def test_repeating_a_signal_raises_the_risk_only_up_to_its_cap() -> None:
    once = risk(signals(churn.COMPLAINT))
    twice = risk(signals(churn.COMPLAINT, churn.COMPLAINT))
    many = risk(signals(*[churn.COMPLAINT] * 50))
    more = risk(signals(*[churn.COMPLAINT] * 500))
    assert once < twice < many
    assert many == more
    assert many < risk(signals(churn.CANCEL_INTENT))  # complaining forever is not announcing you leave


def test_more_unresolved_complaints_mean_more_risk_up_to_a_cap() -> None:
    one, three, thirty = (risk(ChurnState(open_complaints=n)) for n in (1, 3, 30))
    assert 0 < one < three
    assert three <= thirty < 0.5


_EVENTS = st.lists(
    st.tuples(st.sampled_from([*churn.SIGNALS, "purchase_intent"]), st.floats(0, 400), st.floats(0.1, 20)),
    max_size=40,
)


@given(
    events=_EVENTS,
    open_complaints=st.integers(0, 1000),
    trend=st.one_of(st.none(), st.floats(-50, 50)),
    samples=st.integers(0, 10_000),
    later=st.floats(0, 800),
)
def test_the_score_stays_between_0_and_1_and_every_reason_is_explained(
    events: list[tuple[str, float, float]], open_complaints: int, trend: float | None, samples: int, later: float
) -> None:
    state = ChurnState(open_complaints=open_complaints)
    for name, day, amount in sorted(events, key=lambda event: event[1]):
        state = churn.record(state, name, T0 + timedelta(days=day), amount)
    now = T0 + timedelta(days=later)
    assessment = churn.assess(state, trend, samples, now)
    assert 0.0 <= assessment.score <= 1.0
    assert assessment.score < 1.0  # no combination of capped causes is a certainty
    stated = weights(assessment.reasons)
    assert stated == sorted(stated, reverse=True)
    assert (assessment.score > 0) == any(weight > 0 for weight in stated)
    # One more cancel threat can only raise it.
    assert churn.assess(churn.record(state, churn.CANCEL_INTENT, now), trend, samples, now).score >= assessment.score


def test_a_thousand_of_everything_is_still_below_one() -> None:
    state = signals(*[name for name in churn.SIGNALS for _ in range(1000)])
    state = ChurnState(signals=state.signals, open_complaints=1000)
    assessment = churn.assess(state, -3.0, 1000, T0)
    assert 0.9 < assessment.score < 1.0
    assert len(assessment.reasons) == 6


# Hysteresis ----------------------------------------------------------------------------------------

# Three unresolved complaints are a fixed contribution; the sentiment trend (at full weight, over
# enough messages) moves the risk around it. `trend_for` inverts the documented combination.
HOVER_BASE = ChurnState(open_complaints=3)


def trend_for(score: float) -> float:
    base = risk(HOVER_BASE)
    trend_weight = 1.0 - (1.0 - score) / (1.0 - base)
    full = risk(ChurnState(), -1.0, churn.TREND_SAMPLES)
    return -trend_weight / full


def feed(
    state: ChurnState, scores: Sequence[float | None], settings: ChurnSettings = DEFAULT
) -> tuple[ChurnState, list[bool], list[float]]:
    """Update the state once per target score (None: no trend at all), as messages would."""
    fired, seen = [], []
    for index, target in enumerate(scores):
        trend = None if target is None else trend_for(target)
        state, fire = churn.update(state, trend, 10, T0 + timedelta(minutes=index), settings)
        fired.append(fire)
        seen.append(state.score)
    return state, fired, seen


def test_the_hover_helper_reaches_the_scores_it_aims_at() -> None:
    _, _, seen = feed(HOVER_BASE, [0.6, 0.69, 0.71, 0.75, None])
    assert seen[:4] == pytest.approx([0.6, 0.69, 0.71, 0.75], abs=0.002)
    assert seen[4] < DEFAULT.rearm_below


def test_hovering_around_the_threshold_is_one_alert() -> None:
    hovering = [0.66, 0.69, 0.71, 0.69, 0.72, 0.68, 0.74, 0.66, 0.71, 0.55, 0.52, 0.73]
    state, fired, _ = feed(HOVER_BASE, hovering)
    assert fired.count(True) == 1
    assert fired.index(True) == 2  # the first message at or above 0.7
    assert state.alerting
    assert state.alerts == 1


def test_falling_below_the_rearm_level_then_rising_again_is_a_second_alert() -> None:
    state, fired, _ = feed(HOVER_BASE, [0.72, 0.6, 0.51, 0.74])
    assert fired == [True, False, False, False]  # 0.51 is not below 0.5: still the same episode
    state, fired, _ = feed(state, [None, 0.6, 0.69, 0.72, 0.71, 0.45, 0.75])
    assert fired == [False, False, False, True, False, False, True]
    assert state.alerts == 3


def test_the_same_threat_repeated_fires_once() -> None:
    state, fires = ChurnState(), []
    for day in range(10):
        now = T0 + timedelta(days=day)
        state = churn.record(state, churn.CANCEL_INTENT, now)
        state = churn.record(state, churn.COMPETITOR, now)
        state, fire = churn.update(state, -0.8, day + 1, now, DEFAULT)
        fires.append(fire)
    assert fires[0]
    assert fires.count(True) == 1
    assert state.alerts == 1
    assert state.score >= DEFAULT.alert_at


def test_reaching_the_threshold_exactly_fires_and_sitting_on_the_rearm_level_does_not_rearm() -> None:
    cancel_only = risk(signals(churn.CANCEL_INTENT))
    competitor_only = risk(signals(churn.COMPETITOR))
    settings = ChurnSettings(alert_at=cancel_only, rearm_below=competitor_only)
    state, fire = churn.update(signals(churn.CANCEL_INTENT), None, 0, T0, settings)
    assert fire
    at_rearm = ChurnState(signals=signals(churn.COMPETITOR).signals, alerting=True, alerts=1)
    state, fire = churn.update(at_rearm, None, 0, T0, settings)
    assert (fire, state.alerting) == (False, True)
    state, fire = churn.update(signals(churn.CANCEL_INTENT, at=T0 - timedelta(days=1)), None, 0, T0, settings)
    assert not fire  # just under the threshold


def test_update_keeps_the_score_and_reasons_for_the_profile() -> None:
    state, fire = churn.update(signals(churn.CANCEL_INTENT, churn.COMPETITOR), -0.9, 5, T0, DEFAULT)
    assert fire
    assert state.score == risk(signals(churn.CANCEL_INTENT, churn.COMPETITOR), -0.9, 5)
    assert state.score >= DEFAULT.alert_at
    assert state.reasons[0].startswith("cancel threats")
    assert {reason.split(":")[0].split(" -")[0] for reason in state.reasons} == {
        "cancel threats",
        "competitor mentions",
        "sentiment trend",
    }
    assert state.alerting
    assert state.alerts == 1


def test_decay_alone_lowers_the_score_below_the_rearm_level_when_next_assessed() -> None:
    state, fire = churn.update(signals(churn.CANCEL_INTENT, churn.COMPETITOR), -0.9, 5, T0, DEFAULT)
    assert fire
    quiet = T0 + timedelta(days=120)
    state, fire = churn.update(state, None, 5, quiet, DEFAULT)
    assert not fire
    assert not state.alerting
    assert state.score < DEFAULT.rearm_below


def test_settle_rearms_a_standing_alert_only_once_the_risk_has_faded() -> None:
    settings = ChurnSettings(alert_at=0.7, rearm_below=0.5)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    threat = churn.record(churn.record(ChurnState(), churn.CANCEL_INTENT, start), churn.COMPETITOR, start)
    alerted, fired = churn.update(threat, -1.0, 4, start, settings)
    assert fired
    assert alerted.alerting
    a_week_later = churn.settle(alerted, -1.0, 4, start + timedelta(days=7), settings)
    assert a_week_later.alerting  # still high: no new alert yet
    half_a_year_later = churn.settle(alerted, None, 0, start + timedelta(days=180), settings)
    assert not half_a_year_later.alerting
    again, fired_again = churn.update(
        churn.record(half_a_year_later, churn.CANCEL_INTENT, start + timedelta(days=180)),
        -1.0,
        4,
        start + timedelta(days=180),
        settings,
    )
    assert fired_again
    assert again.alerts == 2
    assert churn.settle(threat, None, 0, start + timedelta(days=180), settings) is threat  # nothing standing


def test_a_reason_that_adds_nothing_visible_is_not_shown() -> None:
    """A slightly negative trend over one message weighs under 0.005: "+0.00" would explain nothing."""
    assessment = churn.assess(signals(churn.COMPLAINT), -0.02, 1, T0)
    assert [reason.split(":")[0] for reason in assessment.reasons] == ["complaints"]
    assert assessment.score > risk(signals(churn.COMPLAINT))  # it still counts in the score
