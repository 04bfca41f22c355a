"""Crisis detection: negative volume per bucket against the brand's own last day, one Crisis Alert
per episode, a new episode only once the last one has calmed down."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone

import pytest

from chalicelib.models.customer import RecentInteraction
from chalicelib.models.events import DetailType, DomainEvent
from chalicelib.rules import crisis
from chalicelib.rules.crisis import CrisisState
from chalicelib.rules.routing import CrisisSettings, load_default
from chalicelib.services.crisis import CrisisWatch

SETTINGS = CrisisSettings()  # 15-minute buckets, a day of baseline, z >= 3 with at least 10
BUCKET = timedelta(minutes=SETTINGS.bucket_minutes)
DAY0 = datetime(2026, 11, 21, tzinfo=UTC)
RUN_EVERY = timedelta(minutes=5)  # the watch's schedule
LAST_MOMENT = BUCKET - timedelta(seconds=1)  # a run just before a bucket ends sees all of it


def test_buckets_start_on_multiples_of_their_size_in_utc() -> None:
    assert crisis.bucket_start(datetime(2026, 11, 22, 10, 29, 59, tzinfo=UTC), 15) == datetime(
        2026, 11, 22, 10, 15, tzinfo=UTC
    )
    assert crisis.bucket_start(datetime(2026, 11, 22, 10, 30, tzinfo=UTC), 15) == datetime(
        2026, 11, 22, 10, 30, tzinfo=UTC
    )
    local = datetime(2026, 11, 22, 1, 7, tzinfo=timezone(timedelta(hours=2)))
    assert crisis.bucket_start(local, 60) == datetime(2026, 11, 21, 23, tzinfo=UTC)


def test_a_run_recounts_the_last_two_buckets_or_the_whole_day_for_a_new_brand() -> None:
    now = datetime(2026, 11, 22, 10, 20, tzinfo=UTC)
    assert crisis.recount_since(now, SETTINGS, fresh=False) == datetime(2026, 11, 22, 10, tzinfo=UTC)
    assert crisis.recount_since(now, SETTINGS, fresh=True) == datetime(2026, 11, 21, 10, 15, tzinfo=UTC)


@dataclass
class Watch:
    """A brand's negative interactions over time, and the 5-minute runs that watch them, each
    recounting only the buckets it is meant to (as the crisis watch does)."""

    times: list[datetime] = field(default_factory=list)
    state: CrisisState = field(default_factory=lambda: CrisisState("acme"))
    fresh: bool = True
    started: list[datetime] = field(default_factory=list)
    ended: list[datetime] = field(default_factory=list)
    readings: list[crisis.Reading] = field(default_factory=list)

    def add(self, bucket: datetime, count: int) -> None:
        """`count` negatives spread evenly over the bucket."""
        self.times.extend(bucket + BUCKET * (index + 0.5) / count for index in range(count))

    def run(self, now: datetime) -> crisis.Step:
        since = crisis.recount_since(now, SETTINGS, fresh=self.fresh)
        counted = Counter(
            crisis.bucket_start(moment, SETTINGS.bucket_minutes) for moment in self.times if since <= moment <= now
        )
        result = crisis.step(self.state, counted, since, now, SETTINGS)
        self.state, self.fresh = result.state, False
        self.readings.append(result.reading)
        if result.started:
            self.started.append(result.reading.bucket_start)
        if result.ended:
            self.ended.append(result.reading.bucket_start)
        return result

    def episode(self) -> datetime | None:
        """When the current episode started, if one is under way."""
        return self.state.episode_started_at

    def run_until(self, start: datetime, end: datetime) -> None:
        now = start
        while now < end:
            self.run(now)
            now += RUN_EVERY


def noisy_day(watch: Watch, start: datetime, buckets: int, seed: int, low: int = 0, high: int = 8) -> None:
    rng = random.Random(seed)
    for index in range(buckets):
        watch.add(start + BUCKET * index, rng.randint(low, high))


def test_a_steady_baseline_with_noise_never_fires() -> None:
    watch = Watch()
    noisy_day(watch, DAY0, 96 * 3, seed=7)
    watch.run_until(DAY0 + timedelta(days=1), DAY0 + timedelta(days=3))
    assert watch.started == []
    assert watch.episode() is None
    assert max(watch.state.counts.values()) >= 7  # the noise did reach its highs
    assert max(reading.z for reading in watch.readings) < SETTINGS.z_threshold


def test_a_spike_is_one_episode_and_a_later_spike_another() -> None:
    watch = Watch()
    noisy_day(watch, DAY0, 96 * 2, seed=11, low=1, high=6)
    first = DAY0 + timedelta(days=1, hours=6)
    second = first + timedelta(hours=6)
    for index in range(4):  # an hour of trouble
        watch.add(first + BUCKET * index, 45)
    for index in range(2):
        watch.add(second + BUCKET * index, 50)
    watch.run_until(DAY0 + timedelta(days=1), first)
    assert watch.started == []

    watch.run_until(first, first + timedelta(hours=1))
    assert watch.started == [first]  # once, however many runs and buckets the spike lasts
    assert watch.episode() == first
    assert watch.state.episodes == 1
    assert watch.ended == []

    watch.run_until(first + timedelta(hours=1), second)
    assert watch.started == [first]
    assert len(watch.ended) == 1
    assert first + timedelta(hours=1) < watch.ended[0] <= first + timedelta(hours=1, minutes=30)
    assert watch.episode() is None

    watch.run_until(second, second + timedelta(hours=2))
    assert watch.started == [first, second]
    assert watch.state.episodes == 2
    assert len(watch.ended) == 2


def test_the_episode_lasts_while_the_last_whole_bucket_is_still_high() -> None:
    """The first run of a new bucket sees it almost empty: that alone does not end the episode."""
    watch = Watch()
    noisy_day(watch, DAY0, 96, seed=3, low=1, high=5)
    spike = DAY0 + timedelta(days=1)
    watch.add(spike, 40)
    watch.add(spike + BUCKET, 40)
    watch.run(DAY0 + timedelta(days=1) - timedelta(minutes=1))
    watch.run(spike + timedelta(minutes=14))
    assert watch.started == [spike]
    after = watch.run(spike + BUCKET + timedelta(minutes=1))  # 2 of the next bucket's 40 so far
    assert after.reading.bucket_start == spike  # the reading is the alarming bucket: the one before
    assert not after.ended
    assert not after.started
    calm = watch.run(spike + 2 * BUCKET + timedelta(minutes=1))
    assert not calm.ended  # the bucket before was the second spike bucket
    assert watch.run(spike + 3 * BUCKET + timedelta(minutes=1)).ended


def test_a_burst_late_in_a_bucket_is_caught_by_the_next_run_after_the_bucket_ended() -> None:
    """Runs every 5 minutes, 15-minute buckets: a burst in a bucket's last minutes is first seen
    when that bucket is already the one before."""
    watch = Watch()
    noisy_day(watch, DAY0, 96, seed=7, low=1, high=4)
    bucket = DAY0 + timedelta(days=1)
    quiet = watch.run(bucket + timedelta(minutes=10))
    assert not quiet.started
    watch.times.extend(bucket + timedelta(minutes=13, seconds=3 * i) for i in range(30))  # 13:00-14:27
    late = watch.run(bucket + BUCKET + timedelta(minutes=1))
    assert late.started
    assert late.reading.bucket_start == bucket
    assert late.reading.count == 30
    assert not watch.run(bucket + BUCKET + timedelta(minutes=6)).started  # the same episode


def test_a_quiet_brand_needs_the_minimum_count_not_just_a_high_z() -> None:
    watch = Watch()
    watch.add(DAY0 + timedelta(hours=3), 1)
    now = DAY0 + timedelta(days=1)
    watch.add(now, SETTINGS.min_count - 1)
    quiet = watch.run(now + LAST_MOMENT)
    assert quiet.reading.z >= SETTINGS.z_threshold
    assert not quiet.started
    watch.add(now + BUCKET, SETTINGS.min_count)
    loud = watch.run(now + BUCKET + LAST_MOMENT)
    assert loud.reading.count == SETTINGS.min_count
    assert loud.started


def test_a_usually_noisy_brand_is_judged_against_its_own_normal() -> None:
    busy = Watch()
    noisy_day(busy, DAY0, 96, seed=5, low=20, high=40)
    now = DAY0 + timedelta(days=1)
    busy.add(now, 42)
    result = busy.run(now + LAST_MOMENT)
    assert result.reading.count == 42
    assert not result.started
    assert 25 < result.reading.mean < 35


def test_the_reading_measures_the_current_bucket_against_the_day_before_it() -> None:
    state = CrisisState("acme", counts={DAY0 + BUCKET * i: 4 for i in range(-2, 96)} | {DAY0 - BUCKET: 500})
    now = DAY0 + timedelta(days=1, minutes=10)
    current = DAY0 + timedelta(days=1)
    result = crisis.step(state, {current: 30}, current - BUCKET, now, SETTINGS)
    reading = result.reading
    assert (reading.bucket_start, reading.bucket_end, reading.count) == (current, current + BUCKET, 30)
    assert reading.mean == pytest.approx(4.0)  # the two judged buckets are not their own baseline
    assert reading.z == pytest.approx((30 - reading.mean) / max(reading.stdev, reading.mean**0.5, 1.0))
    assert result.started
    assert result.state.episode_started_at == current
    assert DAY0 in result.state.counts
    assert DAY0 - BUCKET not in result.state.counts  # older than a day: forgotten
    assert 0 not in result.state.counts.values()  # zeros are not kept


# The watch: the alert it raises -------------------------------------------------------------------


@dataclass
class Repository:
    found: list[RecentInteraction]
    saved: dict[str, CrisisState] = field(default_factory=dict)

    def states(self) -> dict[str, CrisisState]:
        return dict(self.saved)

    def negatives(self, since: datetime, until: datetime) -> list[RecentInteraction]:
        return [item for item in self.found if since <= item.occurred_at <= until]

    def save(self, state: CrisisState) -> bool:
        self.saved[state.brand] = state
        return True


@dataclass
class Bus:
    events: list[DomainEvent] = field(default_factory=list)

    def publish(self, events: Sequence[DomainEvent]) -> list[bool]:
        self.events.extend(events)
        return [True] * len(events)


def negative(index: int, at: datetime, brand: str = "page-1") -> RecentInteraction:
    return RecentInteraction(
        customer_id=f"cust-{index}",
        platform="instagram",
        kind="comment",
        external_id=f"ig-{index}",
        occurred_at=at,
        account_id=brand,
        language="en",
        sentiment_label="NEGATIVE",
        polarity=-0.9,
    )


def test_the_crisis_alert_carries_the_counts_and_sample_interactions() -> None:
    rng = random.Random(1)
    found = [
        negative(index, DAY0 + timedelta(minutes=rng.randrange(24 * 60))) for index in range(200)
    ]  # about two an hour
    spike = DAY0 + timedelta(days=1)
    found += [negative(1000 + index, spike + timedelta(seconds=20 * index)) for index in range(30)]
    found += [negative(2000 + index, spike + timedelta(minutes=2), brand="page-2") for index in range(2)]
    repository, bus = Repository(found), Bus()
    watch = CrisisWatch(repository, bus, load_default())

    report = watch.run(spike + timedelta(minutes=12))
    assert report.started == ["page-1"]
    assert [event.detail_type for event in bus.events] == [DetailType.CRISIS_ALERT]
    detail = bus.events[0].detail
    assert detail["brand"] == "page-1"
    assert detail["negative_count"] == 30
    assert detail["bucket"] == {"start": "2026-11-22T00:00:00.000Z", "end": "2026-11-22T00:15:00.000Z"}
    assert 0 < detail["baseline"]["mean"] < 5
    assert detail["z_score"] >= SETTINGS.z_threshold
    samples = detail["sample_interactions"]
    assert 0 < len(samples) <= 5
    assert {sample["external_id"] for sample in samples} <= {f"ig-{1000 + index}" for index in range(30)}
    assert all(sample["platform"] == "instagram" and sample["customer_id"] for sample in samples)
    assert detail["severity"] == "critical"
    assert detail["dedupe_key"] == "crisis:page-1:1"  # the brand's first episode
    assert detail["schema_version"] == 1
    assert any("30 negative interactions" in reason for reason in detail["reasons"])

    found += [negative(3000 + index, spike + timedelta(minutes=13)) for index in range(30)]
    again = watch.run(spike + timedelta(minutes=14))
    assert again.started == []
    assert len(bus.events) == 1
    assert repository.saved["page-1"].episodes == 1
